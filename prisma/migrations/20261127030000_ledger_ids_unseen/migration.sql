-- Whether none of a batch's new transfer ids is a recorded failure and none of its new failure ids
-- a transfer (each table's own key catches a repeat within it; nothing spans the two). Called by
-- the ledger's write statement after its audit CTE has locked the audit head, which every audited
-- batch holds until its COMMIT. VOLATILE and in plpgsql (never inlined), so that in READ COMMITTED
-- its query takes a snapshot of its own at that moment, which sees every batch that wrote before,
-- rather than the calling statement's snapshot, taken before it waited for the head.
CREATE FUNCTION "ledger_ids_unseen"(transfer_ids UUID[], failure_ids UUID[])
RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN NOT EXISTS (SELECT 1 FROM "transfer_failures" WHERE id = ANY(transfer_ids))
       AND NOT EXISTS (SELECT 1 FROM "transfers" WHERE id = ANY(failure_ids));
END
$$;
