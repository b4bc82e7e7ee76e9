// Ledgers as separate gateway processes would have them (a store and cache each, on one
// database), with the store's path counters, for the tests of the ledger's cached path.
import { afterAll } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import type { Account, TransferInput } from "../../src/core/ledger/types.js";
import type { WriterOptions } from "../../src/core/ledger/writer.js";
import { SqlLedgerStore, type SqlLedgerStoreOptions } from "../../src/infra/db/ledger-store.js";
import { isBadValueSqlError, isRetryableSqlError, type SqlDb } from "../../src/infra/db/sql.js";
import { storedBalances } from "./ledger-setup.js";

export function move(from: Account, to: Account, amountMinor: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: uuidv7(), debitAccountId: from.id, creditAccountId: to.id, amountMinor, code: "p2p", ...extra };
}

export interface Paths {
  cached: number;
  locked: number;
  conflicts: number;
}

/**
 * A factory of gateways on the database `db()` gives (read when one is made, after the suite's
 * beforeAll). Call it in a describe body after useLedgerEnv: its afterAll, registered later, runs
 * first (hooks run as a stack), so the ledgers close before the database.
 */
export function useGateways(db: () => SqlDb) {
  const opened: Ledger[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((l) => l.close()));
  });
  return (options: Partial<SqlLedgerStoreOptions> = {}, writer: Partial<WriterOptions> = {}) => {
    const store = new SqlLedgerStore(db(), { prepare: true, audit: true, ...options });
    const ledger = new Ledger(store, { isRetryable: isRetryableSqlError, isBadValue: isBadValueSqlError, ...writer });
    opened.push(ledger);
    let mark: Paths = { ...store.paths };
    return {
      store,
      ledger,
      /** The counters' growth since the previous call (or since the store was made). */
      delta(): Paths {
        const now = { ...store.paths };
        const d = { cached: now.cached - mark.cached, locked: now.locked - mark.locked, conflicts: now.conflicts - mark.conflicts };
        mark = now;
        return d;
      },
    };
  };
}

/** Each account's stored [debits pending, debits posted, credits pending, credits posted]. */
export async function balancesOf(db: SqlDb, ...accounts: Account[]): Promise<bigint[][]> {
  const stored = await storedBalances(db, accounts.map((a) => a.id));
  return accounts.map((a) => {
    const s = stored.get(a.id)!;
    return [s.debitsPending, s.debitsPosted, s.creditsPending, s.creditsPosted];
  });
}

/** The results recorded under a failure id (none, or one). */
export async function failureOf(db: SqlDb, id: string): Promise<string[]> {
  return (await db.query<{ result: string }>("SELECT result FROM transfer_failures WHERE id = $1", [id])).rows.map((r) => r.result);
}

/** How many transfers have the id (0 or 1). */
export async function transferCount(db: SqlDb, id: string): Promise<number> {
  return (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE id = $1", [id])).rows[0]!.n;
}
