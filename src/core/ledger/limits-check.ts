import { addUsage, evaluateLimits } from "../limits/evaluate.js";
import { periodKeys } from "../limits/periods.js";
import type { LimitRefusal, LimitUsage } from "../limits/types.js";
import type { Account, TransferLimits } from "./types.js";

/** What an account has sent in one period ("2026-11-25" or "2026-11"). */
export interface UsageRow {
  accountId: string;
  periodKey: string;
  amountMinor: bigint;
  count: number;
}

export type UsageKey = Pick<UsageRow, "accountId" | "periodKey">;

export const usageKey = (accountId: string, periodKey: string) => `${accountId}|${periodKey}`;

/** The usage rows a payer-limited transfer reads and writes: its day and its month. */
export function usageKeysFor(debitAccountId: string, limits: TransferLimits, now: Date): UsageKey[] {
  const { dayKey, monthKey } = periodKeys(now, limits.timeZone);
  return [
    { accountId: debitAccountId, periodKey: dayKey },
    { accountId: debitAccountId, periodKey: monthKey },
  ];
}

/** A wallet's spendable balance: what it holds posted, less what it has sent or reserved. */
function balanceOf(a: Account): bigint {
  return a.creditsPosted - a.debitsPosted - a.debitsPending;
}

export interface LimitOutcome {
  refusal: LimitRefusal | null;
  /** The usage rows as they would be after this transfer (absent when the payer is not limited). */
  next: UsageRow[];
}

/** Pure: checks one transfer against its limits and gives the payer's usage after it. */
export function checkLimits(
  limits: TransferLimits,
  debit: Account,
  credit: Account,
  amountMinor: bigint,
  usage: Map<string, UsageRow>,
  now: Date,
): LimitOutcome {
  const { dayKey, monthKey } = periodKeys(now, limits.timeZone);
  const day = usage.get(usageKey(debit.id, dayKey)) ?? { accountId: debit.id, periodKey: dayKey, amountMinor: 0n, count: 0 };
  const month = usage.get(usageKey(debit.id, monthKey)) ?? { accountId: debit.id, periodKey: monthKey, amountMinor: 0n, count: 0 };
  const current: LimitUsage = { dayAmountMinor: day.amountMinor, dayCount: day.count, monthAmountMinor: month.amountMinor };
  const decision = evaluateLimits({
    amountMinor,
    payer: limits.payer ? { policy: limits.payer, usage: current } : undefined,
    payee: limits.payee ? { policy: limits.payee, balanceMinor: balanceOf(credit) } : undefined,
  });
  if (!decision.ok) return { refusal: decision, next: [] };
  if (!limits.payer) return { refusal: null, next: [] };
  const after = addUsage(current, amountMinor);
  return {
    refusal: null,
    next: [
      { ...day, amountMinor: after.dayAmountMinor, count: after.dayCount },
      { ...month, amountMinor: after.monthAmountMinor, count: month.count + 1 },
    ],
  };
}
