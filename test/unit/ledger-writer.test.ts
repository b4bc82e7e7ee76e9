// The batching writer against a small in-memory store written here: batching, batch size and
// concurrency limits, back-pressure, conflict retries, errors and draining on close.
import { describe, expect, it } from "vitest";
import { LedgerConflict, type LedgerStore } from "../../src/core/ledger/ports.js";
import type { BatchDecision, BatchKeys, LedgerSnapshot } from "../../src/core/ledger/snapshot.js";
import type { Account, Transfer, TransferFailure, TransferInput, TransferResult } from "../../src/core/ledger/types.js";
import { BatchingWriter, LedgerBusy, keysOf, type WriterOptions } from "../../src/core/ledger/writer.js";
import { account, advance, id, pending, single } from "../helpers/ledger-fixtures.js";

/**
 * Commits decisions to memory. Each applyBatch builds a fresh snapshot, as a real store does, and
 * can be held on a gate or made to fail, so the tests can control timing and errors.
 */
class FakeStore implements LedgerStore {
  snap: LedgerSnapshot = { accounts: new Map(), existing: new Map(), pendings: new Map() };
  readonly calls: { keys: BatchKeys; transfers: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  decideCalls = 0;
  /** Errors thrown by the next attempts, after decide ran (as a failed COMMIT would). */
  failures: unknown[] = [];
  /** Transfer ids whose values the store cannot take: any batch holding one fails with a data exception. */
  readonly unstorable = new Set<string>();
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  constructor(accounts: Account[]) {
    for (const a of accounts) this.snap.accounts.set(a.id, { ...a });
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  async applyBatch(keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const transfers = keys.transferIds.length;
      this.calls.push({ keys, transfers });
      if (this.gate) await this.gate;
      await new Promise((r) => setImmediate(r));
      const attempt: LedgerSnapshot = advance(this.snap, { transfers: [], failures: [], accounts: [], results: [] });
      this.decideCalls += 1;
      const decision = decide(attempt);
      if (this.failures.length > 0) throw this.failures.shift();
      if (keys.transferIds.some((t) => this.unstorable.has(t))) throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
      this.snap = advance(this.snap, decision);
      return decision;
    } finally {
      this.inFlight -= 1;
    }
  }

  async createAccounts(accounts: Account[]): Promise<void> {
    for (const a of accounts) this.snap.accounts.set(a.id, { ...a });
  }

  async getAccounts(ids: string[]): Promise<Account[]> {
    return ids.flatMap((i) => (this.snap.accounts.has(i) ? [{ ...this.snap.accounts.get(i)! }] : []));
  }

  async getTransfer(transferId: string): Promise<Transfer | null> {
    const r = this.snap.existing.get(transferId);
    return r && !("result" in r) ? r : null;
  }

  async getFailures(ids: string[]): Promise<TransferFailure[]> {
    return ids.flatMap((i) => {
      const r = this.snap.existing.get(i);
      return r && "result" in r ? [r] : [];
    });
  }

  async listAccountTransfers(): Promise<Transfer[]> {
    return [];
  }

  async findExpiredPendings(): Promise<Transfer[]> {
    return [];
  }

  balance(name: string): Account {
    return this.snap.accounts.get(id(name))!;
  }
}

function setup(options: Partial<WriterOptions> = {}) {
  const store = new FakeStore([
    account("bank", { kind: "bank" }),
    account("alice", { flags: 1 }),
    account("bob", { flags: 1 }),
    // Pairs of accounts no other submission touches, for batches that may run side by side.
    ...Array.from({ length: 40 }, (_, i) => account(`own${i}`, { kind: "bank" })),
  ]);
  const writer = new BatchingWriter(store, options);
  return { store, writer };
}

const pay = (n: number, amount = 1n) => [single(`t${n}`, "bank", "alice", amount)];
/** A transfer between two accounts of its own (n < 20): it shares no key with any other. */
const apart = (n: number) => [single(`apart${n}`, `own${2 * n}`, `own${2 * n + 1}`, 1n)];
const accountsOf = (call: { keys: BatchKeys }) => new Set(call.keys.accountIds);
const tick = () => new Promise((r) => setImmediate(r));
const results = (rs: TransferResult[][]) => rs.map((g) => g.map((r) => r.result));
/** A policy that refuses nothing these tests send. */
const OPEN_POLICY = { maxPerTransactionMinor: 1_000n, maxDailyAmountMinor: 1_000n, maxDailyCount: 1_000, maxMonthlyAmountMinor: 1_000n, maxBalanceMinor: 1_000n };

describe("BatchingWriter", () => {
  it("puts concurrent submissions into one batch and answers each caller its own results", async () => {
    const { store, writer } = setup({ maxBatchesInFlight: 1 });
    const submitted = Array.from({ length: 20 }, (_, i) => writer.submit(pay(i, BigInt(i + 1))));
    submitted.push(writer.submit([single("over", "alice", "bob", 1_000_000n)]));
    const answers = await Promise.all(submitted);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]!.transfers).toBe(21);
    expect(answers.slice(0, 20).map((g, i) => g[0]!.id === id(`t${i}`) && g[0]!.result)).toEqual(Array(20).fill("ok"));
    expect(answers[20]).toEqual([{ id: id("over"), result: "exceeds_credits" }]);
    expect(store.balance("alice").creditsPosted).toBe(BigInt((20 * 21) / 2));
  });

