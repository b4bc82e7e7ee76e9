-- Policy: limits per channel and KYC tier with their usage counters, fee schedules, telcos and
-- their USSD tariff plans, metered USSD sessions, and the admin API's keys.
-- Names are unqualified so the same file migrates any schema. Amounts are BIGINT minor units.
--
-- These tables refer to institutions and accounts by id without foreign keys: a Prisma relation
-- would need a back-relation field on the ledger's Institution and Account models, which this
-- migration does not own (see the directory migration for the same choice). The admin API checks
-- that an institution exists before it writes any of its rows, and nothing here is ever deleted
-- with its institution, which is never deleted either.

-- A bank's own limits for one channel and KYC tier. No row: the channel's security-level default
-- applies (src/core/limits/security-levels.ts), which is also the most a bank may set.
CREATE TABLE "limit_policies" (
    "institution_id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "kyc_tier" INTEGER NOT NULL,
    "max_per_transaction_minor" BIGINT NOT NULL,
    "max_daily_amount_minor" BIGINT NOT NULL,
    "max_daily_count" INTEGER NOT NULL,
    "max_monthly_amount_minor" BIGINT NOT NULL,
    "max_balance_minor" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "limit_policies_pkey" PRIMARY KEY ("institution_id", "channel", "kyc_tier"),
    CONSTRAINT "limit_policies_channel_known" CHECK ("channel" IN ('ussd', 'sms', 'ivr', 'agent', 'api')),
    CONSTRAINT "limit_policies_kyc_tier_range" CHECK ("kyc_tier" BETWEEN 0 AND 3),
    CONSTRAINT "limit_policies_not_negative" CHECK ("max_per_transaction_minor" >= 0 AND "max_daily_amount_minor" >= 0
        AND "max_daily_count" >= 0 AND "max_monthly_amount_minor" >= 0 AND "max_balance_minor" >= 0),
    CONSTRAINT "limit_policies_nested" CHECK ("max_per_transaction_minor" <= "max_daily_amount_minor"
        AND "max_daily_amount_minor" <= "max_monthly_amount_minor")
);

