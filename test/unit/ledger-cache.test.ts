// The store's copies of accounts and limit counters: what a batch may be decided on without
// reading, and what is forgotten or held back after a conflict.
import { describe, expect, it } from "vitest";
import type { BatchKeys, LedgerSnapshot } from "../../src/core/ledger/snapshot.js";
import type { Account } from "../../src/core/ledger/types.js";
import { LedgerCache } from "../../src/infra/db/ledger-cache.js";

const A = "0190a000-0000-7000-8000-00000000000a";
const B = "0190a000-0000-7000-8000-00000000000b";
const C = "0190a000-0000-7000-8000-00000000000c";

function account(id: string, creditsPosted = 100n): Account {
  return {
    id,
    institutionId: "0190a000-0000-7000-8000-000000000001",
    currency: "KES",
    kind: "customer_wallet",
    ownerRef: null,
    status: "active",
    flags: 1,
    debitsPending: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    creditsPosted,
  };
}

/** Versions for remember(): none of these tests depends on them but the one that says so. */
const ZERO = [0n, 0n, 0n];

const keys = (accountIds: string[], more: Partial<BatchKeys> = {}): BatchKeys => ({ transferIds: [], accountIds, pendingIds: [], ...more });

function snapshotOf(accounts: Account[], usage: LedgerSnapshot["usage"] = new Map()): LedgerSnapshot {
  return { accounts: new Map(accounts.map((a) => [a.id, a])), existing: new Map(), pendings: new Map(), usage };
}

