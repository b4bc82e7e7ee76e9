// A Ledger over the SQL store on a fresh test database, with one institution and helpers to
// create accounts and read balances exactly.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, type Account, type AccountKind } from "../../src/core/ledger/types.js";
import type { WriterOptions } from "../../src/core/ledger/writer.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { isRetryableSqlError, type SqlDb } from "../../src/infra/db/sql.js";
import { openTestDb, type StoreKind, type TestDb } from "./db.js";

export interface LedgerEnv extends TestDb {
  ledger: Ledger;
  institutionId: string;
  /** Another Ledger (its own writer) on the same database, as a second gateway process would have. */
  newLedger(options?: Partial<WriterOptions>): Ledger;
  open(kind: AccountKind, flags?: number, currency?: string): Promise<Account>;
}

export async function openLedgerEnv(kind: StoreKind, options: Partial<WriterOptions> = {}): Promise<LedgerEnv> {
  const test = await openTestDb(kind);
  const institutionId = await createInstitution(test.db, "KES");
  const ledgers: Ledger[] = [];
  const newLedger = (more: Partial<WriterOptions> = {}) => {
    const ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError, ...options, ...more });
    ledgers.push(ledger);
    return ledger;
  };
  const ledger = newLedger();
  return {
    ...test,
    ledger,
    institutionId,
    newLedger,
    open: (accountKind, flags = 0, currency = "KES") => ledger.createAccount({ institutionId, currency, kind: accountKind, flags }),
    cleanup: async () => {
      await Promise.all(ledgers.map((l) => l.close()));
      await test.cleanup();
    },
  };
}

/** A LedgerEnv for the tests of one describe block, with a bank account to fund wallets from. */
export interface LedgerSuite extends LedgerEnv {
  readonly bank: Account;
  /** A customer wallet (debits must not exceed credits), cashed in from the bank with fundMinor. */
  wallet(fundMinor: bigint): Promise<Account>;
}

/**
 * Opens a LedgerEnv and its bank account before the calling describe block's tests and closes it
 * after them. The env exists only once beforeAll has run, so the suite reads it through getters:
 * use it inside hooks and tests, not in the describe body.
 */
