-- Whose limit refused a recorded limit refusal: 'payer' (the payer's own) or 'payee' (a wallet's
-- balance cap, an agent float's inbound limits). A retry of the same id is answered from this row,
-- and callers tell an agent's float limit from the customer's own by it. NULL for every other
-- refusal, for the other members of a failed linked group, and for rows recorded before this
-- column (their retries answer the code alone, as before). Nullable with no default: no rewrite.
ALTER TABLE "transfer_failures" ADD COLUMN "limit_party" TEXT
    CONSTRAINT "transfer_failures_limit_party_check" CHECK ("limit_party" IS NULL OR ("limit_party" IN ('payer', 'payee')
        AND "result" IN ('per_transaction_exceeded', 'daily_count_exceeded', 'daily_amount_exceeded',
            'monthly_amount_exceeded', 'balance_limit_exceeded')));

-- ledger_lock_and_read as before, with the failure's limit_party in its existence row.
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
        'pending_id', f.pending_id, 'created_at', f.created_at, 'limit_party', f.limit_party)::TEXT
    FROM "transfer_failures" f WHERE f.id = ANY(transfer_ids)
    UNION ALL
    SELECT json_build_object('src', 'r', 'id', r.pending_id, 'kind', r.kind, 'created_at', r.created_at)::TEXT
    FROM "transfers" r WHERE r.pending_id = ANY(pending_ids);
END
$$;
