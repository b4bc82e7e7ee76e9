// A payment under SIM-swap cooling whose ledger write's outcome is unknown to the gateway (the
// connection dropped or timed out while the write, or its COMMIT, was still on its way) must not
// give its amount back to the cooling allowance unless its transfer certainly did not post and
// never will: a read of the ledger that finds nothing proves nothing while the write may still
// land. Over real PostgreSQL: a fault injection around the real ledger store starts the real write
// behind a lock that another connection holds, and answers the writer at once with a dropped
// connection; the real write lands (or is refused) only once the lock is released.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { LedgerStore } from "../../src/core/ledger/ports.js";
import type { BatchDecision } from "../../src/core/ledger/snapshot.js";
import type { SqlDb } from "../../src/infra/db/sql.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

/** A row lock that a test connection takes, and the backends it then holds up. */
class HeldLock {
  private release!: () => void;
  private holder: Promise<void> | null = null;
  pid = 0;

  constructor(
    private readonly db: SqlDb,
    private readonly sql: string,
    private readonly params: unknown[],
  ) {}

  async take(): Promise<void> {
    const released = new Promise<void>((r) => (this.release = r));
    let locked!: () => void;
    const taken = new Promise<void>((r) => (locked = r));
    this.holder = this.db.transaction(async (tx) => {
      this.pid = (await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await tx.query(this.sql, this.params);
      locked();
      await released;
    });
    await taken;
  }

  /** How many backends wait for this lock now (behind the holder, or behind a backend that waits for it first). */
  async waiting(): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity a WHERE $1::int = ANY(pg_blocking_pids(a.pid))
         OR EXISTS (SELECT 1 FROM unnest(pg_blocking_pids(a.pid)) AS b(pid) WHERE $1::int = ANY(pg_blocking_pids(b.pid)))`,
      [this.pid],
    );
    return r.rows[0]!.n;
  }

  async end(): Promise<void> {
    this.release();
    await this.holder;
  }
}

/** The real store; its next batch, once armed, is written behind `lock` while the writer hears of a dropped connection. */
class DroppingStore {
  private lock: HeldLock | null = null;
  /** The real write of the batch answered as dropped: what it did in the end. */
  orphan: Promise<BatchDecision> | null = null;

  arm(lock: HeldLock): void {
    this.lock = lock;
  }

  wrap(real: LedgerStore): LedgerStore {
    return new Proxy(real, {
      get: (target, key, receiver) => {
        if (key !== "applyBatch") {
          const value = Reflect.get(target, key, receiver) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (...args: Parameters<LedgerStore["applyBatch"]>) => {
          const lock = this.lock;
          if (!lock) return target.applyBatch(...args);
          this.lock = null;
          await lock.take();
          this.orphan = target.applyBatch(...args);
          this.orphan.catch(() => undefined);
          // The write is on its way (held up by the lock) when the connection "drops".
          while ((await lock.waiting()) === 0) await new Promise((r) => setTimeout(r, 5));
          throw new Error("Connection terminated unexpectedly");
        };
      },
    });
  }
}

describe("SIM-swap cooling allowance and a ledger write whose outcome is unknown", () => {
  const dropping = new DroppingStore();
  let w: AgentsWorld;
  let payee: Customer;
  let n = 0;

  const customer = async (swapped: boolean): Promise<Customer> => {
    const c = await w.register(`071277${String(++n).padStart(4, "0")}`, "Swap Wambui", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    if (swapped) expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap" })).ok).toBe(true);
    return c;
  };
  const send = (from: Customer, amountMinor: bigint, paymentId = uuidv7()) =>
    w.services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn: from.msisdn, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId, pin: "4827" });

  /**
   * A send of 900 whose write is answered as a dropped connection while the real one waits for
   * `lock`; the lock is released once the send has failed, or once the gateway's own follow-up
   * waits for it too. Answers whether the payment posted in the end.
   */
  const ambiguousSend = async (c: Customer, lock: HeldLock, paymentId: string): Promise<boolean> => {
    dropping.arm(lock);
    const sent = send(c, 900n, paymentId);
    sent.catch(() => undefined);
    let settled = false;
    void sent.finally(() => (settled = true)).catch(() => undefined);
    while (!settled && (await lock.waiting()) < 2) await new Promise((r) => setTimeout(r, 5));
    await lock.end();
    await expect(sent).rejects.toThrow(/Connection terminated/);
    await dropping.orphan!.catch(() => undefined);
    return (await w.ledger.getTransfer(paymentId)) !== null;
  };

  /** Whatever the send did in the end, the allowance covers it: 900 counted if it posted, else given back. */
  const expectAllowanceCovers = async (c: Customer, posted: boolean, paymentId: string) => {
    expect(await send(c, posted ? 101n : 1_001n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, posted ? 100n : 1_000n)).toMatchObject({ ok: true });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 1_000n);
    // The id answers the same from now on: a retry of the send moves nothing more.
    await send(c, 900n, paymentId).catch(() => undefined);
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 1_000n);
  };

  beforeAll(async () => {
    w = await openAgentsWorld("swap-ambiguous", (store) => dropping.wrap(store));
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 0n }] }, new Date(), () => []);
    payee = await customer(false);
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("gives back a send whose write, still waiting for the payer's wallet, can then no longer post", async () => {
    const c = await customer(true);
    const paymentId = uuidv7();
    const lock = new HeldLock(w.test.db, "SELECT id FROM accounts WHERE id = $1::uuid FOR UPDATE", [c.walletAccountId]);
    const posted = await ambiguousSend(c, lock, paymentId);
    await expectAllowanceCovers(c, posted, paymentId);
    // The gateway's abandon needs no lock on the wallet: it is recorded first, and the write refused.
    expect(posted).toBe(false);
  });

  it("keeps the amount of a send whose write, waiting for the ledger's audit head, lands after the gateway heard it failed", async () => {
    const c = await customer(true);
    const paymentId = uuidv7();
    const lock = new HeldLock(w.test.db, "SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE", []);
    const posted = await ambiguousSend(c, lock, paymentId);
    // The write waited for the head first, so it goes first: it posts, and the abandon finds it.
    expect(posted).toBe(true);
    await expectAllowanceCovers(c, posted, paymentId);
  });
});
