// Accounts a transfer's limits name, which the writer locks though they are neither debited nor
// credited (the payer's usage account; the payee's other wallets), against a second batch in flight
// in the same process. Before the fix the writer's partition ignored them, so two batches in flight
// could both hold one: on the cached path both decided on the store's one copy of the account, and
// the batch that locked it only for a limit wrote back the other's uncommitted balances.
// Staged with a lock held from a third connection so the interleaving is certain.
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, type Account, type TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import type { PostgresDb } from "../../src/infra/db/sql.js";
import { balancesOf, move, useGateways } from "../helpers/ledger-gateways.js";
import { expectLedgerConsistent, useLedgerEnv } from "../helpers/ledger-setup.js";

const OPEN: LimitPolicy = {
  maxPerTransactionMinor: 1_000_000n,
  maxDailyAmountMinor: 1_000_000n,
  maxDailyCount: 1_000,
  maxMonthlyAmountMinor: 1_000_000n,
  maxBalanceMinor: 1_000_000n,
};

describe("ledger writer: accounts locked for limits are kept out of a second batch in flight", () => {
  const env = useLedgerEnv("postgres");
  const gateway = useGateways(() => env.db);

  /** Holds a row lock on the account from a connection of its own, until release(). */
  async function accountLock(accountId: string): Promise<{ release: () => Promise<void> }> {
    const client: pg.PoolClient = await (env.db as PostgresDb).pool.connect();
    await client.query("BEGIN");
    await client.query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", [accountId]);
    return {
      release: async () => {
        await client.query("COMMIT");
        client.release();
      },
    };
  }

  async function lockWaiters(): Promise<number> {
    const r = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
    return r.rows[0]!.n;
  }

  async function waitForLockWaiters(n: number): Promise<void> {
    for (let i = 0; i < 500; i += 1) {
      if ((await lockWaiters()) >= n) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`never saw ${n} lock waiters`);
  }

  /** A merchant account and a funded wallet, the merchant's id the smaller: a batch locks the merchant first. */
  async function merchantBeforeWallet(fundMinor: bigint): Promise<{ merchant: Account; wallet: Account }> {
    const [low, high] = [uuidv7(), uuidv7()].sort();
    const common = { institutionId: env.institutionId, currency: "KES" };
    const merchant = await env.ledger.createAccount({ ...common, id: low, kind: "merchant" });
    const wallet = await env.ledger.createAccount({ ...common, id: high, kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    expect((await env.ledger.transfer(move(env.bank, wallet, fundMinor, { code: "cash_in" }))).result).toBe("ok");
    return { merchant, wallet };
  }

  /**
   * A (cached) pays from `shared` to a merchant whose row a third connection holds locked, so its
   * write waits there, before it reaches `shared` (later in id order); meanwhile A is asked for
   * `second`, a transfer that names `shared` only in its limits. Then the lock goes.
   */
  async function stage(a: ReturnType<typeof gateway>, shared: Account, merchant: Account, second: () => Promise<unknown>) {
    const held = await accountLock(merchant.id);
    const first = a.ledger.transfer(move(shared, merchant, 100n));
    await waitForLockWaiters(1);
    const other = second();
    // Long enough for the second transfer to be written, had it been let into a batch of its own.
    const settled = await Promise.race([other.then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
    await held.release();
    return { settled, results: await Promise.all([first, other]) };
  }

  it("the payer's usage account: a send from a second wallet waits for a batch that debits the primary one", async () => {
    const a = gateway();
    const { merchant, wallet: primary } = await merchantBeforeWallet(1_000n);
    const second = await env.wallet(1_000n);
    const shop = await env.open("merchant");
    const limits: TransferLimits = { timeZone: "UTC", payer: OPEN, payerUsageAccountId: primary.id };
    // A remembers every account and counter of both transfers.
    for (let i = 0; i < 2; i += 1) {
      expect((await a.ledger.transfer(move(primary, merchant, 1n))).result).toBe("ok");
      expect((await a.ledger.transfer(move(second, shop, 1n, { limits }))).result).toBe("ok");
    }
    expect(a.delta().cached).toBeGreaterThan(0);
    const { settled, results } = await stage(a, primary, merchant, () => a.ledger.transfer(move(second, shop, 5n, { limits })));
    expect(results.map((r) => (r as { result: string }).result)).toEqual(["ok", "ok"]);
    // 1,000 funded, 2 sent, 100 paid: once.
    expect((await balancesOf(env.db, primary))[0]).toEqual([0n, 102n, 0n, 1_000n]);
    await expectLedgerConsistent(env.db);
    expect(settled, "the send from the second wallet ran beside the batch that held the primary wallet").toBe(false);
  });
  it("the payee's other wallets: a payment into one waits for a batch that debits another", async () => {
    const a = gateway();
    const { merchant, wallet: first } = await merchantBeforeWallet(1_000n);
    const other = await env.wallet(0n);
    const limits: TransferLimits = { timeZone: "UTC", payee: OPEN, payeeHoldingAccountIds: [first.id] };
    for (let i = 0; i < 2; i += 1) {
      expect((await a.ledger.transfer(move(first, merchant, 1n))).result).toBe("ok");
      expect((await a.ledger.transfer(move(env.bank, other, 1n, { limits }))).result).toBe("ok");
    }
    expect(a.delta().cached).toBeGreaterThan(0);
    const { settled, results } = await stage(a, first, merchant, () => a.ledger.transfer(move(env.bank, other, 5n, { limits })));
    expect(results.map((r) => (r as { result: string }).result)).toEqual(["ok", "ok"]);
    expect((await balancesOf(env.db, first))[0]).toEqual([0n, 102n, 0n, 1_000n]);
    await expectLedgerConsistent(env.db);
    expect(settled, "the payment into the other wallet ran beside the batch that held the first").toBe(false);
  });
});
