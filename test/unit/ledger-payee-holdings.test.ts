// A payee's balance cap is the customer's: it binds the credit account's holding plus that of the
// customer's other wallets that the transfer's limits list (payeeHoldingAccountIds). Pure parts:
// validation, checkLimits, decideBatch and the keys the writer locks.
import { describe, expect, it } from "vitest";
import { decideBatch } from "../../src/core/ledger/decide.js";
import { checkLimits } from "../../src/core/ledger/limits-check.js";
import { MAX_INSTRUMENTS_PER_CUSTOMER } from "../../src/core/directory/types.js";
import { AccountFlags, MAX_PAYEE_HOLDING_ACCOUNTS, type Account, type TransferInput, type TransferLimits } from "../../src/core/ledger/types.js";
import { validateTransfer } from "../../src/core/ledger/validate.js";
import { keysOf } from "../../src/core/ledger/writer.js";
import { CAP_1000, account, id, pending, single, snapshot } from "../helpers/ledger-fixtures.js";

const NOW = new Date("2026-11-28T10:00:00Z");
const WALLET = AccountFlags.debitsMustNotExceedCredits;

const capped = (others: string[] | undefined, extra: Partial<TransferLimits> = {}): TransferLimits => ({
  timeZone: "UTC",
  payee: CAP_1000,
  ...(others === undefined ? {} : { payeeHoldingAccountIds: others }),
  ...extra,
});

/** A wallet holding `minor` (posted credits). */
const wallet = (name: string, minor: bigint, fields: Partial<Account> = {}) => account(name, { flags: WALLET, creditsPosted: minor, ...fields });
const bank = account("bank", { kind: "bank" });

function check(limits: TransferLimits, credit: Account, amountMinor: bigint, others: Account[] = []) {
  const accounts = new Map([bank, credit, ...others].map((a) => [a.id, a]));
  return checkLimits(limits, bank, credit, amountMinor, new Map(), NOW, accounts).refusal;
}

describe("validateTransfer: payeeHoldingAccountIds", () => {
  it("takes every other wallet a customer may have: raising the instrument limit past it would refuse their payments", () => {
    expect(MAX_PAYEE_HOLDING_ACCOUNTS).toBeGreaterThanOrEqual(MAX_INSTRUMENTS_PER_CUSTOMER - 1);
  });

  const pay = (limits: TransferLimits) => single("t", "bank", "b", 1n, { limits });

  it("takes a list of distinct UUIDs beside a payee policy, an empty one too", () => {
    expect(validateTransfer(pay(capped([id("a"), id("c")])))).toBeNull();
    expect(validateTransfer(pay(capped([])))).toBeNull();
    expect(validateTransfer(pay(capped(Array.from({ length: 10 }, (_, i) => id(`w${i}`)))))).toBeNull();
  });

  it("refuses malformed ids, repeats, the transfer's own accounts, more than 10, a list without a payee policy", () => {
    const bad: [string, TransferLimits][] = [
      ["not a UUID", capped(["a"])],
      ["upper-case UUID", capped([id("a").toUpperCase()])],
      ["nil UUID", capped(["00000000-0000-0000-0000-000000000000"])],
      ["not a string", capped([42 as unknown as string])],
      ["repeated", capped([id("a"), id("a")])],
      ["the credit account", capped([id("a"), id("b")])],
      ["the debit account", capped([id("bank")])],
      ["11 ids", capped(Array.from({ length: 11 }, (_, i) => id(`w${i}`)))],
      ["no payee policy", { timeZone: "UTC", payer: CAP_1000, payeeHoldingAccountIds: [id("a")] }],
      ["not a list", capped(id("a") as unknown as string[])],
    ];
    for (const [why, limits] of bad) expect(validateTransfer(pay(limits)), why).toBe("invalid_limits");
  });

  it("is refused on a post or void, which carry no limits at all", () => {
    expect(validateTransfer({ id: id("p"), kind: "post", pendingId: id("h"), code: "settle", limits: capped([id("a")]) })).toBe("invalid_limits");
  });
});

describe("checkLimits: the cap binds the customer's wallets together", () => {
  const b = wallet("b", 400n);
  const a = wallet("a", 500n);

  it("counts the listed wallets' holdings with the credit account's", () => {
    expect(check(capped([a.id]), b, 100n, [a])).toBeNull();
    const refusal = check(capped([a.id]), b, 101n, [a]);
    expect(refusal).toMatchObject({ ok: false, code: "balance_limit_exceeded", party: "payee", limit: 1_000n, remainingMinor: 100n, availableMinor: 100n });
    // Without the list only the credit account counts, as before: 600 of room.
    expect(check(capped(undefined), b, 600n, [a])).toBeNull();
    expect(check(capped(undefined), b, 601n, [a])).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 600n });
  });

  it("counts a listed wallet's pending credits and not its pending debits, as for the credit account", () => {
    const reserved = wallet("a", 500n, { creditsPending: 200n, debitsPending: 300n });
    expect(check(capped([reserved.id]), b, 100n, [reserved])).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 0n });
    const spent = wallet("a", 500n, { debitsPosted: 300n });
    expect(check(capped([spent.id]), b, 400n, [spent])).toBeNull();
    expect(check(capped([spent.id]), b, 401n, [spent])).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 400n });
  });

  it("counts nothing for listed accounts that mirror money elsewhere, are in another currency or are missing", () => {
    const card = account("card", { kind: "instrument", flags: 0, creditsPosted: 5_000n });
    const dollars = wallet("usd", 5_000n, { currency: "USD" });
    expect(check(capped([card.id, dollars.id, id("missing")]), b, 600n, [card, dollars])).toBeNull();
    expect(check(capped([card.id, dollars.id, id("missing")]), b, 601n, [card, dollars])).toMatchObject({ code: "balance_limit_exceeded" });
  });

  it("does not cap a payment into an account that holds nothing here (a card), whatever the wallets hold", () => {
    const card = account("card", { kind: "instrument", flags: 0 });
    const full = wallet("a", 1_000n);
    expect(check(capped([full.id]), card, 500n, [full])).toBeNull();
  });

  it("refuses when the wallets together are already over the cap (a cap lowered, or wallets merged), with no room", () => {
    const over = wallet("a", 900n);
    expect(check(capped([over.id]), b, 1n, [over])).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 0n, availableMinor: 0n });
  });
});

