import { describe, expect, it } from "vitest";
import { addUsage, availableToSend, evaluateLimits } from "../../src/core/limits/evaluate.js";
import { NO_USAGE, type LimitPolicy, type LimitUsage } from "../../src/core/limits/types.js";

const POLICY: LimitPolicy = {
  maxPerTransactionMinor: 10_000n,
  maxDailyAmountMinor: 20_000n,
  maxDailyCount: 3,
  maxMonthlyAmountMinor: 50_000n,
  maxBalanceMinor: 100_000n,
};
const usage = (dayAmountMinor: bigint, dayCount: number, monthAmountMinor: bigint): LimitUsage => ({ dayAmountMinor, dayCount, monthAmountMinor });
const payer = (u: LimitUsage = NO_USAGE) => ({ policy: POLICY, usage: u });

describe("evaluateLimits: the payer's limits", () => {
  it("lets through a transfer within every limit, up to each limit exactly", () => {
    expect(evaluateLimits({ amountMinor: 1n, payer: payer() })).toEqual({ ok: true });
    expect(evaluateLimits({ amountMinor: 10_000n, payer: payer() })).toEqual({ ok: true });
    expect(evaluateLimits({ amountMinor: 10_000n, payer: payer(usage(10_000n, 2, 10_000n)) })).toEqual({ ok: true });
  });

  it("refuses above the per-transaction limit and says what a single transfer may be", () => {
    expect(evaluateLimits({ amountMinor: 10_001n, payer: payer() })).toEqual({
      ok: false, code: "per_transaction_exceeded", limit: 10_000n, remainingMinor: 10_000n, availableMinor: 10_000n, party: "payer",
    });
  });

  it("per transaction: available is lowered by the day's remainder", () => {
    const result = evaluateLimits({ amountMinor: 12_000n, payer: payer(usage(15_000n, 1, 15_000n)) });
    expect(result).toMatchObject({ code: "per_transaction_exceeded", remainingMinor: 10_000n, availableMinor: 5_000n });
  });

  it("refuses once the daily count is used up, with nothing remaining today", () => {
    expect(evaluateLimits({ amountMinor: 1n, payer: payer(usage(300n, 3, 300n)) })).toEqual({
      ok: false, code: "daily_count_exceeded", limit: 3n, remainingMinor: 0n, availableMinor: 0n, party: "payer",
    });
  });

  it("refuses above the daily amount and names the remainder (\"you can send up to … more today\")", () => {
    expect(evaluateLimits({ amountMinor: 6_000n, payer: payer(usage(15_000n, 2, 15_000n)) })).toEqual({
      ok: false, code: "daily_amount_exceeded", limit: 20_000n, remainingMinor: 5_000n, availableMinor: 5_000n, party: "payer",
    });
    expect(evaluateLimits({ amountMinor: 5_000n, payer: payer(usage(15_000n, 2, 15_000n)) })).toEqual({ ok: true });
  });

  it("refuses above the monthly amount even when the day has room", () => {
    expect(evaluateLimits({ amountMinor: 2_001n, payer: payer(usage(0n, 0, 48_000n)) })).toEqual({
      ok: false, code: "monthly_amount_exceeded", limit: 50_000n, remainingMinor: 2_000n, availableMinor: 2_000n, party: "payer",
    });
  });

  it("over both the day's and the month's remainder: the one leaving less is named (the day on a tie)", () => {
    // The month leaves 3,000, the day 8,000: the month stands in the way, not the day.
    const result = evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(12_000n, 1, 47_000n)) });
    expect(result).toMatchObject({ code: "monthly_amount_exceeded", remainingMinor: 3_000n, availableMinor: 3_000n });
    // A month used up while the day has room: not "reached your limit for today".
    expect(evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(12_000n, 1, 50_000n)) })).toMatchObject({ code: "monthly_amount_exceeded", availableMinor: 0n });
    expect(evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(12_000n, 1, 40_000n)) })).toMatchObject({ code: "daily_amount_exceeded", remainingMinor: 8_000n, availableMinor: 8_000n });
    expect(evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(12_000n, 1, 42_000n)) })).toMatchObject({ code: "daily_amount_exceeded", remainingMinor: 8_000n });
  });

  it("checks in a fixed order: per transaction before count before day before month", () => {
    const exhausted = usage(20_000n, 3, 50_000n);
    expect(evaluateLimits({ amountMinor: 10_001n, payer: payer(exhausted) })).toMatchObject({ code: "per_transaction_exceeded" });
    expect(evaluateLimits({ amountMinor: 1n, payer: payer(exhausted) })).toMatchObject({ code: "daily_count_exceeded" });
    expect(evaluateLimits({ amountMinor: 1n, payer: payer(usage(20_000n, 1, 50_000n)) })).toMatchObject({ code: "daily_amount_exceeded" });
  });

  it("never reports a negative remainder when a bank tightened below what was already sent", () => {
    const result = evaluateLimits({ amountMinor: 1n, payer: payer(usage(25_000n, 1, 25_000n)) });
    expect(result).toEqual({ ok: false, code: "daily_amount_exceeded", limit: 20_000n, remainingMinor: 0n, availableMinor: 0n, party: "payer" });
  });

  it("a zero daily count refuses every transfer", () => {
    const result = evaluateLimits({ amountMinor: 1n, payer: { policy: { ...POLICY, maxDailyCount: 0 }, usage: NO_USAGE } });
    expect(result).toMatchObject({ code: "daily_count_exceeded", limit: 0n });
  });
});

