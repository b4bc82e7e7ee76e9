// Pure tests: a pending that counted limit usage gives back what it does not send when it is
// voided, expires or is posted for less, to the rows it counted (payer and inbound ":in" alike).
import { describe, expect, it } from "vitest";
import { decideBatch } from "../../src/core/ledger/decide.js";
import { usageKey } from "../../src/core/ledger/limits-check.js";
import type { LedgerSnapshot } from "../../src/core/ledger/snapshot.js";
import { AccountFlags, type TransferInput, type TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { account, advance, id, pending, post, single, snapshot, voidOf } from "../helpers/ledger-fixtures.js";

// In UTC the day is "2026-01-01" and the month "2026-01"; the day after is "2026-01-02".
const NOW = new Date("2026-01-01T12:00:00.000Z");
const NEXT_DAY = new Date("2026-01-02T09:00:00.000Z");
const WALLET = AccountFlags.debitsMustNotExceedCredits;
const policy: LimitPolicy = { maxPerTransactionMinor: 1_000n, maxDailyAmountMinor: 1_000n, maxDailyCount: 5, maxMonthlyAmountMinor: 5_000n, maxBalanceMinor: 100_000n };
const payer: TransferLimits = { timeZone: "UTC", payer: policy };
const both: TransferLimits = { timeZone: "UTC", payer: policy, payee: policy, payeeInbound: true };

function start(): LedgerSnapshot {
  return snapshot({ accounts: [account("alice", { flags: WALLET, creditsPosted: 5_000n }), account("bob", { flags: WALLET })] });
}

/** Decides one batch and returns the snapshot a later batch would see. */
function step(snap: LedgerSnapshot, groups: TransferInput[][], now = NOW) {
  const decision = decideBatch(snap, groups, now);
  return { decision, next: advance(snap, decision), codes: decision.results.flat().map((r) => r.result) };
}

/** Amount and count of a usage row, as "amount/count"; "-" when it was never written. */
function usageOf(snap: LedgerSnapshot, name: string, periodKey: string): string {
  const row = snap.usage?.get(usageKey(id(name), periodKey));
  return row ? `${row.amountMinor}/${row.count}` : "-";
}

/** alice holds 600 towards bob with `limits`, in a batch of its own. */
function held(limits: TransferLimits = payer) {
  const { decision, next, codes } = step(start(), [[pending("h", "alice", "bob", 600n, { limits, timeoutSec: 300 })]]);
  expect(codes).toEqual(["ok"]);
  return { decision, next };
}

describe("decideBatch: usage a pending counted is given back", () => {
  it("records which rows a limited pending counted, and none for a pending without limits", () => {
    const { decision } = held(both);
    const keys = decision.counted!.map((c) => `${c.transferId === id("h") ? "h" : "?"} ${c.accountId === id("bob") ? "bob" : "alice"} ${c.periodKey}`);
    expect(keys.sort()).toEqual(["h alice 2026-01", "h alice 2026-01-01", "h bob 2026-01-01:in", "h bob 2026-01:in"]);
    expect(step(start(), [[pending("p", "alice", "bob", 600n)]]).decision.counted).toEqual([]);
    expect(step(start(), [[single("s", "alice", "bob", 600n, { limits: payer })]]).decision.counted).toEqual([]);
  });

  it("gives amount and count back on a void, so the whole daily limit can be sent again", () => {
    const { next } = held();
    expect(usageOf(next, "alice", "2026-01-01")).toBe("600/1");
    const voided = step(next, [[voidOf("v", "h")]]);
    expect(voided.codes).toEqual(["ok"]);
    expect(usageOf(voided.next, "alice", "2026-01-01")).toBe("0/0");
    expect(usageOf(voided.next, "alice", "2026-01")).toBe("0/0");
    expect(step(voided.next, [[single("s", "alice", "bob", 1_000n, { limits: payer })]]).codes).toEqual(["ok"]);
  });

  it("gives usage back on the expiry sweep's void, to the day the pending was made", () => {
    const { next } = held();
    const swept = step(next, [[voidOf("x", "h", { expiry: true, code: "expiry" })]], NEXT_DAY);
    expect(swept.codes).toEqual(["ok"]);
    expect(usageOf(swept.next, "alice", "2026-01-01")).toBe("0/0");
    expect(usageOf(swept.next, "alice", "2026-01-02")).toBe("-");
  });

  it("gives back the difference, not the count, on a post for less; nothing on a post in full", () => {
    const { next } = held();
    const partial = step(next, [[post("p", "h", { amountMinor: 250n })]]);
    expect(partial.codes).toEqual(["ok"]);
    expect(usageOf(partial.next, "alice", "2026-01-01")).toBe("250/1");
    expect(usageOf(partial.next, "alice", "2026-01")).toBe("250/1");
    const full = step(held().next, [[post("p", "h")]]);
    expect(full.codes).toEqual(["ok"]);
    expect(full.decision.usage).toEqual([]);
  });

  it("gives back the payee's inbound rows too", () => {
    const { next } = held(both);
    const voided = step(next, [[voidOf("v", "h")]]);
    expect(usageOf(voided.next, "bob", "2026-01-01:in")).toBe("0/0");
    expect(usageOf(voided.next, "bob", "2026-01:in")).toBe("0/0");
    expect(usageOf(voided.next, "alice", "2026-01-01")).toBe("0/0");
  });

  it("gives nothing back twice: a re-submitted void is exists", () => {
    const { next } = held();
    const first = step(next, [[voidOf("v", "h")]]);
    const later = step(first.next, [[single("s", "alice", "bob", 400n, { limits: payer })]]);
    expect(usageOf(later.next, "alice", "2026-01-01")).toBe("400/1");
    const again = step(later.next, [[voidOf("v", "h")]]);
    expect(again.codes).toEqual(["exists"]);
    expect(again.decision.usage).toEqual([]);
    expect(usageOf(again.next, "alice", "2026-01-01")).toBe("400/1");
  });

  it("gives back a pending made and voided in the same batch, and restores it if the group fails", () => {
    const same = step(start(), [[pending("h", "alice", "bob", 600n, { limits: payer })], [voidOf("v", "h")]]);
    expect(same.codes).toEqual(["ok", "ok"]);
    expect(usageOf(same.next, "alice", "2026-01-01")).toBe("0/0");
    const { next } = held();
    // The void's group fails on its second member: the usage stays counted with the pending.
    const failed = step(next, [[voidOf("v", "h"), single("f", "alice", "bob", 9_000n)]]);
    expect(failed.codes).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect(usageOf(failed.next, "alice", "2026-01-01")).toBe("600/1");
  });

  it("forgets a pending whose group failed: a later group of the batch cannot void it or give its usage back", () => {
    const snap = start();
    snap.usage = new Map();
    const decision = decideBatch(snap, [[pending("h", "alice", "bob", 600n, { limits: payer }), voidOf("v", "h"), single("f", "alice", "bob", 9_000n)], [voidOf("v2", "h")]], NOW);
    expect(decision.results.map((g) => g.map((r) => r.result))).toEqual([["linked_event_failed", "linked_event_failed", "exceeds_credits"], ["pending_transfer_not_found"]]);
    expect(decision.transfers).toEqual([]);
    expect(decision.usage).toEqual([]);
  });

  it("gives back nothing for a pending that counted no usage", () => {
    const made = step(start(), [[pending("h", "alice", "bob", 600n)]]);
    made.next.usage = new Map([[usageKey(id("alice"), "2026-01-01"), { accountId: id("alice"), periodKey: "2026-01-01", amountMinor: 600n, count: 1 }]]);
    const voided = step(made.next, [[voidOf("v", "h")]]);
    expect(voided.decision.usage).toEqual([]);
    expect(usageOf(voided.next, "alice", "2026-01-01")).toBe("600/1");
  });
});
