-- Ledger: institutions, accounts, append-only transfers and recorded failures.
-- Amounts are BIGINT minor units. Names are unqualified so the same file migrates any schema.

CREATE TABLE "institutions" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "institutions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "institutions_currency_iso" CHECK ("currency" ~ '^[A-Z]{3}$'),
    CONSTRAINT "institutions_code_format" CHECK ("code" ~ '^[a-z0-9][a-z0-9-]{1,39}$')
);
CREATE UNIQUE INDEX "institutions_code_key" ON "institutions"("code");

CREATE TABLE "accounts" (
    "id" UUID NOT NULL,
    "institution_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "owner_ref" TEXT,
    "status" TEXT NOT NULL DEFAULT 'active',
    "flags" INTEGER NOT NULL DEFAULT 0,
    "debits_pending" BIGINT NOT NULL DEFAULT 0,
    "debits_posted" BIGINT NOT NULL DEFAULT 0,
    "credits_pending" BIGINT NOT NULL DEFAULT 0,
    "credits_posted" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "accounts_currency_iso" CHECK ("currency" ~ '^[A-Z]{3}$'),
    CONSTRAINT "accounts_kind_known" CHECK ("kind" IN ('customer_wallet', 'bank', 'agent_float',
        'commission', 'fee_income', 'settlement', 'suspense', 'telco_payable', 'merchant', 'instrument')),
    CONSTRAINT "accounts_status_known" CHECK ("status" IN ('active', 'frozen', 'closed')),
    CONSTRAINT "accounts_flags_known" CHECK ("flags" >= 0 AND "flags" < 4),
    CONSTRAINT "accounts_balances_not_negative" CHECK ("debits_pending" >= 0 AND "debits_posted" >= 0
        AND "credits_pending" >= 0 AND "credits_posted" >= 0),
    -- Flag 1: debits must not exceed credits (a wallet cannot go negative).
    CONSTRAINT "accounts_debits_within_credits" CHECK (("flags" & 1) = 0
        OR "debits_pending" + "debits_posted" <= "credits_posted"),
    -- Flag 2: credits must not exceed debits (a liability the bank funds, e.g. settlement).
    CONSTRAINT "accounts_credits_within_debits" CHECK (("flags" & 2) = 0
        OR "credits_pending" + "credits_posted" <= "debits_posted")
);
CREATE INDEX "accounts_institution_id_kind_idx" ON "accounts"("institution_id", "kind");
CREATE INDEX "accounts_owner_ref_idx" ON "accounts"("owner_ref");
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_institution_id_fkey" FOREIGN KEY ("institution_id")
    REFERENCES "institutions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "transfers" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "debit_account_id" UUID NOT NULL,
    "credit_account_id" UUID NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "pending_id" UUID,
    "timeout_sec" INTEGER,
    "expires_at" TIMESTAMPTZ(6),
    "code" TEXT NOT NULL,
    "reference" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "transfers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "transfers_amount_positive" CHECK ("amount" > 0),
    CONSTRAINT "transfers_accounts_differ" CHECK ("debit_account_id" <> "credit_account_id"),
    CONSTRAINT "transfers_kind_known" CHECK ("kind" IN ('single', 'pending', 'post', 'void')),
    CONSTRAINT "transfers_pending_ref" CHECK (("kind" IN ('post', 'void')) = ("pending_id" IS NOT NULL)),
    CONSTRAINT "transfers_timeout" CHECK (("kind" = 'pending' OR "timeout_sec" IS NULL)
        AND ("timeout_sec" IS NULL OR "timeout_sec" > 0)
        AND (("timeout_sec" IS NULL) = ("expires_at" IS NULL))),
    CONSTRAINT "transfers_code_length" CHECK (length("code") BETWEEN 1 AND 32),
    CONSTRAINT "transfers_reference_length" CHECK (length("reference") <= 128)
);
-- At most one post or void per pending transfer, enforced by the database itself. Partial, so the
-- single-phase transfers (nearly all of them) add no NULL entry to it.
CREATE UNIQUE INDEX "transfers_pending_id_key" ON "transfers"("pending_id") WHERE "pending_id" IS NOT NULL;
CREATE INDEX "transfers_debit_account_id_seq_idx" ON "transfers"("debit_account_id", "seq");
CREATE INDEX "transfers_credit_account_id_seq_idx" ON "transfers"("credit_account_id", "seq");
-- No foreign keys from transfers to accounts: the ledger writer only writes a transfer after
-- locking both accounts in the same transaction, accounts can never be deleted (trigger below) and
-- their ids never change, so the per-row RI triggers (~15% of the insert cost) would check nothing
-- new. `fingate ledger verify` still reports any transfer whose account is missing.

-- Failed transfers are remembered by id so that a retry returns the first outcome instead of
-- succeeding later by surprise (a USSD retry must not move money the user was told did not move).
CREATE TABLE "transfer_failures" (
    "id" UUID NOT NULL,
    "result" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "debit_account_id" UUID,
    "credit_account_id" UUID,
    "amount" BIGINT,
    "pending_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "transfer_failures_pkey" PRIMARY KEY ("id")
);

-- Pending transfers with a timeout that nobody has posted or voided yet: the expiry sweep's work
-- list. Unlike the ledger tables this one is mutable; a resolution deletes its row.
CREATE TABLE "pending_timeouts" (
    "transfer_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "pending_timeouts_pkey" PRIMARY KEY ("transfer_id")
);
CREATE INDEX "pending_timeouts_expires_at_idx" ON "pending_timeouts"("expires_at");

-- Append-only: the database refuses to change or remove a recorded transfer or failure.
CREATE FUNCTION "ledger_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER "transfers_append_only" BEFORE UPDATE OR DELETE ON "transfers"
    FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "transfers_no_truncate" BEFORE TRUNCATE ON "transfers"
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "transfer_failures_append_only" BEFORE UPDATE OR DELETE ON "transfer_failures"
    FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "transfer_failures_no_truncate" BEFORE TRUNCATE ON "transfer_failures"
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();

-- Accounts are closed (status), never deleted, and keep their id: transfers refer to them forever.
CREATE FUNCTION "accounts_refuse_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW."id" = OLD."id" AND NEW."currency" = OLD."currency"
        AND NEW."institution_id" = OLD."institution_id" THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'accounts keep their id, currency and institution and are never deleted: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER "accounts_no_delete" BEFORE DELETE ON "accounts"
    FOR EACH ROW EXECUTE FUNCTION "accounts_refuse_delete"();
CREATE TRIGGER "accounts_identity_fixed" BEFORE UPDATE OF "id", "currency", "institution_id" ON "accounts"
    FOR EACH ROW EXECUTE FUNCTION "accounts_refuse_delete"();
CREATE TRIGGER "accounts_no_truncate" BEFORE TRUNCATE ON "accounts"
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
