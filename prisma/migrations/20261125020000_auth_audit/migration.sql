-- PIN credentials, SIM-swap reports and the hash-chained audit log (ITU-T Y.2740).
-- Names are unqualified so the same file migrates any schema.

-- One PIN per subject: a customer or an agent, hence no foreign key. Only the Argon2id hash is
-- stored; the CHECK makes a clear PIN unstorable even by a buggy caller.
CREATE TABLE "pin_credentials" (
    "subject_id" UUID NOT NULL,
    "msisdn" TEXT NOT NULL,
    "pin_hash" TEXT NOT NULL,
    "failed_attempts" INTEGER NOT NULL DEFAULT 0,
    "locked_at" TIMESTAMPTZ(6),
    "locked_until" TIMESTAMPTZ(6),
    "pin_set_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "pin_credentials_pkey" PRIMARY KEY ("subject_id"),
    CONSTRAINT "pin_credentials_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT "pin_credentials_hash_argon2id" CHECK ("pin_hash" LIKE '$argon2id$%' AND length("pin_hash") <= 512),
    CONSTRAINT "pin_credentials_attempts_range" CHECK ("failed_attempts" BETWEEN 0 AND 10),
    -- A lock has a start; a lock end without a start is meaningless.
    CONSTRAINT "pin_credentials_lock_shape" CHECK ("locked_until" IS NULL OR "locked_at" IS NOT NULL)
);
CREATE INDEX "pin_credentials_msisdn_idx" ON "pin_credentials"("msisdn");

-- SIM swaps and recycled numbers reported by a telco or the bank. Evidence: append-only.
CREATE TABLE "sim_swap_events" (
    "id" UUID NOT NULL,
    "msisdn" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "reported_at" TIMESTAMPTZ(6) NOT NULL,
    "reporter_type" TEXT NOT NULL,
    "reporter_id" TEXT NOT NULL,
    CONSTRAINT "sim_swap_events_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sim_swap_events_msisdn_e164" CHECK ("msisdn" ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT "sim_swap_events_kind_known" CHECK ("kind" IN ('sim_swap', 'number_recycled')),
    CONSTRAINT "sim_swap_events_reporter_id_length" CHECK (length("reporter_id") BETWEEN 1 AND 128)
);
CREATE INDEX "sim_swap_events_msisdn_occurred_at_idx" ON "sim_swap_events"("msisdn", "occurred_at");

-- The audit chain. seq is assigned by the appender under the audit_head lock, 1, 2, 3 … without
-- gaps (a sequence could leave gaps on rollback), so a missing number means a deleted row.
-- hash = SHA-256(prev_hash || canonical JSON of the other columns); see src/core/audit/chain.ts.
CREATE TABLE "audit_log" (
    "seq" BIGINT NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "subject" TEXT,
    "payload" JSONB NOT NULL,
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,
    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("seq"),
    CONSTRAINT "audit_log_seq_positive" CHECK ("seq" > 0),
    CONSTRAINT "audit_log_outcome_known" CHECK ("outcome" IN ('ok', 'refused', 'error'))
    -- No CHECK on the hashes' format: a regex per row cost a fifth of the append time, and
    -- verification rejects any hash that is not the right one anyway.
);
-- "Everything that happened to this customer" and "everything this bank user did".
CREATE INDEX "audit_log_subject_seq_idx" ON "audit_log"("subject", "seq");
CREATE INDEX "audit_log_actor_id_seq_idx" ON "audit_log"("actor_id", "seq");

-- The chain's head: exactly one row, locked FOR UPDATE by every append so that concurrent
-- appenders form one line, and updated in the same transaction as the rows it points at.
CREATE TABLE "audit_head" (
    "id" SMALLINT NOT NULL,
    "last_seq" BIGINT NOT NULL,
    "last_hash" CHAR(64) NOT NULL,
    CONSTRAINT "audit_head_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_head_single_row" CHECK ("id" = 1),
    CONSTRAINT "audit_head_seq_not_negative" CHECK ("last_seq" >= 0),
    CONSTRAINT "audit_head_hash_hex" CHECK ("last_hash" ~ '^[0-9a-f]{64}$')
);
INSERT INTO "audit_head" ("id", "last_seq", "last_hash") VALUES (1, 0, repeat('0', 64));

-- The database refuses to change or remove evidence. A superuser can still get past a trigger;
-- that is what `fingate audit verify` is for.
CREATE FUNCTION "audit_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit evidence is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "audit_log"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();
-- The head moves forward only; deleting it would orphan the chain.
CREATE TRIGGER "audit_head_no_delete" BEFORE DELETE ON "audit_head"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "audit_head_no_truncate" BEFORE TRUNCATE ON "audit_head"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();
CREATE FUNCTION "audit_head_forward_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."last_seq" < OLD."last_seq" THEN
        RAISE EXCEPTION 'audit head may only move forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER "audit_head_forward" BEFORE UPDATE ON "audit_head"
    FOR EACH ROW EXECUTE FUNCTION "audit_head_forward_only"();
CREATE TRIGGER "sim_swap_events_append_only" BEFORE UPDATE OR DELETE ON "sim_swap_events"
    FOR EACH ROW EXECUTE FUNCTION "audit_refuse_change"();
CREATE TRIGGER "sim_swap_events_no_truncate" BEFORE TRUNCATE ON "sim_swap_events"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_refuse_change"();
