import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { PeriodKeys } from "../../core/limits/periods.js";
import type { LimitPolicyKey, LimitPolicyStore, StoredLimitPolicy } from "../../core/limits/ports.js";
import type { LimitChannel, LimitPolicy, LimitTier, LimitUsage } from "../../core/limits/types.js";
import { appendAuditEntries } from "./audit-store.js";
import { BatchedRead } from "./batched-read.js";
import { big, date, iso } from "./policy-rows.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

interface PolicyRow {
  institution_id: string;
  channel: string;
  kyc_tier: number;
  per_tx: string;
  daily: string;
  daily_count: number;
  monthly: string;
  balance: string;
  updated_at: Date;
}

const COLUMNS = `institution_id, channel, kyc_tier, max_per_transaction_minor::text AS per_tx,
  max_daily_amount_minor::text AS daily, max_daily_count AS daily_count, max_monthly_amount_minor::text AS monthly,
  max_balance_minor::text AS balance, updated_at`;

function toPolicy(r: PolicyRow): LimitPolicy {
  return {
    maxPerTransactionMinor: big(r.per_tx),
    maxDailyAmountMinor: big(r.daily),
    maxDailyCount: r.daily_count,
    maxMonthlyAmountMinor: big(r.monthly),
    maxBalanceMinor: big(r.balance),
  };
}

const toStored = (r: PolicyRow): StoredLimitPolicy => ({
  institutionId: r.institution_id,
  channel: r.channel as LimitChannel,
  tier: r.kyc_tier as LimitTier,
  policy: toPolicy(r),
  updatedAt: date(r.updated_at),
});

// Configuration changes of one institution queue on its row. NO KEY UPDATE, so that accounts and
// customers (whose foreign keys take KEY SHARE on it) can still be created meanwhile.
export const LOCK_INSTITUTION = `SELECT id FROM institutions WHERE id = $1::uuid FOR NO KEY UPDATE`;

const UPSERT = `INSERT INTO limit_policies (institution_id, channel, kyc_tier, max_per_transaction_minor,
  max_daily_amount_minor, max_daily_count, max_monthly_amount_minor, max_balance_minor, updated_at)
  VALUES ($1::uuid, $2, $3, $4::bigint, $5::bigint, $6, $7::bigint, $8::bigint, $9::timestamptz)
  ON CONFLICT (institution_id, channel, kyc_tier) DO UPDATE SET
    max_per_transaction_minor = EXCLUDED.max_per_transaction_minor, max_daily_amount_minor = EXCLUDED.max_daily_amount_minor,
    max_daily_count = EXCLUDED.max_daily_count, max_monthly_amount_minor = EXCLUDED.max_monthly_amount_minor,
    max_balance_minor = EXCLUDED.max_balance_minor, updated_at = EXCLUDED.updated_at`;

// One account's counters for a day and a month (the quote's early limit check).
const USAGE_OF = `SELECT account_id, period_key, amount_minor::text AS amount, count FROM limit_usage
  WHERE account_id = $1::uuid AND period_key IN ($2::text, $3::text)`;

export class SqlLimitPolicyStore implements LimitPolicyStore {
  private usageRead: BatchedRead<UsageCounterRow> | undefined;

  constructor(private readonly db: SqlDb) {}

  async list(institutionId: string): Promise<StoredLimitPolicy[]> {
    const result = await this.db.query<PolicyRow>(`SELECT ${COLUMNS} FROM limit_policies WHERE institution_id = $1::uuid`, [institutionId]);
    return result.rows.map(toStored);
  }

  /** Reads of many quotes at once share a statement (a send's amount hop makes one each). */
  async usage(accountId: string, periods: PeriodKeys): Promise<LimitUsage> {
    this.usageRead ??= new BatchedRead<UsageCounterRow>(this.db, USAGE_OF, 3);
    const rows = await this.usageRead.query([accountId, periods.dayKey, periods.monthKey]);
    const found = usageCountersFrom(rows);
    const day = found.get(usageCounterKey(accountId, periods.dayKey));
    const month = found.get(usageCounterKey(accountId, periods.monthKey));
    return { dayAmountMinor: day?.amountMinor ?? 0n, dayCount: day?.count ?? 0, monthAmountMinor: month?.amountMinor ?? 0n };
  }

