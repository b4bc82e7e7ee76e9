-- Delivery state of outbox messages (src/sms/outbox). A row moves pending → queued (the relay put
-- it on its link's queue) → submitted (the SMSC accepted every part) → delivered | failed |
-- expired (the delivery receipts), or to failed (refused for good, unroutable), dead (retries
-- exhausted) or suppressed (the recipient sent STOP; security notices and prompts are still sent). The columns that fix how the message is sent (link, concatenation reference, part
-- count) are set once, when it is first queued, so that a retry sends the same parts.
ALTER TABLE "outbox_messages"
    ADD COLUMN "link_id" TEXT,
    -- The 8-bit concatenation reference shared by the parts' UDH.
    ADD COLUMN "concat_ref" INTEGER,
    ADD COLUMN "part_count" INTEGER,
    -- The SMSC's message_id per part, in part order; NULL for a part not yet accepted. A retry
    -- sends only the parts whose id is NULL: what the SMSC acknowledged is never sent twice.
    ADD COLUMN "smsc_message_ids" TEXT[] NOT NULL DEFAULT '{}',
    -- The final receipt stat per part (DELIVRD, UNDELIV, EXPIRED …), in part order.
    ADD COLUMN "receipt_stats" TEXT[] NOT NULL DEFAULT '{}',
    -- Sending attempts so far; at the sender's limit the message goes to the dead state.
    ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0,
    -- A sender owns the row until then: no other process sends it meanwhile.
    ADD COLUMN "lease_until" TIMESTAMPTZ(6),
    ADD COLUMN "last_error" TEXT,
    ADD COLUMN "queued_at" TIMESTAMPTZ(6),
    ADD COLUMN "submitted_at" TIMESTAMPTZ(6),
    -- When the final state (delivered, failed, expired, dead) was reached.
    ADD COLUMN "done_at" TIMESTAMPTZ(6),
    ADD CONSTRAINT "outbox_messages_state_known"
        CHECK ("state" IN ('pending', 'queued', 'submitted', 'delivered', 'failed', 'expired', 'dead', 'suppressed')),
    ADD CONSTRAINT "outbox_messages_concat_ref_range" CHECK ("concat_ref" BETWEEN 0 AND 255),
    ADD CONSTRAINT "outbox_messages_part_count_range" CHECK ("part_count" BETWEEN 1 AND 255);

-- Receipts name a message by the SMSC's id of one of its parts.
CREATE INDEX "outbox_messages_smsc_message_ids_idx" ON "outbox_messages" USING GIN ("smsc_message_ids");
CREATE INDEX "outbox_messages_msisdn_seq_idx" ON "outbox_messages" ("msisdn", "seq");