describe("decideBatch with the payee's other wallets", () => {
  const limitsFor = (credit: string, other: string) => ({ limits: capped([id(other)]), creditAccountId: id(credit) });

  it("counts what earlier transfers of the same batch put into the other wallet", () => {
    const snap = snapshot({ accounts: [account("bank", { kind: "bank" }), wallet("a", 300n), wallet("b", 300n)] });
    const groups: TransferInput[][] = [
      [single("x", "bank", "a", 300n, limitsFor("a", "b"))],
      [single("y", "bank", "b", 100n, limitsFor("b", "a"))],
      [single("z", "bank", "b", 101n, limitsFor("b", "a"))],
    ];
    const decision = decideBatch(snap, groups, NOW);
    expect(decision.results.map((g) => g[0]!.result)).toEqual(["ok", "ok", "balance_limit_exceeded"]);
    expect(decision.results[2]![0]!.limit).toMatchObject({ party: "payee", remainingMinor: 0n });
    // The other wallet is read, not written: only the accounts that moved are in the decision.
    expect(decision.accounts.map((a) => a.id).sort()).toEqual([id("a"), id("b"), id("bank")].sort());
    expect(decision.failures.map((f) => [f.id, f.result, f.limitParty])).toEqual([[id("z"), "balance_limit_exceeded", "payee"]]);
  });

  it("a pending into one wallet reserves the customer's room in the other", () => {
    const snap = snapshot({ accounts: [account("bank", { kind: "bank" }), wallet("a", 0n), wallet("b", 0n)] });
    const decision = decideBatch(snap, [[pending("h", "bank", "a", 700n, limitsFor("a", "b"))], [single("y", "bank", "b", 301n, limitsFor("b", "a"))]], NOW);
    expect(decision.results.map((g) => g[0]!.result)).toEqual(["ok", "balance_limit_exceeded"]);
  });

  it("keeps the privacy order: a payer who cannot fund the payment hears that, not the payee's room", () => {
    const payer = wallet("payer", 50n);
    const snap = snapshot({ accounts: [payer, wallet("a", 900n), wallet("b", 0n)] });
    const over = single("y", "payer", "b", 200n, limitsFor("b", "a"));
    const decision = decideBatch(snap, [[over]], NOW);
    expect(decision.results[0]).toEqual([{ id: id("y"), result: "exceeds_credits" }]);
    // Funded, the payee's cap answers, its room told only as the payee's.
    const rich = snapshot({ accounts: [wallet("payer", 5_000n), wallet("a", 900n), wallet("b", 0n)] });
    expect(decideBatch(rich, [[over]], NOW).results[0]![0]).toMatchObject({ result: "balance_limit_exceeded", limit: { party: "payee", remainingMinor: 100n } });
  });
});

describe("keysOf: the payee's other wallets are locked", () => {
  it("adds them to the accounts (not the counters) beside a payee policy, skipping what is not a UUID", () => {
    const t = single("t", "bank", "b", 1n, { limits: capped([id("a"), id("c")]) });
    const keys = keysOf([[t]], NOW);
    expect(keys.accountIds.sort()).toEqual([id("bank"), id("b"), id("a"), id("c")].sort());
    expect(keys.usageKeys).toEqual([]);
    const odd = single("u", "bank", "b", 1n, { limits: capped([id("a"), "nope"]) });
    expect(keysOf([[odd]], NOW).accountIds.sort()).toEqual([id("bank"), id("b"), id("a")].sort());
  });

  it("leaves them out without a payee policy, or when the list is longer than validation allows", () => {
    const none = single("t", "bank", "b", 1n, { limits: { timeZone: "UTC", payer: CAP_1000, payeeHoldingAccountIds: [id("a")] } });
    expect(keysOf([[none]], NOW).accountIds).not.toContain(id("a"));
    const long = single("u", "bank", "b", 1n, { limits: capped(Array.from({ length: 11 }, (_, i) => id(`w${i}`))) });
    expect(keysOf([[long]], NOW).accountIds.sort()).toEqual([id("bank"), id("b")].sort());
  });
});