  async put(key: LimitPolicyKey, policy: LimitPolicy | null, now: Date, audit: (before: LimitPolicy | null) => AuditEntryInput[]): Promise<LimitPolicy | null> {
    return this.db.transaction(async (tx) => {
      await tx.query(LOCK_INSTITUTION, [key.institutionId]);
      const cell = [key.institutionId, key.channel, key.tier];
      const found = await tx.query<PolicyRow>(`SELECT ${COLUMNS} FROM limit_policies WHERE institution_id = $1::uuid AND channel = $2 AND kyc_tier = $3`, cell);
      const before = found.rows[0] ? toPolicy(found.rows[0]) : null;
      if (policy) {
        const p = policy;
        await tx.query(UPSERT, [...cell, p.maxPerTransactionMinor.toString(), p.maxDailyAmountMinor.toString(), p.maxDailyCount,
          p.maxMonthlyAmountMinor.toString(), p.maxBalanceMinor.toString(), iso(now)]);
      } else {
        await tx.query(`DELETE FROM limit_policies WHERE institution_id = $1::uuid AND channel = $2 AND kyc_tier = $3`, cell);
      }
      await appendAuditEntries(tx, audit(before), now);
      return before;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Usage counters for the ledger's batch: read and written inside its transaction, after the payer
// accounts are locked, so the values cannot change underneath it.

/** What an account has sent in one period: a local day ("2026-11-25") or month ("2026-11"). */
export interface UsageCounter {
  accountId: string;
  periodKey: string;
  amountMinor: bigint;
  count: number;
}

export const usageCounterKey = (accountId: string, periodKey: string): string => `${accountId}|${periodKey}`;

/** The counters among the keys given as two SQL arrays (expressions: parameters or literals), one row each that exists. */
export const selectUsageCounters = (accountIds: string, periodKeys: string): string =>
  `SELECT account_id, period_key, amount_minor::text AS amount, count FROM limit_usage
     WHERE (account_id, period_key) IN (SELECT * FROM unnest(${accountIds}::uuid[], ${periodKeys}::text[]))`;

export interface UsageCounterRow {
  account_id: string;
  period_key: string;
  amount: string;
  count: number;
}

/** The rows of selectUsageCounters, by usageCounterKey(); a missing one means nothing sent yet. */
export function usageCountersFrom(rows: UsageCounterRow[]): Map<string, UsageCounter> {
  const found = new Map<string, UsageCounter>();
  for (const r of rows) {
    found.set(usageCounterKey(r.account_id, r.period_key), { accountId: r.account_id, periodKey: r.period_key, amountMinor: big(r.amount), count: r.count });
  }
  return found;
}

const SELECT_USAGE = selectUsageCounters("$1", "$2");

/** The counters that exist among keys, by usageCounterKey(); a missing one means nothing sent yet. */
export async function loadUsageCounters(tx: SqlExecutor, keys: Pick<UsageCounter, "accountId" | "periodKey">[]): Promise<Map<string, UsageCounter>> {
  if (keys.length === 0) return new Map();
  const result = await tx.query<UsageCounterRow>(SELECT_USAGE, [keys.map((k) => k.accountId), keys.map((k) => k.periodKey)]);
  return usageCountersFrom(result.rows);
}

/** The counters to write: the last value given for a key wins (one INSERT … ON CONFLICT may not touch a row twice). */
export function latestUsageCounters(counters: UsageCounter[]): UsageCounter[] {
  return [...new Map(counters.map((c) => [usageCounterKey(c.accountId, c.periodKey), c])).values()];
}

/** Upserts counters given as four SQL arrays (account ids, period keys, amounts, counts). */
export const upsertUsageCounters = (accountIds: string, periodKeys: string, amounts: string, counts: string): string =>
  `INSERT INTO limit_usage (account_id, period_key, amount_minor, count)
     SELECT * FROM unnest(${accountIds}::uuid[], ${periodKeys}::text[], ${amounts}::bigint[], ${counts}::int[])
     ON CONFLICT (account_id, period_key) DO UPDATE SET amount_minor = EXCLUDED.amount_minor, count = EXCLUDED.count`;

const UPSERT_USAGE = upsertUsageCounters("$1", "$2", "$3", "$4");

/**
 * Writes counters as absolute values (the batch computed them from what it loaded under lock), in
 * one statement.
 */
export async function saveUsageCounters(tx: SqlExecutor, counters: UsageCounter[]): Promise<void> {
  const query = saveUsageCountersQuery(counters);
  if (query) await tx.query(query.text, query.values);
}

/** saveUsageCounters' statement and parameters, for a caller that sends it along with others; null when there is nothing to write. */
export function saveUsageCountersQuery(counters: UsageCounter[]): { text: string; values: unknown[] } | null {
  const rows = latestUsageCounters(counters);
  if (rows.length === 0) return null;
  return { text: UPSERT_USAGE, values: [rows.map((r) => r.accountId), rows.map((r) => r.periodKey), rows.map((r) => r.amountMinor.toString()), rows.map((r) => r.count)] };
}