  it("passes every id, account and pending of the batch as keys, skipping non-UUIDs", () => {
    const keys = keysOf([
      [single("a", "alice", "bob", 1n), { id: "bad", debitAccountId: "nope", creditAccountId: id("bank"), code: "x" }],
      [{ id: id("p"), kind: "post", pendingId: id("h"), code: "settle" }],
    ]);
    expect(keys.transferIds.sort()).toEqual([id("a"), id("p")].sort());
    expect(keys.accountIds.sort()).toEqual([id("alice"), id("bob"), id("bank")].sort());
    expect(keys.pendingIds).toEqual([id("h")]);
  });

  it("asks for usage counters only for limited transfers: the payer's, and the payee's inbound ones", () => {
    const policy = { maxPerTransactionMinor: 1n, maxDailyAmountMinor: 1n, maxDailyCount: 1, maxMonthlyAmountMinor: 1n, maxBalanceMinor: 1n };
    const at = new Date("2026-01-01T12:00:00Z");
    expect(keysOf([[single("a", "alice", "bob", 1n), single("b", "alice", "bob", 1n, { limits: { timeZone: "UTC", payee: policy } })]], at).usageKeys).toEqual([]);
    const keys = keysOf([[single("c", "alice", "bob", 1n, { limits: { timeZone: "UTC", payer: policy, payee: policy, payeeInbound: true } })]], at).usageKeys;
    expect(keys).toEqual([
      { accountId: id("alice"), periodKey: "2026-01-01" },
      { accountId: id("alice"), periodKey: "2026-01" },
      { accountId: id("bob"), periodKey: "2026-01-01:in" },
      { accountId: id("bob"), periodKey: "2026-01:in" },
    ]);
  });