describe("evaluateLimits: the payee's balance", () => {
  const payee = (balanceMinor: bigint) => ({ policy: POLICY, balanceMinor });

  it("lets the wallet fill up to its maximum exactly", () => {
    expect(evaluateLimits({ amountMinor: 10_000n, payee: payee(90_000n) })).toEqual({ ok: true });
  });

  it("refuses a transfer that would take the wallet above it, naming the room left", () => {
    expect(evaluateLimits({ amountMinor: 10_001n, payee: payee(90_000n) })).toEqual({
      ok: false, code: "balance_limit_exceeded", limit: 100_000n, remainingMinor: 10_000n, availableMinor: 10_000n, party: "payee",
    });
  });

  it("no cap binds an account that holds no money here (balance null: a card's or bank account's clearing position)", () => {
    expect(evaluateLimits({ amountMinor: 10n ** 12n, payee: { policy: POLICY, balanceMinor: null } })).toEqual({ ok: true });
  });

  it("a wallet already above its maximum (the bank lowered it) has no room, never negative room", () => {
    expect(evaluateLimits({ amountMinor: 1n, payee: payee(150_000n) })).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 0n });
  });

  it("checks the payer first, and available accounts for both sides", () => {
    expect(evaluateLimits({ amountMinor: 10_001n, payer: payer(), payee: payee(99_000n) })).toMatchObject({ code: "per_transaction_exceeded" });
    expect(evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(17_000n, 1, 17_000n)), payee: payee(99_000n) })).toMatchObject({
      code: "daily_amount_exceeded", remainingMinor: 3_000n, availableMinor: 3_000n, party: "payer",
    });
    expect(evaluateLimits({ amountMinor: 2_000n, payer: payer(usage(17_000n, 1, 17_000n)), payee: payee(99_000n) })).toMatchObject({
      code: "balance_limit_exceeded", remainingMinor: 1_000n, availableMinor: 1_000n, party: "payee",
    });
  });
});

describe("evaluateLimits: edges", () => {
  it("passes a transfer with neither side limited, and non-positive amounts (the ledger refuses those)", () => {
    expect(evaluateLimits({ amountMinor: 10n ** 15n })).toEqual({ ok: true });
    expect(evaluateLimits({ amountMinor: 0n, payer: payer(usage(20_000n, 3, 50_000n)) })).toEqual({ ok: true });
  });

  it("addUsage adds one transfer to the day and the month", () => {
    expect(addUsage(usage(100n, 1, 500n), 50n)).toEqual(usage(150n, 2, 550n));
  });

  it("availableToSend is the tightest of the per-transaction, day and month remainders", () => {
    expect(availableToSend(POLICY, NO_USAGE)).toBe(10_000n);
    expect(availableToSend(POLICY, usage(14_000n, 1, 14_000n))).toBe(6_000n);
    expect(availableToSend(POLICY, usage(0n, 0, 49_500n))).toBe(500n);
    expect(availableToSend(POLICY, usage(0n, 3, 0n))).toBe(0n);
  });

  it("a sequence of transfers never sums past the daily limit", () => {
    let u: LimitUsage = NO_USAGE;
    let sent = 0n;
    for (let i = 0; i < 10; i++) {
      const decision = evaluateLimits({ amountMinor: 7_000n, payer: payer(u) });
      if (decision.ok) {
        u = addUsage(u, 7_000n);
        sent += 7_000n;
      }
    }
    expect(sent).toBe(14_000n);
    expect(sent <= POLICY.maxDailyAmountMinor).toBe(true);
  });
});