export function useLedgerEnv(kind: StoreKind, options: Partial<WriterOptions> = {}): LedgerSuite {
  let env: LedgerEnv | undefined;
  let bank: Account | undefined;
  beforeAll(async () => {
    env = await openLedgerEnv(kind, options);
    bank = await env.open("bank");
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  const opened = (): { env: LedgerEnv; bank: Account } => {
    if (!env || !bank) throw new Error("useLedgerEnv: the env opens in beforeAll; use it in hooks and tests");
    return { env, bank };
  };
  return {
    kind,
    get db() { return opened().env.db; },
    get schema() { return opened().env.schema; },
    get ledger() { return opened().env.ledger; },
    get institutionId() { return opened().env.institutionId; },
    get bank() { return opened().bank; },
    newLedger: (more) => opened().env.newLedger(more),
    open: (accountKind, flags, currency) => opened().env.open(accountKind, flags, currency),
    cleanup: () => opened().env.cleanup(),
    wallet: async (fundMinor) => {
      const { env: ready, bank: from } = opened();
      const wallet = await ready.open("customer_wallet", AccountFlags.debitsMustNotExceedCredits);
      if (fundMinor === 0n) return wallet;
      const funding = { id: uuidv7(), debitAccountId: from.id, creditAccountId: wallet.id, amountMinor: fundMinor, code: "cash_in" };
      const funded = await ready.ledger.transfer(funding);
      if (funded.result !== "ok") throw new Error(`funding a test wallet: ${funded.result}`);
      return wallet;
    },
  };
}

export async function createInstitution(db: SqlDb, currency: string): Promise<string> {
  const institutionId = uuidv7();
  await db.query("INSERT INTO institutions (id, code, name, currency) VALUES ($1, $2, $3, $4)", [
    institutionId,
    `bank-${randomBytes(4).toString("hex")}`,
    "Test Bank",
    currency,
  ]);
  return institutionId;
}

export interface StoredBalances {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

/** Balances as stored, read as text so nothing passes through a JS number. */
export async function storedBalances(db: SqlDb, ids: string[]): Promise<Map<string, StoredBalances>> {
  const result = await db.query<{ id: string; dp: string; dpo: string; cp: string; cpo: string }>(
    `SELECT id, debits_pending::text AS dp, debits_posted::text AS dpo, credits_pending::text AS cp,
       credits_posted::text AS cpo FROM accounts WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(
    result.rows.map((r) => [
      r.id,
      { debitsPending: BigInt(r.dp), debitsPosted: BigInt(r.dpo), creditsPending: BigInt(r.cp), creditsPosted: BigInt(r.cpo) },
    ]),
  );
}

/**
 * The ledger's invariants in plain SQL, independent of verifyLedger: each account's balances
 * equal its transfers' sums, debits equal credits overall, flags hold, a pending is resolved at
 * most once. Returns the violations found (empty when all hold).
 */
export async function sqlInvariantViolations(db: SqlDb): Promise<string[]> {
  const violations: string[] = [];
  const sums = await db.query<{ id: string }>(`
    WITH open AS (
      SELECT p.* FROM transfers p WHERE p.kind = 'pending'
        AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
    ), moves AS (
      SELECT debit_account_id AS id, amount AS dpo, 0::numeric AS dp, 0::numeric AS cpo, 0::numeric AS cp
        FROM transfers WHERE kind IN ('single', 'post')
      UNION ALL SELECT credit_account_id, 0, 0, amount, 0 FROM transfers WHERE kind IN ('single', 'post')
      UNION ALL SELECT debit_account_id, 0, amount, 0, 0 FROM open
      UNION ALL SELECT credit_account_id, 0, 0, 0, amount FROM open
    ), agg AS (
      SELECT id, sum(dpo) AS dpo, sum(dp) AS dp, sum(cpo) AS cpo, sum(cp) AS cp FROM moves GROUP BY id
    )
    SELECT a.id FROM accounts a LEFT JOIN agg ON agg.id = a.id
    WHERE a.debits_posted <> coalesce(agg.dpo, 0) OR a.debits_pending <> coalesce(agg.dp, 0)
       OR a.credits_posted <> coalesce(agg.cpo, 0) OR a.credits_pending <> coalesce(agg.cp, 0)`);
  for (const r of sums.rows) violations.push(`account ${r.id}: balances differ from its transfers`);
  const totals = await db.query<{ currency: string }>(`
    SELECT currency FROM accounts GROUP BY currency
    HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)`);
  for (const r of totals.rows) violations.push(`currency ${r.currency}: debits differ from credits`);
  const flags = await db.query<{ id: string }>(`
    SELECT id FROM accounts WHERE ((flags & 1) <> 0 AND debits_pending + debits_posted > credits_posted)
      OR ((flags & 2) <> 0 AND credits_pending + credits_posted > debits_posted)`);
  for (const r of flags.rows) violations.push(`account ${r.id}: flag violated`);
  const twice = await db.query<{ pending_id: string }>(
    `SELECT pending_id FROM transfers WHERE pending_id IS NOT NULL GROUP BY pending_id HAVING count(*) > 1`,
  );
  for (const r of twice.rows) violations.push(`pending ${r.pending_id}: resolved twice`);
  return violations;
}

/** The stored ledger holds up to both checks: the plain-SQL invariants above and verifyLedger. */
export async function expectLedgerConsistent(db: SqlDb): Promise<void> {
  expect(await sqlInvariantViolations(db)).toEqual([]);
  const report = await verifyLedger(db);
  expect(report.violations).toEqual([]);
  expect(report.ok).toBe(true);
}
