import { big } from "./policy-rows.js";
import type { SqlExecutor } from "./sql.js";

/**
 * Read-only queries behind the admin API's reports. Days are local days of the given IANA zone
 * (the institution's), from and to inclusive, as "YYYY-MM-DD"; PostgreSQL turns them into
 * instants, so a Nairobi day runs from 21:00 UTC to 21:00 UTC.
 */
export interface DayRange {
  from: string;
  to: string;
  timeZone: string;
}

// $2 zone, $3 first day, $4 last day. The half-open range keeps each instant in exactly one day.
const IN_RANGE = (column: string) =>
  `${column} >= ($3::date::timestamp AT TIME ZONE $2) AND ${column} < (($4::date + 1)::timestamp AT TIME ZONE $2)`;
const LOCAL_DAY = (column: string) => `to_char(${column} AT TIME ZONE $2, 'YYYY-MM-DD')`;

export interface TransactionTotal {
  day: string;
  code: string;
  currency: string;
  count: number;
  amountMinor: bigint;
}

/**
 * Money that moved (single transfers and posted pendings) with an account of the institution on
 * either side, per local day and transfer code. Reservations and voids moved nothing.
 */
export async function dailyTransactionTotals(db: SqlExecutor, institutionId: string, range: DayRange): Promise<TransactionTotal[]> {
  const result = await db.query<{ day: string; code: string; currency: string; count: number; amount: string }>(
    `SELECT ${LOCAL_DAY("t.created_at")} AS day, t.code, t.currency, count(*)::int AS count, sum(t.amount)::text AS amount
     FROM transfers t
     WHERE t.kind IN ('single', 'post') AND ${IN_RANGE("t.created_at")}
       AND EXISTS (SELECT 1 FROM accounts a WHERE a.id IN (t.debit_account_id, t.credit_account_id) AND a.institution_id = $1::uuid)
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [institutionId, range.timeZone, range.from, range.to],
  );
  return result.rows.map((r) => ({ day: r.day, code: r.code, currency: r.currency, count: r.count, amountMinor: big(r.amount) }));
}

export interface SessionChargeTotal {
  day: string;
  telcoId: string;
  telcoCode: string;
  /** Null for sessions without a plan (free). */
  currency: string | null;
  sessions: number;
  stages: number;
  chargedMinor: bigint;
  /** What the ledger accepted; the difference to chargedMinor was refused (e.g. the customer could not pay). */
  postedMinor: bigint;
}

/** Metered sessions per telco and local day: what the telco bills, and what the ledger posted. */
export async function sessionChargeTotals(db: SqlExecutor, institutionId: string | null, range: DayRange): Promise<SessionChargeTotal[]> {
  const result = await db.query<{
    day: string; telco_id: string; telco_code: string; currency: string | null; sessions: number; stages: number; charged: string; posted: string;
  }>(
    `SELECT ${LOCAL_DAY("s.ended_at")} AS day, s.telco_id, t.code AS telco_code, s.currency, count(*)::int AS sessions,
       sum(s.stages)::int AS stages, sum(s.charge_minor)::text AS charged,
       COALESCE(sum(s.charge_minor) FILTER (WHERE s.charge_result = 'posted'), 0)::text AS posted
     FROM metered_sessions s JOIN telcos t ON t.id = s.telco_id
     WHERE ($1::uuid IS NULL OR s.institution_id = $1::uuid) AND ${IN_RANGE("s.ended_at")}
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4`,
    [institutionId, range.timeZone, range.from, range.to],
  );
  return result.rows.map((r) => ({
    day: r.day,
    telcoId: r.telco_id,
    telcoCode: r.telco_code,
    currency: r.currency,
    sessions: r.sessions,
    stages: r.stages,
    chargedMinor: big(r.charged),
    postedMinor: big(r.posted),
  }));
}

export interface FeesEarned {
  day: string;
  /** The payment type, from the fee_<type> and commission_<type> transfer codes (and their reversals'). */
  type: string;
  fees: number;
  feesMinor: bigint;
  commissionsMinor: bigint;
  /** Fees paid back out of fee income (a reversed cash-in's refund to the customer). */
  feesRefundedMinor: bigint;
  /** Commissions taken back into fee income (a reversed cash-in's clawback from the agent). */
  commissionsClawedBackMinor: bigint;
  /** What the bank kept: fees minus commissions, less refunds, plus clawbacks. Negative on a day of refunds only. */
  netMinor: bigint;
}

// A reversal's legs carry fee_<type>_reversal and commission_<type>_rev (feeRefundCode,
// commissionClawbackCode): read under <type>. Which way the money went tells a fee (into fee
// income) from its refund (out of it), and a commission (out) from its clawback (back in).
const FEE_TYPE = `CASE WHEN starts_with(code, 'fee_') THEN regexp_replace(substr(code, 5), '_reversal$', '')
  ELSE regexp_replace(substr(code, 12), '_rev$', '') END`;

/**
 * Fees credited to the institution's fee_income account and commissions paid out of it, per day
 * and type, with what reversals gave back: without them a reversed payment's fee stayed in the
 * report as kept, though the fee income account no longer held it.
 */
export async function feesEarned(db: SqlExecutor, feeIncomeAccountId: string, range: DayRange): Promise<FeesEarned[]> {
  const result = await db.query<{ day: string; type: string; fees: number; fee_amount: string; commission_amount: string; refunded: string; clawed_back: string }>(
    `SELECT ${LOCAL_DAY("created_at")} AS day, ${FEE_TYPE} AS type,
       count(*) FILTER (WHERE credit_account_id = $1::uuid AND starts_with(code, 'fee_'))::int AS fees,
       COALESCE(sum(amount) FILTER (WHERE credit_account_id = $1::uuid AND starts_with(code, 'fee_')), 0)::text AS fee_amount,
       COALESCE(sum(amount) FILTER (WHERE debit_account_id = $1::uuid AND starts_with(code, 'commission_')), 0)::text AS commission_amount,
       COALESCE(sum(amount) FILTER (WHERE debit_account_id = $1::uuid AND starts_with(code, 'fee_')), 0)::text AS refunded,
       COALESCE(sum(amount) FILTER (WHERE credit_account_id = $1::uuid AND starts_with(code, 'commission_')), 0)::text AS clawed_back
     FROM transfers
     WHERE kind IN ('single', 'post') AND ${IN_RANGE("created_at")}
       AND (credit_account_id = $1::uuid OR debit_account_id = $1::uuid)
       AND (starts_with(code, 'fee_') OR starts_with(code, 'commission_'))
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [feeIncomeAccountId, range.timeZone, range.from, range.to],
  );
  return result.rows.map((r) => {
    const feesMinor = big(r.fee_amount);
    const commissionsMinor = big(r.commission_amount);
    const feesRefundedMinor = big(r.refunded);
    const commissionsClawedBackMinor = big(r.clawed_back);
    const netMinor = feesMinor - commissionsMinor - feesRefundedMinor + commissionsClawedBackMinor;
    return { day: r.day, type: r.type, fees: r.fees, feesMinor, commissionsMinor, feesRefundedMinor, commissionsClawedBackMinor, netMinor };
  });
}