describe("evaluateLimits: the payee's inbound limits", () => {
  const TIGHT: LimitPolicy = { ...POLICY, maxDailyAmountMinor: 8_000n, maxDailyCount: 2 };
  const payee = (inbound?: LimitUsage, balanceMinor = 0n, policy: LimitPolicy = POLICY) => ({ policy, balanceMinor, inbound });

  it("without inbound usage only the payee's balance cap applies (a customer wallet's policy)", () => {
    expect(evaluateLimits({ amountMinor: 50_000n, payee: payee(undefined) })).toEqual({ ok: true });
  });

  it("refuses past the payee's daily amount and names what it may still receive today", () => {
    expect(evaluateLimits({ amountMinor: 6_000n, payee: payee(usage(15_000n, 1, 15_000n)) })).toEqual({
      ok: false, code: "daily_amount_exceeded", limit: 20_000n, remainingMinor: 5_000n, availableMinor: 5_000n, party: "payee",
    });
    expect(evaluateLimits({ amountMinor: 5_000n, payee: payee(usage(15_000n, 1, 15_000n)) })).toEqual({ ok: true });
  });

  it("refuses past the payee's daily count, per transaction and month, in the payer's order", () => {
    expect(evaluateLimits({ amountMinor: 1n, payee: payee(usage(300n, 3, 300n)) })).toMatchObject({ code: "daily_count_exceeded", remainingMinor: 0n });
    expect(evaluateLimits({ amountMinor: 10_001n, payee: payee(usage(300n, 3, 300n)) })).toMatchObject({ code: "per_transaction_exceeded" });
    expect(evaluateLimits({ amountMinor: 2_000n, payee: payee(usage(0n, 0, 49_000n)) })).toMatchObject({ code: "monthly_amount_exceeded", remainingMinor: 1_000n });
  });

  it("the payer's refusal comes first; the payee's daily limit before its balance cap", () => {
    const both = evaluateLimits({ amountMinor: 9_000n, payer: payer(usage(15_000n, 1, 15_000n)), payee: payee(usage(0n, 0, 0n), 0n, TIGHT) });
    expect(both).toMatchObject({ code: "daily_amount_exceeded", limit: 20_000n, remainingMinor: 5_000n, party: "payer" });
    const payeeDay = evaluateLimits({ amountMinor: 9_000n, payee: payee(usage(0n, 0, 0n), 99_000n, TIGHT) });
    expect(payeeDay).toMatchObject({ code: "daily_amount_exceeded", limit: 8_000n, remainingMinor: 8_000n, party: "payee" });
  });

  it("a payee refusal comes only when the payer's limits let the amount through", () => {
    // The payer has 6,000 left today; the payee has received 4,000 of its 8,000.
    const refused = evaluateLimits({ amountMinor: 5_000n, payer: payer(usage(14_000n, 1, 14_000n)), payee: payee(usage(4_000n, 1, 4_000n), 0n, TIGHT) });
    expect(refused).toMatchObject({ code: "daily_amount_exceeded", limit: 8_000n, remainingMinor: 4_000n, availableMinor: 4_000n });
    expect(evaluateLimits({ amountMinor: 4_000n, payer: payer(usage(14_000n, 1, 14_000n)), payee: payee(usage(4_000n, 1, 4_000n), 0n, TIGHT) })).toEqual({ ok: true });
  });

  it("with inbound room left, the balance cap still refuses what would take the payee above it", () => {
    const capped = evaluateLimits({ amountMinor: 3_000n, payee: payee(usage(5_000n, 1, 5_000n), 98_000n, TIGHT) });
    expect(capped).toMatchObject({ code: "balance_limit_exceeded", remainingMinor: 2_000n, availableMinor: 2_000n });
  });
});