  it("splits the queue into batches of at most maxBatchTransfers, never splitting a group", async () => {
    const { store, writer } = setup({ maxBatchTransfers: 4, maxBatchesInFlight: 1 });
    const groups: TransferInput[][] = Array.from({ length: 9 }, (_, i) => pay(i));
    groups.splice(3, 0, [single("g1", "bank", "bob", 1n), single("g2", "bank", "bob", 1n), single("g3", "bank", "bob", 1n)]);
    groups.push(Array.from({ length: 6 }, (_, i) => single(`big${i}`, "bank", "bob", 1n)));
    const answers = await Promise.all(groups.map((g) => writer.submit(g)));
    expect(answers.flat().every((r) => r.result === "ok")).toBe(true);
    const sizes = store.calls.map((c) => c.transfers);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9 + 3 + 6);
    // The 6-transfer group exceeds the limit on its own: it goes alone and whole.
    expect(store.calls.filter((c) => c.keys.transferIds.includes(id("big0"))).map((c) => c.transfers)).toEqual([6]);
    expect(sizes.filter((n) => n !== 6).every((n) => n <= 4)).toBe(true);
    // 18 transfers need at least 3 batches of 4 plus the big one; greedy filling needs no more than 5.
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    expect(sizes.length).toBeLessThanOrEqual(5);
    for (const group of groups) {
      const holders = store.calls.filter((c) => group.some((t) => c.keys.transferIds.includes(t.id)));
      expect(holders).toHaveLength(1);
      expect(group.every((t) => holders[0]!.keys.transferIds.includes(t.id))).toBe(true);
    }
  });

  it("keeps at most maxBatchesInFlight batches in flight, and reaches it", async () => {
    for (const limit of [1, 2, 3]) {
      const { store, writer } = setup({ maxBatchTransfers: 2, maxBatchesInFlight: limit });
      store.hold();
      const all = Array.from({ length: 20 }, (_, i) => writer.submit(apart(i)));
      for (let i = 0; i < 10; i += 1) await tick();
      expect(store.inFlight).toBe(limit);
      store.release();
      const answers = await Promise.all(all);
      expect(answers.flat().every((r) => r.result === "ok")).toBe(true);
      expect(store.maxInFlight).toBe(limit);
      expect(store.calls.every((c) => c.transfers <= 2)).toBe(true);
      expect(store.balance("own1").creditsPosted + store.balance("own39").creditsPosted).toBe(2n);
    }
  });

  it("never runs two batches that share an account or an id at the same time", async () => {
    const { store, writer } = setup({ maxBatchesInFlight: 2 });
    store.hold();
    const first = writer.submit([single("x1", "bank", "alice", 1n)]);
    await tick();
    expect(store.inFlight).toBe(1);
    // The second batch may only take what does not touch bank, alice or x1.
    const sharing = writer.submit([single("x2", "bank", "bob", 1n)]);
    const sameId = writer.submit([single("x1", "bank", "alice", 1n)]);
    const free = writer.submit(apart(0));
    for (let i = 0; i < 5; i += 1) await tick();
    expect(store.inFlight).toBe(2);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.keys.transferIds).toEqual([id("apart0")]);
    const inFlightAccounts = store.calls.map(accountsOf);
    expect([...inFlightAccounts[0]!].some((a) => inFlightAccounts[1]!.has(a))).toBe(false);
    store.release();
    expect(results(await Promise.all([first, sharing, sameId, free]))).toEqual([["ok"], ["ok"], ["exists"], ["ok"]]);
    expect(store.maxInFlight).toBe(2);
    expect(store.balance("alice").creditsPosted).toBe(1n);
  });

  // The payer's usage account is locked with the transfer's accounts (keysOf) though it is neither
  // debited nor credited: a second batch in flight must keep off it too, both ways round. Before,
  // only debit, credit, pending and id were held, so two batches in flight shared the account (on
  // the store's cached path, the same copy of it).
  it("never runs a batch beside one that locks the same account for a limit (the payer's usage account, the payee's other wallets)", async () => {
    const usageOnAlice = (name: string, from: string, to: string): TransferInput[] => [
      single(name, from, to, 1n, { limits: { timeZone: "UTC", payer: OPEN_POLICY, payerUsageAccountId: id("alice") } }),
    ];
    const aliceHolds = (name: string, from: string, to: string): TransferInput[] => [
      single(name, from, to, 1n, { limits: { timeZone: "UTC", payee: OPEN_POLICY, payeeHoldingAccountIds: [id("alice")] } }),
    ];
    const orders: [TransferInput[], TransferInput[]][] = [
      [[single("d1", "alice", "bob", 1n)], usageOnAlice("u1", "own0", "own1")],
      [usageOnAlice("u2", "own2", "own3"), [single("d2", "alice", "bob", 1n)]],
      [[single("d3", "bank", "alice", 1n)], aliceHolds("h1", "own4", "own5")],
      [aliceHolds("h2", "own6", "own7"), [single("d4", "alice", "bob", 1n)]],
      [aliceHolds("h3", "own8", "own9"), usageOnAlice("u3", "own10", "own11")],
    ];
    for (const [first, second] of orders) {
      const { store, writer } = setup({ maxBatchesInFlight: 2 });
      await store.createAccounts([account("alice", { flags: 1, creditsPosted: 10n })]);
      store.hold();
      const one = writer.submit(first);
      await tick();
      expect(store.inFlight).toBe(1);
      const two = writer.submit(second);
      const free = writer.submit(apart(10));
      for (let i = 0; i < 5; i += 1) await tick();
      // Only the free transfer joins the first batch in flight; the other waits for it.
      expect(store.calls.map((c) => c.keys.transferIds)).toEqual([[first[0]!.id], [id("apart10")]]);
      const inFlightAccounts = store.calls.map(accountsOf);
      expect([...inFlightAccounts[0]!].some((a) => inFlightAccounts[1]!.has(a))).toBe(false);
      store.release();
      expect(results(await Promise.all([one, two, free]))).toEqual([["ok"], ["ok"], ["ok"]]);
      expect(store.maxInFlight).toBe(2);
      expect(store.calls.find((c) => c.keys.transferIds.includes(second[0]!.id))!.keys.accountIds).toContain(id("alice"));
    }
  });

  it("refuses with LedgerBusy when the queue is full, and accepts again once it drains", async () => {
    const { store, writer } = setup({ maxQueuedTransfers: 5, maxBatchesInFlight: 1 });
    store.hold();
    const first = writer.submit(pay(0));
    await tick();
    expect(store.inFlight).toBe(1); // the first batch left the queue and is being written
    const queued = [writer.submit(pay(1)), writer.submit([single("q2", "bank", "alice", 1n), single("q3", "bank", "alice", 1n)])];
    queued.push(writer.submit(pay(4)), writer.submit(pay(5)));
    await expect(writer.submit(pay(6))).rejects.toBeInstanceOf(LedgerBusy);
    await expect(writer.submit([single("x1", "bank", "bob", 1n), single("x2", "bank", "bob", 1n)])).rejects.toBeInstanceOf(LedgerBusy);
    store.release();
    expect(results(await Promise.all([first, ...queued])).flat()).toEqual(Array(6).fill("ok"));
    expect(await writer.submit(pay(6))).toEqual([{ id: id("t6"), result: "ok" }]);
    // A group larger than the whole queue can never be accepted.
    await expect(writer.submit(Array.from({ length: 6 }, (_, i) => single(`y${i}`, "bank", "bob", 1n)))).rejects.toBeInstanceOf(LedgerBusy);
    expect(store.balance("alice").creditsPosted).toBe(7n);
    expect(store.balance("bob").creditsPosted).toBe(0n);
  });

  it("retries a batch that hit a LedgerConflict, deciding afresh, and moves money once", async () => {
    const { store, writer } = setup({ maxAttempts: 5, maxBatchesInFlight: 1 });
    store.failures.push(new LedgerConflict(), new LedgerConflict());
    const answers = await Promise.all([writer.submit(pay(1, 10n)), writer.submit([pending("h", "bank", "bob", 5n)])]);
    expect(results(answers)).toEqual([["ok"], ["ok"]]);
    expect(store.calls).toHaveLength(3);
    expect(store.decideCalls).toBe(3);
    expect(store.balance("alice").creditsPosted).toBe(10n);
    expect(store.balance("bob").creditsPending).toBe(5n);
    expect(store.balance("bank").debitsPosted).toBe(10n);
  });

  it("retries errors that isRetryable accepts", async () => {
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    const { store, writer } = setup({ isRetryable: (e) => (e as { code?: string }).code === "40P01" });
    store.failures.push(deadlock);
    expect(await writer.submit(pay(1))).toEqual([{ id: id("t1"), result: "ok" }]);
    expect(store.calls).toHaveLength(2);
  });

  it("gives up after maxAttempts and rejects every caller with the conflict", async () => {
    const { store, writer } = setup({ maxAttempts: 3, maxBatchesInFlight: 1 });
    store.failures.push(...Array.from({ length: 3 }, () => new LedgerConflict()));
    const outcomes = await Promise.allSettled([writer.submit(pay(1)), writer.submit(pay(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(LedgerConflict);
    expect(store.calls).toHaveLength(3);
    expect(store.balance("alice").creditsPosted).toBe(0n);
  });

  it("rejects every caller of a batch with a non-retryable error, once, and keeps working", async () => {
    const { store, writer } = setup({ maxAttempts: 5, maxBatchesInFlight: 1 });
    const boom = new Error("disk on fire");
    store.failures.push(boom);
    const outcomes = await Promise.allSettled([writer.submit(pay(1)), writer.submit(pay(2)), writer.submit(pay(3))]);
    expect(outcomes.map((o) => (o.status === "rejected" ? o.reason : o.value))).toEqual([boom, boom, boom]);
    expect(store.calls).toHaveLength(1);
    expect(store.balance("alice").creditsPosted).toBe(0n);
    expect(await writer.submit(pay(1))).toEqual([{ id: id("t1"), result: "ok" }]);
    expect(store.balance("alice").creditsPosted).toBe(1n);
  });

  it("writes a batch that failed on one submission's bad value again one submission at a time: only that one fails", async () => {
    const badValue = (e: unknown) => (e as { code?: string }).code?.startsWith("22") === true;
    const { store, writer } = setup({ maxBatchesInFlight: 1, isBadValue: badValue });
    store.unstorable.add(id("t2"));
    const first = writer.submit(pay(0));
    await tick();
    // Queued behind the first batch, so these four go together.
    const batched = [writer.submit(pay(1)), writer.submit(pay(2)), writer.submit([single("g1", "bank", "bob", 2n), single("g2", "bank", "alice", 3n)]), writer.submit(pay(4))];
    const outcomes = await Promise.allSettled([first, ...batched]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(((outcomes[2] as PromiseRejectedResult).reason as { code: string }).code).toBe("22021");
    expect(store.calls.map((c) => c.transfers)).toEqual([1, 5, 1, 1, 2, 1]);
    expect(store.balance("alice").creditsPosted).toBe(1n + 1n + 3n + 1n);
    expect(store.balance("bob").creditsPosted).toBe(2n);
  });

  it("does not split a batch for an error that is not a bad value", async () => {
    const { store, writer } = setup({ maxBatchesInFlight: 1, isBadValue: () => false });
    store.unstorable.add(id("t2"));
    const first = writer.submit(pay(0));
    await tick();
    const outcomes = await Promise.allSettled([first, writer.submit(pay(1)), writer.submit(pay(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "rejected"]);
    expect(store.calls.map((c) => c.transfers)).toEqual([1, 2]);
  });

  it("drains everything queued on close() and refuses new submissions", async () => {
    const { store, writer } = setup({ maxBatchTransfers: 3, maxBatchesInFlight: 1 });
    store.hold();
    const settled: string[] = [];
    const all = Array.from({ length: 10 }, (_, i) => writer.submit(pay(i)).then((r) => settled.push(r[0]!.result)));
    await tick();
    setTimeout(() => store.release(), 20);
    await writer.close();
    expect(settled).toEqual(Array(10).fill("ok"));
    expect(store.balance("alice").creditsPosted).toBe(10n);
    await expect(writer.submit(pay(99))).rejects.toThrow(/closed/);
    await Promise.all(all);
    expect(store.calls.length).toBeGreaterThanOrEqual(4);
  });
});
