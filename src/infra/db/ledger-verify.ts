import type { SqlDb } from "./sql.js";

export interface LedgerVerifyReport {
  ok: boolean;
  violations: string[];
  checked: { accounts: number; transfers: number };
}

const MAX_REPORTED = 50;

// Each check returns rows that violate an invariant, already phrased for the report.
const CHECKS: { name: string; sql: string }[] = [
  {
    name: "account balances equal the sums of their transfers",
    sql: `WITH t AS (
        SELECT t.debit_account_id, t.credit_account_id, t.amount, t.kind IN ('single', 'post') AS posted,
          (t.kind = 'pending' AND r.id IS NULL) AS open
        FROM transfers t LEFT JOIN transfers r ON r.pending_id = t.id
      ), sides AS (
        SELECT debit_account_id AS id, sum(amount) FILTER (WHERE posted) AS dpo, sum(amount) FILTER (WHERE open) AS dp,
          NULL::numeric AS cpo, NULL::numeric AS cp FROM t GROUP BY 1
        UNION ALL
        SELECT credit_account_id, NULL, NULL, sum(amount) FILTER (WHERE posted), sum(amount) FILTER (WHERE open)
          FROM t GROUP BY 1
      ), agg AS (
        SELECT id, coalesce(sum(dpo), 0) AS dpo, coalesce(sum(dp), 0) AS dp, coalesce(sum(cpo), 0) AS cpo,
          coalesce(sum(cp), 0) AS cp FROM sides GROUP BY id
      ), sums AS (
        SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
          coalesce(agg.dpo, 0) AS dpo, coalesce(agg.dp, 0) AS dp, coalesce(agg.cpo, 0) AS cpo, coalesce(agg.cp, 0) AS cp
        FROM accounts a LEFT JOIN agg ON agg.id = a.id
      )
      SELECT format('account %s: stored debits %s/%s credits %s/%s (posted/pending), transfers give %s/%s and %s/%s',
        id, debits_posted, debits_pending, credits_posted, credits_pending, dpo, dp, cpo, cp) AS v
      FROM sums WHERE debits_posted <> dpo OR credits_posted <> cpo OR debits_pending <> dp OR credits_pending <> cp`,
  },
  {
    name: "per currency, total debits equal total credits",
    sql: `SELECT format('currency %s: posted debits %s <> credits %s, or pending debits %s <> credits %s',
        currency, sum(debits_posted), sum(credits_posted), sum(debits_pending), sum(credits_pending)) AS v
      FROM accounts GROUP BY currency
      HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)`,
  },
  {
    name: "no flagged account violates its flag",
    sql: `SELECT format('account %s (flags %s) violates its balance flag', id, flags) AS v FROM accounts
      WHERE ((flags & 1) <> 0 AND debits_pending + debits_posted > credits_posted)
         OR ((flags & 2) <> 0 AND credits_pending + credits_posted > debits_posted)`,
  },
  {
    name: "every transfer's accounts exist",
    sql: `SELECT format('transfer %s refers to a missing account', t.id) AS v FROM transfers t
      WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = t.debit_account_id)
         OR NOT EXISTS (SELECT 1 FROM accounts WHERE id = t.credit_account_id)`,
  },
  {
    name: "transfers match their accounts' currency",
    sql: `SELECT format('transfer %s in %s touches accounts in %s and %s', t.id, t.currency, d.currency, c.currency) AS v
      FROM transfers t JOIN accounts d ON d.id = t.debit_account_id JOIN accounts c ON c.id = t.credit_account_id
      WHERE t.currency <> d.currency OR t.currency <> c.currency`,
  },
  {
    name: "each post or void settles one pending, on its accounts, within its amount",
    sql: `SELECT format('%s %s of %s is invalid (%s)', r.kind, r.id, r.pending_id,
        CASE WHEN p.id IS NULL THEN 'pending not found' WHEN p.kind <> 'pending' THEN 'not a pending transfer'
             WHEN r.debit_account_id <> p.debit_account_id OR r.credit_account_id <> p.credit_account_id THEN 'different accounts'
             WHEN r.kind = 'post' THEN 'posts more than reserved' ELSE 'voids a different amount' END) AS v
      FROM transfers r LEFT JOIN transfers p ON p.id = r.pending_id
      WHERE r.pending_id IS NOT NULL AND (p.id IS NULL OR p.kind <> 'pending'
        OR r.debit_account_id <> p.debit_account_id OR r.credit_account_id <> p.credit_account_id
        OR (r.kind = 'post' AND r.amount > p.amount) OR (r.kind = 'void' AND r.amount <> p.amount))`,
  },
  {
    // The sweep finds due pendings only through this work list: one missing is never voided (its
    // funds stay held for good), one at another time is voided at that time instead.
    name: "every open pending with a timeout is on the expiry work list at its expiry",
    sql: `SELECT format('pending %s (expires %s) is not on the expiry work list at that time', p.id, p.expires_at) AS v
      FROM transfers p LEFT JOIN pending_timeouts w ON w.transfer_id = p.id
      WHERE p.kind = 'pending' AND p.expires_at IS NOT NULL AND w.expires_at IS DISTINCT FROM p.expires_at
        AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)`,
  },
  {
    // A row left for a settled pending is refused at every sweep, and takes a place in its batch.
    name: "every expiry work-list row names an open pending",
    sql: `SELECT format('expiry work-list row %s names no open pending', w.transfer_id) AS v
      FROM pending_timeouts w LEFT JOIN transfers p ON p.id = w.transfer_id AND p.kind = 'pending'
      WHERE p.id IS NULL OR EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = w.transfer_id)`,
  },
  {
    name: "no pending is both posted and voided",
    sql: `SELECT format('pending %s is resolved %s times', pending_id, count(*)) AS v FROM transfers
      WHERE pending_id IS NOT NULL GROUP BY pending_id HAVING count(*) > 1`,
  },
];

/** Checks every ledger invariant; a report with ok=false names each violation found. */
export async function verifyLedger(db: SqlDb): Promise<LedgerVerifyReport> {
  const violations: string[] = [];
  for (const check of CHECKS) {
    const result = await db.query<{ v: string }>(`${check.sql} LIMIT ${MAX_REPORTED}`);
    for (const row of result.rows) violations.push(`${check.name}: ${row.v}`);
  }
  const counts = await db.query<{ accounts: number; transfers: number }>(
    "SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM transfers)::int AS transfers",
  );
  return { ok: violations.length === 0, violations, checked: counts.rows[0]! };
}
