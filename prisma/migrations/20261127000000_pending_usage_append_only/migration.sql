-- pending_usage rows are as immutable as the pending transfer they belong to: the void, expiry or
-- partial post that gives usage back reads them, so changing or removing one would let usage be
-- given back to the wrong day or not at all. The database refuses it, as for transfers.
CREATE TRIGGER "pending_usage_append_only" BEFORE UPDATE OR DELETE ON "pending_usage"
    FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "pending_usage_no_truncate" BEFORE TRUNCATE ON "pending_usage"
    FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
