-- The outbox: messages to subscribers written in the same transaction as the business event that
-- causes them (a transfer's receipts are inserted by the ledger's batch only for transfers it
-- accepts), so a committed event can never lose its message. The SMS channel moves rows on to
-- its per-link queues and records their delivery state; later migrations of the SMS channel add
-- the columns it needs for that.
CREATE TABLE "outbox_messages" (
    "id" UUID NOT NULL,
    -- Ordered by insertion for the relay's cursor.
    "seq" BIGSERIAL NOT NULL,
    -- The transfer whose acceptance wrote this row; null for events outside the ledger.
    "transfer_id" UUID,
    "msisdn" TEXT NOT NULL,
    "template" TEXT NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "language" TEXT,
    "kind" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "outbox_messages_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "outbox_messages_seq_key" UNIQUE ("seq"),
    CONSTRAINT "outbox_messages_kind_known" CHECK ("kind" IN ('receipt', 'notice', 'prompt')),
    CONSTRAINT "outbox_messages_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$')
);

CREATE INDEX "outbox_messages_state_seq_idx" ON "outbox_messages" ("state", "seq");
