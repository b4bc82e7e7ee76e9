-- Every ledger write of an account's row counts one more version. A gateway deciding on its own
-- copy of an account (SqlLedgerStore's cached path) writes only where the version is still the
-- one it copied: balances alone could have come back to the same values (a pending made and
-- another voided) while the account's limit counters moved on, and a batch that only refused
-- (writing the same balances) must still make a concurrent decision on the old version fail.
-- A constant default: no table rewrite.
ALTER TABLE "accounts" ADD COLUMN "version" BIGINT NOT NULL DEFAULT 0;

-- ledger_lock_and_read as before, with the version after the row version (tid):
-- "id,institution,currency,kind,status,flags,dp,dpo,cp,cpo,tid,version,owner".
CREATE OR REPLACE FUNCTION "ledger_lock_and_read"(account_ids UUID[], transfer_ids UUID[], pending_ids UUID[])
RETURNS SETOF TEXT LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY
    SELECT coalesce(string_agg(concat_ws(',', l.id, l.institution_id, l.currency, l.kind, l.status, l.flags,
        l.debits_pending, l.debits_posted, l.credits_pending, l.credits_posted,
        replace(trim(BOTH '()' FROM l.ctid::TEXT), ',', ':'), l.version,
        CASE WHEN l.owner_ref IS NULL THEN '' ELSE 'x' || encode(convert_to(l.owner_ref, 'UTF8'), 'hex') END), ';'), '')
    FROM (SELECT a.ctid, a.id, a.institution_id, a.currency, a.kind, a.status, a.flags, a.debits_pending, a.debits_posted,
            a.credits_pending, a.credits_posted, a.version, a.owner_ref
          FROM "accounts" a WHERE a.id = ANY(account_ids) ORDER BY a.id FOR UPDATE) l;

    RETURN QUERY
    SELECT json_build_object('src', 't', 'seq', t.seq::TEXT, 'id', t.id, 'debit_account_id', t.debit_account_id,
        'credit_account_id', t.credit_account_id, 'amount', t.amount::TEXT, 'currency', t.currency, 'kind', t.kind,
        'pending_id', t.pending_id, 'timeout_sec', t.timeout_sec, 'expires_at', t.expires_at, 'code', t.code,
        'reference', t.reference, 'created_at', t.created_at)::TEXT
    FROM "transfers" t WHERE t.id = ANY(transfer_ids)
    UNION ALL
    SELECT json_build_object('src', 'f', 'id', f.id, 'result', f.result, 'kind', f.kind,
        'debit_account_id', f.debit_account_id, 'credit_account_id', f.credit_account_id, 'amount', f.amount::TEXT,
        'pending_id', f.pending_id, 'created_at', f.created_at)::TEXT
    FROM "transfer_failures" f WHERE f.id = ANY(transfer_ids)
    UNION ALL
    SELECT json_build_object('src', 'r', 'id', r.pending_id, 'kind', r.kind, 'created_at', r.created_at)::TEXT
    FROM "transfers" r WHERE r.pending_id = ANY(pending_ids);
END
$$;
