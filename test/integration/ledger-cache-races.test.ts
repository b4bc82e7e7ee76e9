// Races and stale copies around the ledger's cached path, each staged with a lock held from a
// third connection so the interleaving is certain. Written by a review that found them as bugs:
// the compare-and-set on balances missed a refusal-only batch and an ABA on pending balances (now
// row versions), and nothing spanned transfer and failure ids (now a probe after the write).
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Account, TransferInput, TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import type { PostgresDb } from "../../src/infra/db/sql.js";
import { balancesOf, failureOf, move, transferCount, useGateways } from "../helpers/ledger-gateways.js";
import { expectLedgerConsistent, useLedgerEnv } from "../helpers/ledger-setup.js";
import { limitUsageLabels } from "../helpers/limit-usage.js";
import { verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { verifyLedgerAgainstAudit } from "../../src/infra/db/ledger-audit-verify.js";


const DAY_300: LimitPolicy = {
  maxPerTransactionMinor: 1_000_000n,
  maxDailyAmountMinor: 300n,
  maxDailyCount: 1_000,
  maxMonthlyAmountMinor: 1_000_000n,
  maxBalanceMinor: 1_000_000_000n,
} as LimitPolicy;

describe("ledger cached path races", () => {
  const env = useLedgerEnv("postgres");

  const gateway = useGateways(() => env.db);


  const balances = (...accounts: Account[]) => balancesOf(env.db, ...accounts);

  /** Holds the row lock `lockSql` takes, from a connection of its own, until release(). */
  async function holdLock(lockSql: string, params: unknown[] = []): Promise<{ release: () => Promise<void> }> {
    const client: pg.PoolClient = await (env.db as PostgresDb).pool.connect();
    await client.query("BEGIN");
    await client.query(lockSql, params);
    return {
      release: async () => {
        await client.query("COMMIT");
        client.release();
      },
    };
  }

  const accountLock = (accountId: string) => holdLock("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", [accountId]);

  /** Waits until `n` backends wait on a lock. */
  async function waitForLockWaiters(n: number): Promise<void> {
    for (let i = 0; i < 500; i += 1) {
      const r = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
      if (r.rows[0]!.n >= n) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`never saw ${n} lock waiters`);
  }

  /**
   * Runs `first`, then `second` once `first` waits on the lock `held` keeps, and releases it once
   * both wait: the two meet in exactly this order.
   */
  async function staged<A, B>(held: Promise<{ release: () => Promise<void> }>, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
    const lock = await held;
    const one = first();
    await waitForLockWaiters(1);
    const two = second();
    await waitForLockWaiters(2);
    await lock.release();
    return Promise.all([one, two]);
  }

  /** What is recorded under an id: transfers (0 or 1) and failure results. */
  const recordedUnder = async (id: string) => ({ transfers: await transferCount(env.db, id), failures: await failureOf(env.db, id) });

  it("race: a recorded failure (cached) and a transfer (cached) with the same id on the same accounts are not both committed", async () => {
    const w = await env.wallet(1_000n);
    const m = await env.open("merchant");
    const a = gateway();
    const b = gateway();
    expect((await a.ledger.transfer(move(w, m, 100n))).result).toBe("ok"); // A caches w, m
    expect((await b.ledger.transfer(move(w, m, 5_000n))).result).toBe("exceeds_credits"); // B caches the same values
    const x = uuidv7();
    const [rb, ra] = await staged(
      accountLock(w.id),
      () => b.ledger.transfer({ ...move(w, m, 5_000n), id: x }), // failure X, cached path
      () => a.ledger.transfer({ ...move(w, m, 100n), id: x }), // transfer X, cached path
    );
    const recorded = await recordedUnder(x);
    const info = JSON.stringify({ a: ra.result, b: rb.result, recorded, aPaths: a.store.paths, bPaths: b.store.paths });
    // The locked path would answer one of them from the other's record (exists_with_different_amount).
    expect(recorded.transfers + recorded.failures.length, info).toBe(1);
    await expectLedgerConsistent(env.db);
  });

  it("race: a recorded failure (locked path, other process) and a transfer (cached) with the same id are not both committed", async () => {
    const w = await env.wallet(1_000n);
    const m = await env.open("merchant");
    const a = gateway();
    const b = gateway({ cache: false });
    expect((await a.ledger.transfer(move(w, m, 100n))).result).toBe("ok"); // A caches w, m
    const x = uuidv7();
    const [rb, ra] = await staged(
      accountLock(w.id),
      () => b.ledger.transfer({ ...move(w, m, 5_000n), id: x }), // locked path: waits in lock_and_read
      () => a.ledger.transfer({ ...move(w, m, 100n), id: x }), // cached path
    );
    const recorded = await recordedUnder(x);
    const info = JSON.stringify({ a: ra.result, b: rb.result, recorded, aPaths: a.store.paths, bPaths: b.store.paths });
    expect(recorded.transfers + recorded.failures.length, info).toBe(1);
    await expectLedgerConsistent(env.db);
  });

  it("ABA: a pending made and another voided by another process restore the balances but not the usage, and the cached path still keeps the daily limit", async () => {
    const limits: TransferLimits = { timeZone: "UTC", payer: DAY_300 };
    const w = await env.wallet(10_000n);
    const m = await env.open("merchant");
    const at = new Date();
    const now = () => at;
    const a = gateway({}, { now });
    const b = env.newLedger({ now });
    // B reserves 100 without limits (an older pending, e.g. from another channel).
    const p2 = move(w, m, 100n, { kind: "pending" });
    expect((await b.transfer(p2)).result).toBe("ok");
    // A sends 100 under the limit twice: the second on the cached path; A's copy: 200 used today.
    expect((await a.ledger.transfer(move(w, m, 100n, { limits }))).result).toBe("ok");
    expect((await a.ledger.transfer(move(w, m, 100n, { limits }))).result).toBe("ok");
    expect(a.store.paths).toMatchObject({ cached: 1, locked: 1 });
    // B reserves 100 under the limit (300 used today), then voids its older unlimited pending:
    // W's and M's balances are back to A's copies, the usage is not.
    expect((await b.transfer(move(w, m, 100n, { kind: "pending", limits }))).result).toBe("ok");
    expect((await b.transfer({ id: uuidv7(), kind: "void", pendingId: p2.id, code: "p2p" } as TransferInput)).result).toBe("ok");
    expect(await limitUsageLabels(env.db, w.id)).toEqual(["day 300/3", "month 300/3"]);
    // Locked path: 300 + 50 > 300, daily_amount_exceeded.
    const over = await a.ledger.transfer(move(w, m, 50n, { limits }));
    const info = JSON.stringify({ paths: a.store.paths, usage: await limitUsageLabels(env.db, w.id) });
    expect(over.result, info).toBe("daily_amount_exceeded");
    expect(await limitUsageLabels(env.db, w.id), info).toEqual(["day 300/3", "month 300/3"]);
    await expectLedgerConsistent(env.db);
  });
  it("a failure and a transfer with the same id on disjoint accounts (locked path) are not both committed", async () => {
    const w = await env.wallet(1_000n);
    const m = await env.open("merchant");
    const w2 = await env.wallet(1_000n);
    const m2 = await env.open("merchant");
    const a = gateway({ cache: false });
    const b = gateway({ cache: false });
    const x = uuidv7();
    // Stall both write statements at the audit head, after their existence reads.
    const [rb, ra] = await staged(
      holdLock("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"),
      () => b.ledger.transfer({ ...move(w, m, 5_000n), id: x }),
      () => a.ledger.transfer({ ...move(w2, m2, 100n), id: x }),
    );
    const recorded = await recordedUnder(x);
    expect(recorded.transfers + recorded.failures.length, JSON.stringify({ a: ra.result, b: rb.result, recorded })).toBe(1);
  });

  it("a limited pending with a timeout and notices made on the cached path, posted by another process, keeps usage, timeouts, outbox and audit right", async () => {
    const limits: TransferLimits = { timeZone: "UTC", payer: DAY_300 };
    const w = await env.wallet(10_000n);
    const m = await env.open("merchant");
    const at = new Date();
    const now = () => at;
    const a = gateway({}, { now });
    const b = env.newLedger({ now });
    expect((await a.ledger.transfer(move(w, m, 10n, { limits }))).result).toBe("ok");
    const notices = [{ msisdn: "+254700000001", template: "receipt.p2p_sent", params: { a: "1" }, kind: "receipt" as const }];
    const pending = move(w, m, 100n, { kind: "pending", limits, timeoutSec: 3600, notices });
    expect((await a.ledger.transfer(pending)).result).toBe("ok");
    expect(a.store.paths).toMatchObject({ cached: 1, locked: 1, conflicts: 0 });
    const timeouts = async () => (await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pending_timeouts WHERE transfer_id = $1", [pending.id])).rows[0]!.n;
    const counted = async () => (await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pending_usage WHERE transfer_id = $1", [pending.id])).rows[0]!.n;
    const outbox = async () => (await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_messages WHERE transfer_id = $1", [pending.id])).rows[0]!.n;
    expect([await timeouts(), await counted(), await outbox()]).toEqual([1, 2, 1]);
    // Retried on the cached path: exists, nothing written twice.
    expect((await a.ledger.transfer({ ...pending })).result).toBe("exists");
    expect(await outbox()).toBe(1);
    // Posted for less by another process: 40 given back.
    expect((await b.transfer({ id: uuidv7(), kind: "post", pendingId: pending.id, amountMinor: 60n, code: "p2p" } as TransferInput)).result).toBe("ok");
    expect(await timeouts()).toBe(0);
    expect(await limitUsageLabels(env.db, w.id)).toEqual(["day 70/2", "month 70/2"]);
    // a's copies are stale: 230 left today, 231 refused, 230 accepted.
    expect((await a.ledger.transfer(move(w, m, 231n, { limits }))).result).toBe("daily_amount_exceeded");
    expect((await a.ledger.transfer(move(w, m, 230n, { limits }))).result).toBe("ok");
    expect(await limitUsageLabels(env.db, w.id)).toEqual(["day 300/3", "month 300/3"]);
    expect(await balances(w, m)).toEqual([
      [0n, 300n, 0n, 10_000n],
      [0n, 0n, 0n, 300n],
    ]);
    await expectLedgerConsistent(env.db);
    expect((await verifyAuditChain(env.db)).ok).toBe(true);
    const report = await verifyLedgerAgainstAudit(env.db);
    expect((report as { ok?: boolean }).ok, JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toBe(false);
  });
  it("control: the same race on the same accounts with both processes on the locked path records the id once", async () => {
    const w = await env.wallet(1_000n);
    const m = await env.open("merchant");
    const a = gateway({ cache: false });
    const b = gateway({ cache: false });
    const x = uuidv7();
    const [rb, ra] = await staged(
      accountLock(w.id),
      () => b.ledger.transfer({ ...move(w, m, 5_000n), id: x }),
      () => a.ledger.transfer({ ...move(w, m, 100n), id: x }),
    );
    expect([rb.result, ra.result]).toEqual(["exceeds_credits", "exists_with_different_amount"]);
    expect([await transferCount(env.db, x), await failureOf(env.db, x)]).toEqual([0, ["exceeds_credits"]]);
    await expectLedgerConsistent(env.db);
  });
});