describe("LedgerCache", () => {
  it("answers only when every account of the batch is remembered", () => {
    const cache = new LedgerCache();
    expect(cache.snapshotFor(keys([A, B]))).toBeNull();
    cache.remember(keys([A]), snapshotOf([account(A)]), ZERO);
    expect(cache.snapshotFor(keys([A, B]))).toBeNull();
    cache.remember(keys([B]), snapshotOf([account(B, 7n)]), ZERO);
    const cached = cache.snapshotFor(keys([A, B]))!;
    expect([...cached.snapshot.accounts.keys()]).toEqual([A, B]);
    expect(cached.snapshot.accounts.get(B)!.creditsPosted).toBe(7n);
    expect(cached.snapshot.existing.size).toBe(0);
    expect(cached.versions).toEqual([0n, 0n]);
  });

  it("lends the cached accounts to the batch: confirmed, they are the new state at the next version; forgotten, they are read again", () => {
    const cache = new LedgerCache();
    cache.remember(keys([A]), snapshotOf([account(A)]), [4n]);
    const first = cache.snapshotFor(keys([A]))!;
    first.snapshot.accounts.get(A)!.debitsPosted = 60n; // as decide does
    cache.confirm(first, keys([A]), true);
    const second = cache.snapshotFor(keys([A]))!;
    expect(second.snapshot.accounts.get(A)!.debitsPosted).toBe(60n);
    expect(second.versions).toEqual([5n]);
    // A batch that wrote nothing leaves the version.
    cache.confirm(second, keys([A]), false);
    expect(cache.snapshotFor(keys([A]))!.versions).toEqual([5n]);
    // A failed batch's accounts, changed by its decision, are dropped.
    cache.snapshotFor(keys([A]))!.snapshot.accounts.get(A)!.debitsPosted = 999n;
    cache.forget(keys([A]));
    expect(cache.snapshotFor(keys([A]))).toBeNull();
  });

  it("gives the row versions the commit left, in id order with the accounts", () => {
    const cache = new LedgerCache();
    cache.remember(keys([B, A]), snapshotOf([account(B), account(A)]), [7n, 3n]);
    const cached = cache.snapshotFor(keys([B, A]))!;
    expect([...cached.snapshot.accounts.keys()]).toEqual([A, B]);
    expect(cached.versions).toEqual([3n, 7n]);
  });

  it("never answers for a batch that settles a pending (pendings are read from the database)", () => {
    const cache = new LedgerCache();
    cache.remember(keys([A, B]), snapshotOf([account(A), account(B)]), ZERO);
    expect(cache.snapshotFor(keys([A, B], { pendingIds: [C] }))).toBeNull();
  });

  it("answers for limited transfers only when their counters are remembered; a counter with no row is remembered as zero", () => {
    const cache = new LedgerCache();
    const day = { accountId: A, periodKey: "2026-11-26" };
    const month = { accountId: A, periodKey: "2026-11" };
    cache.remember(keys([A, B]), snapshotOf([account(A), account(B)]), ZERO);
    expect(cache.snapshotFor(keys([A, B], { usageKeys: [day, month] }))).toBeNull();
    const counted = new Map([[`${A}|2026-11`, { ...month, amountMinor: 500n, count: 2 }]]);
    cache.remember(keys([A, B], { usageKeys: [day, month] }), snapshotOf([account(A), account(B)], counted), ZERO);
    const usage = cache.snapshotFor(keys([A, B], { usageKeys: [day, month] }))!.snapshot.usage!;
    expect(usage.get(`${A}|2026-11`)).toEqual({ ...month, amountMinor: 500n, count: 2 });
    expect(usage.get(`${A}|2026-11-26`)).toEqual({ ...day, amountMinor: 0n, count: 0 });
    // Tomorrow's counter is not known: read under lock first.
    expect(cache.snapshotFor(keys([A, B], { usageKeys: [{ accountId: A, periodKey: "2026-11-27" }] }))).toBeNull();
  });

  it("keeps counters only with the account version they were read or written with", () => {
    const cache = new LedgerCache();
    const day = { accountId: A, periodKey: "2026-11-26" };
    const inbound = { accountId: A, periodKey: "2026-11-26:in" };
    const counted = new Map([[`${A}|2026-11-26`, { ...day, amountMinor: 100n, count: 1 }]]);
    cache.remember(keys([A, B], { usageKeys: [day, inbound] }), snapshotOf([account(A), account(B)], counted), ZERO);
    // Written on the cached path (its write found A at its version): A's other counters still hold,
    // and the batch's own are added.
    const cached = cache.snapshotFor(keys([A, B], { usageKeys: [inbound] }))!;
    cached.snapshot.usage!.set(`${A}|2026-11-26:in`, { ...inbound, amountMinor: 7n, count: 1 });
    cache.confirm(cached, keys([A, B], { usageKeys: [inbound] }), true);
    const both = cache.snapshotFor(keys([A], { usageKeys: [day, inbound] }))!.snapshot.usage!;
    expect(both.get(`${A}|2026-11-26`)!.amountMinor).toBe(100n);
    expect(both.get(`${A}|2026-11-26:in`)!.amountMinor).toBe(7n);
    // A version of A read under lock without those counters (another process may have sent from A
    // meanwhile, changing both) drops them: the next limited batch reads them under lock.
    cache.remember(keys([A, C]), snapshotOf([account(A, 80n), account(C)]), ZERO);
    expect(cache.snapshotFor(keys([A]))).not.toBeNull();
    expect(cache.snapshotFor(keys([A], { usageKeys: [day] }))).toBeNull();
  });

  it("a batch locked at the very version cached keeps the account's other counters; locked at another, drops them", () => {
    const cache = new LedgerCache();
    const day = { accountId: A, periodKey: "2026-11-26" };
    const inbound = { accountId: A, periodKey: "2026-11-26:in" };
    cache.remember(keys([A, B], { usageKeys: [day] }), snapshotOf([account(A), account(B)], new Map([[`${A}|2026-11-26`, { ...day, amountMinor: 100n, count: 1 }]])), [3n, 3n]);
    // A receives on the locked path (its inbound counter was not cached): locked at 3, written to 4.
    const received = new Map([[`${A}|2026-11-26:in`, { ...inbound, amountMinor: 7n, count: 1 }]]);
    cache.remember(keys([C, A], { usageKeys: [inbound] }), snapshotOf([account(C), account(A, 7n)], received), [9n, 4n], 1n);
    const both = cache.snapshotFor(keys([A], { usageKeys: [day, inbound] }))!;
    expect(both.versions).toEqual([4n]);
    expect(both.snapshot.usage!.get(`${A}|2026-11-26`)!.amountMinor).toBe(100n);
    expect(both.snapshot.usage!.get(`${A}|2026-11-26:in`)!.amountMinor).toBe(7n);
    // Locked at 6 (another process wrote A twice meanwhile): what was counted at 4 may be stale.
    cache.remember(keys([C, A]), snapshotOf([account(C), account(A, 9n)]), [12n, 7n], 1n);
    expect(cache.snapshotFor(keys([A]))!.versions).toEqual([7n]);
    expect(cache.snapshotFor(keys([A], { usageKeys: [day] }))).toBeNull();
    expect(cache.snapshotFor(keys([A], { usageKeys: [inbound] }))).toBeNull();
  });

  it("forgets a failed batch's accounts and counters", () => {
    const cache = new LedgerCache();
    const day = { accountId: A, periodKey: "2026-11-26" };
    cache.remember(keys([A, B], { usageKeys: [day] }), snapshotOf([account(A), account(B)]), ZERO);
    cache.forget(keys([A], { usageKeys: [day] }));
    expect(cache.snapshotFor(keys([A]))).toBeNull();
    expect(cache.snapshotFor(keys([B]))).not.toBeNull();
    cache.remember(keys([A]), snapshotOf([account(A)]), ZERO);
    expect(cache.snapshotFor(keys([A, B], { usageKeys: [day] }))).toBeNull();
  });

  it("does not remember the accounts of a conflicted batch until they have cooled", () => {
    let now = 1_000;
    const cache = new LedgerCache(100, 5_000, () => now);
    cache.remember(keys([A, B]), snapshotOf([account(A), account(B)]), ZERO);
    cache.forget(keys([A]), true);
    cache.remember(keys([A, B]), snapshotOf([account(A), account(B)]), ZERO);
    expect(cache.snapshotFor(keys([A]))).toBeNull();
    expect(cache.snapshotFor(keys([B]))).not.toBeNull();
    now += 5_001;
    cache.remember(keys([A]), snapshotOf([account(A)]), ZERO);
    expect(cache.snapshotFor(keys([A]))).not.toBeNull();
  });

  it("holds at most maxEntries accounts, dropping the longest held", () => {
    const cache = new LedgerCache(2);
    cache.remember(keys([A, B]), snapshotOf([account(A), account(B)]), ZERO);
    cache.remember(keys([C]), snapshotOf([account(C)]), ZERO);
    expect(cache.snapshotFor(keys([A]))).toBeNull();
    expect(cache.snapshotFor(keys([B, C]))).not.toBeNull();
  });
});
