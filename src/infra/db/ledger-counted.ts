import { usageKey, type UsageKey } from "../../core/ledger/limits-check.js";
import type { BatchKeys, CountedUsage } from "../../core/ledger/snapshot.js";
import type { Transfer } from "../../core/ledger/types.js";
import { TRANSFER_COLUMNS, toTransfer, type TransferRow } from "./ledger-rows.js";
import type { SqlExecutor } from "./sql.js";

// A pending that carried limits counted usage when it was made; pending_usage names those rows,
// written in the pending's own transaction, so that its void, expiry or partial post can give the
// usage back to them. Both are immutable once committed, like the pending itself.

export interface LoadedPending {
  transfer: Transfer;
  /** The usage rows it counted; undefined when none. */
  counted?: UsageKey[];
}

// "account|period,account|period": neither a UUID nor a period key holds '|' or ','.
const LOAD_PENDINGS = `SELECT ${TRANSFER_COLUMNS},
  (SELECT string_agg(u.account_id::text || '|' || u.period_key, ',') FROM pending_usage u WHERE u.transfer_id = transfers.id) AS counted
  FROM transfers WHERE id = ANY($1::uuid[])`;

/** Pending transfers are immutable rows, so they can be read before the accounts are locked. */
export async function loadPendings(tx: SqlExecutor, ids: string[]): Promise<Map<string, LoadedPending>> {
  if (ids.length === 0) return new Map();
  const result = await tx.query<TransferRow & { counted: string | null }>(LOAD_PENDINGS, [ids]);
  return new Map(result.rows.map((r) => [r.id, { transfer: toTransfer(r), counted: r.counted === null ? undefined : countedFrom(r.counted) }]));
}

function countedFrom(text: string): UsageKey[] {
  return text.split(",").map((pair) => {
    const bar = pair.indexOf("|");
    return { accountId: pair.slice(0, bar), periodKey: pair.slice(bar + 1) };
  });
}

/** The batch's own usage keys and those its pendings counted, each once. */
export function usageKeysToLoad(keys: BatchKeys, pendings: Map<string, LoadedPending>): UsageKey[] {
  const own = keys.usageKeys ?? [];
  let extra: UsageKey[] | undefined;
  for (const p of pendings.values()) if (p.counted) (extra ??= []).push(...p.counted);
  if (!extra) return own;
  const all = new Map([...own, ...extra].map((k) => [usageKey(k.accountId, k.periodKey), k]));
  return [...all.values()];
}

/**
 * The statement that records which usage rows the batch's accepted pendings counted, sent with the
 * batch's write; null when there is nothing to write (most batches).
 */
export function saveCountedQuery(counted: CountedUsage[]): { text: string; values: unknown[] } | null {
  if (counted.length === 0) return null;
  return {
    text: `INSERT INTO pending_usage (transfer_id, account_id, period_key)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])`,
    values: [counted.map((c) => c.transferId), counted.map((c) => c.accountId), counted.map((c) => c.periodKey)],
  };
}