-- What a payer's account has sent per local day ("2026-11-25") and month ("2026-11") of its
-- institution's time zone. Written by the ledger's batch, inside the transaction that locks the
-- account, so two concurrent transfers cannot both slip under a daily limit. Old periods can be
-- pruned at will: only the current day and month are ever read.
CREATE TABLE "limit_usage" (
    "account_id" UUID NOT NULL,
    "period_key" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL DEFAULT 0,
    "count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "limit_usage_pkey" PRIMARY KEY ("account_id", "period_key"),
    CONSTRAINT "limit_usage_period_key_format" CHECK ("period_key" ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$'),
    CONSTRAINT "limit_usage_not_negative" CHECK ("amount_minor" >= 0 AND "count" >= 0)
);

-- Fee schedules per institution and payment type, and their bands. No schedule: no fee.
CREATE TABLE "fee_schedules" (
    "institution_id" UUID NOT NULL,
    "tx_type" TEXT NOT NULL,
    "agent_share_bps" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "fee_schedules_pkey" PRIMARY KEY ("institution_id", "tx_type"),
    CONSTRAINT "fee_schedules_tx_type_known" CHECK ("tx_type" IN ('p2p', 'cash_in', 'cash_out', 'bill', 'merchant')),
    CONSTRAINT "fee_schedules_share_range" CHECK ("agent_share_bps" BETWEEN 0 AND 10000)
);

-- Contiguity of the bands is checked by src/core/fees/bands.ts before a schedule is replaced as a
-- whole; a constraint across rows would need a trigger for little gain.
CREATE TABLE "fee_bands" (
    "institution_id" UUID NOT NULL,
    "tx_type" TEXT NOT NULL,
    "min_minor" BIGINT NOT NULL,
    "max_minor" BIGINT NOT NULL,
    "fee_minor" BIGINT NOT NULL,
    CONSTRAINT "fee_bands_pkey" PRIMARY KEY ("institution_id", "tx_type", "min_minor"),
    CONSTRAINT "fee_bands_range" CHECK ("min_minor" >= 1 AND "max_minor" >= "min_minor"),
    CONSTRAINT "fee_bands_fee_not_negative" CHECK ("fee_minor" >= 0)
);
ALTER TABLE "fee_bands" ADD CONSTRAINT "fee_bands_institution_id_tx_type_fkey" FOREIGN KEY ("institution_id", "tx_type")
    REFERENCES "fee_schedules"("institution_id", "tx_type") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "telcos" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "telcos_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "telcos_code_format" CHECK ("code" ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    CONSTRAINT "telcos_name_length" CHECK (char_length("name") BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX "telcos_code_key" ON "telcos"("code");

-- How a request names its telco: an aggregator's network code or an SMPP link id. The primary key
-- makes each name point at one telco only.
CREATE TABLE "telco_identifiers" (
    "kind" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "telco_id" UUID NOT NULL,
    CONSTRAINT "telco_identifiers_pkey" PRIMARY KEY ("kind", "value"),
    CONSTRAINT "telco_identifiers_kind_known" CHECK ("kind" IN ('network_code', 'smpp_link')),
    CONSTRAINT "telco_identifiers_value_length" CHECK (char_length("value") BETWEEN 1 AND 64)
);
CREATE INDEX "telco_identifiers_telco_id_idx" ON "telco_identifiers"("telco_id");
ALTER TABLE "telco_identifiers" ADD CONSTRAINT "telco_identifiers_telco_id_fkey" FOREIGN KEY ("telco_id")
    REFERENCES "telcos"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A plan governs sessions that start from effective_from until the telco's next plan.
CREATE TABLE "tariff_plans" (
    "id" UUID NOT NULL,
    "telco_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "per_session_minor" BIGINT NOT NULL,
    "per_stage_minor" BIGINT NOT NULL,
    "ceiling_minor" BIGINT NOT NULL,
    "max_stages" INTEGER NOT NULL,
    "payer" TEXT NOT NULL,
    "effective_from" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tariff_plans_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "tariff_plans_currency_iso" CHECK ("currency" ~ '^[A-Z]{3}$'),
    CONSTRAINT "tariff_plans_not_negative" CHECK ("per_session_minor" >= 0 AND "per_stage_minor" >= 0 AND "ceiling_minor" >= 0),
    CONSTRAINT "tariff_plans_max_stages_range" CHECK ("max_stages" BETWEEN 1 AND 100),
    CONSTRAINT "tariff_plans_payer_known" CHECK ("payer" IN ('customer', 'bank'))
);
CREATE UNIQUE INDEX "tariff_plans_telco_id_effective_from_key" ON "tariff_plans"("telco_id", "effective_from");
ALTER TABLE "tariff_plans" ADD CONSTRAINT "tariff_plans_telco_id_fkey" FOREIGN KEY ("telco_id")
    REFERENCES "telcos"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Finished USSD sessions, one row per session id, for billing reconciliation with the telcos.
-- transfer_id is derived from session_id; charge_result is set once the ledger answered.
CREATE TABLE "metered_sessions" (
    "session_id" TEXT NOT NULL,
    "institution_id" UUID NOT NULL,
    "telco_id" UUID NOT NULL,
    "tariff_plan_id" UUID,
    "msisdn" TEXT NOT NULL,
    "stages" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "ended_at" TIMESTAMPTZ(6) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "end_reason" TEXT NOT NULL,
    "payer" TEXT,
    "currency" CHAR(3),
    "charge_minor" BIGINT NOT NULL,
    "debit_account_id" UUID,
    "credit_account_id" UUID,
    "transfer_id" UUID,
    "charge_result" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "metered_sessions_pkey" PRIMARY KEY ("session_id"),
    CONSTRAINT "metered_sessions_session_id_length" CHECK (char_length("session_id") BETWEEN 1 AND 128),
    CONSTRAINT "metered_sessions_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT "metered_sessions_stages_range" CHECK ("stages" >= 0),
    CONSTRAINT "metered_sessions_times" CHECK ("ended_at" >= "started_at" AND "duration_ms" >= 0),
    CONSTRAINT "metered_sessions_end_reason_known" CHECK ("end_reason" IN ('end', 'abort', 'timeout')),
    CONSTRAINT "metered_sessions_charge_not_negative" CHECK ("charge_minor" >= 0),
    CONSTRAINT "metered_sessions_posting_shape" CHECK (("transfer_id" IS NULL) = ("debit_account_id" IS NULL)
        AND ("transfer_id" IS NULL) = ("credit_account_id" IS NULL))
);
CREATE INDEX "metered_sessions_institution_id_ended_at_idx" ON "metered_sessions"("institution_id", "ended_at");
CREATE INDEX "metered_sessions_telco_id_ended_at_idx" ON "metered_sessions"("telco_id", "ended_at");
CREATE INDEX "metered_sessions_tariff_plan_id_idx" ON "metered_sessions"("tariff_plan_id");
ALTER TABLE "metered_sessions" ADD CONSTRAINT "metered_sessions_telco_id_fkey" FOREIGN KEY ("telco_id")
    REFERENCES "telcos"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "metered_sessions" ADD CONSTRAINT "metered_sessions_tariff_plan_id_fkey" FOREIGN KEY ("tariff_plan_id")
    REFERENCES "tariff_plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Admin API keys: only the SHA-256 of the secret is kept (the secret has 256 random bits, so no
-- salt or slow hash is needed). institution_id is NULL exactly for platform operator keys.
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "institution_id" UUID,
    "role" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "key_prefix" TEXT NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "api_keys_role_known" CHECK ("role" IN ('admin', 'operator', 'auditor', 'platform')),
    CONSTRAINT "api_keys_platform_has_no_institution" CHECK (("role" = 'platform') = ("institution_id" IS NULL)),
    CONSTRAINT "api_keys_hash_hex" CHECK ("key_hash" ~ '^[0-9a-f]{64}$'),
    CONSTRAINT "api_keys_name_length" CHECK (char_length("name") BETWEEN 1 AND 64)
);
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");
CREATE INDEX "api_keys_institution_id_idx" ON "api_keys"("institution_id");
