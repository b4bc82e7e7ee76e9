-- An SMPP message (no id of its own: keyed by a digest of its content) was recognised for 10
-- minutes, a SEND for 48 hours, and every repeat of the same text from the same number inside that
-- time was dropped without a reply: a customer told "Insufficient funds" who topped up and sent the
-- same SEND again heard nothing. A message key may now run again, as a new attempt (its own
-- transfer id and reply id, derived from the message id and `attempt`), once a minute has passed
-- since the last copy that ran (`last_seen_at`); a SEND that moved money (`paid_attempt`,
-- `paid_at`) is answered "already sent" instead, without paying, for the SEND window after it.
ALTER TABLE "sms_mo_messages" ADD COLUMN "attempt" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "sms_mo_messages" ADD COLUMN "last_seen_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE "sms_mo_messages" ADD COLUMN "paid_attempt" INTEGER;
ALTER TABLE "sms_mo_messages" ADD COLUMN "paid_at" TIMESTAMPTZ(6);
UPDATE "sms_mo_messages" SET "last_seen_at" = "received_at";
-- A SEND answered before this is taken as paid (its attempt 0 keeps the payment id it had): a copy
-- of it within the window replays that payment id, which the ledger answers without paying again.
UPDATE "sms_mo_messages" SET "paid_attempt" = 0, "paid_at" = "handled_at" WHERE "command" = 'send' AND "handled_at" IS NOT NULL;
