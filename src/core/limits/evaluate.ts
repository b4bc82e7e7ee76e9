import type { LimitCode, LimitDecision, LimitPolicy, LimitRefusal, LimitUsage } from "./types.js";

/**
 * Everything the check needs, as plain values loaded with the accounts locked. The payer side is
 * omitted when the debit account is not a limited customer wallet (an agent's float, the bank);
 * the payee side when the credit account is not one.
 */
export interface LimitCheck {
  amountMinor: bigint;
  payer?: { policy: LimitPolicy; usage: LimitUsage };
  /**
   * balanceMinor: what the payee could come to hold before this transfer (posted and pending
   * credits less posted debits: see the ledger's limits-check); null when the account holds no
   * money here (a clearing position for a card or bank account), which no balance cap binds. inbound: what the payee has received so far this day and month, present only when
   * the policy also bounds money coming in (an agent's float); then the policy's per-transaction,
   * daily and monthly figures apply to receiving as they apply to a payer's sending.
   */
  payee?: { policy: LimitPolicy; balanceMinor: bigint | null; inbound?: LimitUsage };
}

const OK: LimitDecision = Object.freeze({ ok: true });

const nonNegative = (v: bigint): bigint => (v > 0n ? v : 0n);
const min = (...values: bigint[]): bigint => values.reduce((a, b) => (b < a ? b : a));

/**
 * The most the payer may send in one transfer right now under every one of their limits. A
 * policy tightened below what was already sent today gives 0, never a negative number.
 */
export function availableToSend(policy: LimitPolicy, usage: LimitUsage): bigint {
  if (usage.dayCount >= policy.maxDailyCount) return 0n;
  return nonNegative(
    min(
      policy.maxPerTransactionMinor,
      policy.maxDailyAmountMinor - usage.dayAmountMinor,
      policy.maxMonthlyAmountMinor - usage.monthAmountMinor,
    ),
  );
}

/**
 * Pure: decides whether one transfer fits its payer's and payee's limits. Checks run in a fixed
 * order (the payer's per transaction, daily count, then the daily and monthly amounts, of which the
 * one leaving less is named, the day on a tie; then the same on the payee's inbound usage when it
 * has one; then the payee balance) and the first that fails is the refusal, so the same inputs
 * always name the same limit. The ledger refuses
 * non-positive amounts before this is asked; they pass here because they move nothing.
 */
export function evaluateLimits(check: LimitCheck): LimitDecision {
  const amount = check.amountMinor;
  if (amount <= 0n) return OK;
  if (check.payer) {
    const refusal = checkPayer(check.payer.policy, check.payer.usage, amount, "payer");
    if (refusal) return refusal;
  }
  if (check.payee) {
    const payerRoom = check.payer ? availableToSend(check.payer.policy, check.payer.usage) : null;
    const inbound = check.payee.inbound;
    if (inbound) {
      const refused = checkPayer(check.payee.policy, inbound, amount, "payee");
      // What remains is the payee's; what may go through now is also bounded by the payer.
      if (refused) return payerRoom === null ? refused : { ...refused, availableMinor: min(refused.availableMinor, payerRoom) };
    }
    if (check.payee.balanceMinor === null) return OK;
    const room = nonNegative(check.payee.policy.maxBalanceMinor - check.payee.balanceMinor);
    if (amount > room) {
      const inboundRoom = inbound ? availableToSend(check.payee.policy, inbound) : room;
      return refusal("balance_limit_exceeded", check.payee.policy.maxBalanceMinor, room, min(room, payerRoom ?? room, inboundRoom), "payee");
    }
  }
  return OK;
}

/** One side's per-transaction, daily count, daily and monthly limits on what it sends (or, for a float, receives). */
function checkPayer(policy: LimitPolicy, usage: LimitUsage, amount: bigint, party: LimitRefusal["party"]): LimitRefusal | null {
  const available = availableToSend(policy, usage);
  if (amount > policy.maxPerTransactionMinor) {
    return refusal("per_transaction_exceeded", policy.maxPerTransactionMinor, policy.maxPerTransactionMinor, available, party);
  }
  if (usage.dayCount >= policy.maxDailyCount) return refusal("daily_count_exceeded", BigInt(policy.maxDailyCount), 0n, 0n, party);
  const dayLeft = nonNegative(policy.maxDailyAmountMinor - usage.dayAmountMinor);
  const monthLeft = nonNegative(policy.maxMonthlyAmountMinor - usage.monthAmountMinor);
  if (amount <= dayLeft && amount <= monthLeft) return null;
  // Over both: the month is named when it leaves less than the day. Named as the day's, a month
  // used up read "you have reached your limit for today", and tomorrow refused the customer again.
  if (monthLeft < dayLeft) return refusal("monthly_amount_exceeded", policy.maxMonthlyAmountMinor, monthLeft, available, party);
  return refusal("daily_amount_exceeded", policy.maxDailyAmountMinor, dayLeft, available, party);
}

function refusal(code: LimitCode, limit: bigint, remainingMinor: bigint, availableMinor: bigint, party: LimitRefusal["party"]): LimitRefusal {
  return { ok: false, code, limit, remainingMinor, availableMinor: min(availableMinor, remainingMinor), party };
}

/** The payer's usage after a transfer that passed: what the lead's counters store next. */
export function addUsage(usage: LimitUsage, amountMinor: bigint): LimitUsage {
  return {
    dayAmountMinor: usage.dayAmountMinor + amountMinor,
    dayCount: usage.dayCount + 1,
    monthAmountMinor: usage.monthAmountMinor + amountMinor,
  };
}
