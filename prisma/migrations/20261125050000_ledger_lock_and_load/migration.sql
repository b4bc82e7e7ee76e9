-- Every batch rewrites the balances of the accounts it touches. With half of each page left free,
-- those updates stay HOT (the new version goes in the same page, no index entries), instead of
-- adding an entry to each of the table's three indexes whenever a page is full.
ALTER TABLE "accounts" SET (fillfactor = 50);

-- The first step of a ledger batch on PostgreSQL: lock the accounts in id order, then, in a
-- second statement and so a second snapshot taken after the locks are granted, read which of the
-- batch's ids already exist (transfers, recorded failures) and how the named pendings were
-- settled. A function so that both statements run on plans cached per connection (the ids were
-- inlined literals before, planned afresh for every batch) while the call still travels in one
-- message with BEGIN. VOLATILE: each statement in it takes its own snapshot.
CREATE FUNCTION "ledger_lock_and_load"(account_ids UUID[], transfer_ids UUID[], pending_ids UUID[])
RETURNS TABLE (
    src TEXT, id UUID, institution_id UUID, currency TEXT, kind TEXT, owner_ref TEXT, status TEXT,
    flags INTEGER, dp TEXT, dpo TEXT, cp TEXT, cpo TEXT, seq TEXT, debit_account_id UUID,
    credit_account_id UUID, amount TEXT, pending_id UUID, timeout_sec INTEGER, expires_at TIMESTAMPTZ,
    code TEXT, reference TEXT, created_at TIMESTAMPTZ, result TEXT
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'a'::TEXT, a.id, a.institution_id, a.currency::TEXT, a.kind, a.owner_ref, a.status, a.flags,
        a.debits_pending::TEXT, a.debits_posted::TEXT, a.credits_pending::TEXT, a.credits_posted::TEXT,
        NULL::TEXT, NULL::UUID, NULL::UUID, NULL::TEXT, NULL::UUID, NULL::INTEGER, NULL::TIMESTAMPTZ,
        NULL::TEXT, NULL::TEXT, NULL::TIMESTAMPTZ, NULL::TEXT
    FROM "accounts" a WHERE a.id = ANY(account_ids) ORDER BY a.id FOR UPDATE;

    RETURN QUERY
    SELECT 't'::TEXT, t.id, NULL::UUID, t.currency::TEXT, t.kind, NULL::TEXT, NULL::TEXT, NULL::INTEGER,
        NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, t.seq::TEXT, t.debit_account_id, t.credit_account_id,
        t.amount::TEXT, t.pending_id, t.timeout_sec, t.expires_at, t.code, t.reference, t.created_at, NULL::TEXT
    FROM "transfers" t WHERE t.id = ANY(transfer_ids)
    UNION ALL
    SELECT 'f', f.id, NULL, NULL, f.kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, f.debit_account_id,
        f.credit_account_id, f.amount::TEXT, f.pending_id, NULL, NULL, NULL, NULL, f.created_at, f.result
    FROM "transfer_failures" f WHERE f.id = ANY(transfer_ids)
    UNION ALL
    SELECT 'r', r.pending_id, NULL, NULL, r.kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.created_at, NULL
    FROM "transfers" r WHERE r.pending_id = ANY(pending_ids);
END
$$;
