-- Business correspondents (agents): who they are, their own limits, the ledger accounts that hold
-- their float and commission. Money lives in the ledger only; these rows name and scope it.
CREATE TABLE "agents" (
    "id" UUID NOT NULL,
    "institution_id" UUID NOT NULL,
    "msisdn" TEXT NOT NULL,
    "store_number" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "float_account_id" UUID NOT NULL,
    "commission_account_id" UUID NOT NULL,
    "max_per_transaction_minor" BIGINT NOT NULL,
    "max_daily_float_out_minor" BIGINT NOT NULL,
    "max_daily_count" INTEGER NOT NULL,
    "max_float_balance_minor" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "agents_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "agents_institution_id_fkey" FOREIGN KEY ("institution_id") REFERENCES "institutions"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "agents_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT "agents_store_number_digits" CHECK ("store_number" ~ '^[0-9]{4,12}$'),
    CONSTRAINT "agents_name_length" CHECK (char_length("name") BETWEEN 1 AND 100),
    CONSTRAINT "agents_location_length" CHECK (char_length("location") BETWEEN 1 AND 100),
    CONSTRAINT "agents_status_known" CHECK ("status" IN ('active', 'suspended', 'closed')),
    CONSTRAINT "agents_limits_positive" CHECK (
        "max_per_transaction_minor" > 0 AND "max_daily_float_out_minor" > 0 AND
        "max_daily_count" > 0 AND "max_float_balance_minor" > 0)
);
-- One agent per number and per store number within an institution: the customer's withdrawal
-- names the agent by both, and the USSD channel recognises an agent by its number.
CREATE UNIQUE INDEX "agents_institution_id_msisdn_key" ON "agents"("institution_id", "msisdn");
CREATE UNIQUE INDEX "agents_institution_id_store_number_key" ON "agents"("institution_id", "store_number");
CREATE UNIQUE INDEX "agents_float_account_id_key" ON "agents"("float_account_id");
CREATE UNIQUE INDEX "agents_commission_account_id_key" ON "agents"("commission_account_id");
CREATE INDEX "agents_msisdn_idx" ON "agents"("msisdn");

-- Agent-initiated cash-outs waiting on the customer's PIN. The ledger's pending transfer (same id)
-- holds the money and is the truth; this row lets the customer find what awaits approval.
CREATE TABLE "agent_cash_outs" (
    "pending_id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "fee_minor" BIGINT NOT NULL,
    "commission_minor" BIGINT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settled_at" TIMESTAMPTZ(6),
    CONSTRAINT "agent_cash_outs_pkey" PRIMARY KEY ("pending_id"),
    CONSTRAINT "agent_cash_outs_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "agent_cash_outs_state_known" CHECK ("state" IN ('pending', 'approved', 'declined', 'expired')),
    CONSTRAINT "agent_cash_outs_amounts" CHECK ("amount_minor" > 0 AND "fee_minor" >= 0 AND "commission_minor" BETWEEN 0 AND "fee_minor")
);
CREATE INDEX "agent_cash_outs_customer_id_state_idx" ON "agent_cash_outs"("customer_id", "state");
CREATE INDEX "agent_cash_outs_agent_id_idx" ON "agent_cash_outs"("agent_id");

-- Device keys of agents' point-of-sale apps: only a SHA-256 of the secret is kept, like api_keys.
CREATE TABLE "agent_device_keys" (
    "id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "key_prefix" TEXT NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),
    CONSTRAINT "agent_device_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "agent_device_keys_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "agent_device_keys_hash_hex" CHECK ("key_hash" ~ '^[0-9a-f]{64}$'),
    CONSTRAINT "agent_device_keys_name_length" CHECK (char_length("name") BETWEEN 1 AND 64)
);
CREATE UNIQUE INDEX "agent_device_keys_key_hash_key" ON "agent_device_keys"("key_hash");
CREATE INDEX "agent_device_keys_agent_id_idx" ON "agent_device_keys"("agent_id");
