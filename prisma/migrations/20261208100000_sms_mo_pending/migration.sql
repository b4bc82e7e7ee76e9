-- An MO command is acknowledged to the telco (deliver_sm_resp, or the aggregator's 200) once its
-- record is written, and run after: a process that died in between lost the command, since the
-- telco, answered, never sends it again. The message now waits here, sealed with AES-GCM under a
-- key derived from FINGATE_SMS_SECRET_KEY (its text may hold a PIN), until it is answered; a
-- sweep runs what a dead run left, under the same id (so a payment it made is not made twice),
-- for at most five minutes after it came, and then drops it.
ALTER TABLE "sms_mo_messages" ADD COLUMN "pending_sms" TEXT;
CREATE INDEX "sms_mo_messages_pending_idx" ON "sms_mo_messages" ("received_at") WHERE "pending_sms" IS NOT NULL;
