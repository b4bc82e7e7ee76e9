// Reading the limit_usage counters the ledger keeps per account and period, for assertions.
import type { SqlExecutor } from "../../src/infra/db/sql.js";

export interface LimitUsageRow {
  period_key: string;
  /** The amount as text, so nothing passes through a JS number. */
  amount: string;
  count: number;
}

/** An account's limit_usage rows in period key order. */
export async function limitUsageRows(db: SqlExecutor, accountId: string): Promise<LimitUsageRow[]> {
  const result = await db.query<LimitUsageRow>(
    "SELECT period_key, amount_minor::text AS amount, count FROM limit_usage WHERE account_id = $1 ORDER BY period_key",
    [accountId],
  );
  return result.rows;
}

/** The same rows as "day 600/1", "month:in 600/1" …, sorted: the dates are left out so that tests hold on any day. */
export async function limitUsageLabels(db: SqlExecutor, accountId: string): Promise<string[]> {
  const label = (key: string) => key.replace(/^\d{4}-\d{2}-\d{2}/, "day").replace(/^\d{4}-\d{2}/, "month");
  return (await limitUsageRows(db, accountId)).map((r) => `${label(r.period_key)} ${r.amount}/${r.count}`).sort();
}
