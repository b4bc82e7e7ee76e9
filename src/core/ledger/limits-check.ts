import { addUsage, evaluateLimits } from "../limits/evaluate.js";
import { periodKeys } from "../limits/periods.js";
import type { LimitRefusal, LimitUsage } from "../limits/types.js";
import { AccountFlags, type Account, type TransferLimits } from "./types.js";

/**
 * What an account has sent in one period ("2026-11-25" or "2026-11"), or received when the key
 * ends in INBOUND_SUFFIX ("2026-11-25:in"): only payees whose policy bounds inflow are counted.
 */
export interface UsageRow {
  accountId: string;
  periodKey: string;
  amountMinor: bigint;
  count: number;
}

export type UsageKey = Pick<UsageRow, "accountId" | "periodKey">;

export const INBOUND_SUFFIX = ":in";

export const usageKey = (accountId: string, periodKey: string) => `${accountId}|${periodKey}`;

/**
 * The usage rows a limited transfer reads and writes: the payer's day and month when it has a
 * payer policy (on payerUsageAccountId when given, else the debit account), the payee's inbound
 * day and month when its policy bounds inflow.
 */
export function usageKeysFor(debitAccountId: string, creditAccountId: string, limits: TransferLimits, now: Date): UsageKey[] {
  const { dayKey, monthKey } = periodKeys(now, limits.timeZone);
  const keys: UsageKey[] = [];
  const payer = limits.payerUsageAccountId ?? debitAccountId;
  if (limits.payer) keys.push({ accountId: payer, periodKey: dayKey }, { accountId: payer, periodKey: monthKey });
  if (limits.payee && limits.payeeInbound) {
    keys.push({ accountId: creditAccountId, periodKey: dayKey + INBOUND_SUFFIX }, { accountId: creditAccountId, periodKey: monthKey + INBOUND_SUFFIX });
  }
  return keys;
}

/**
 * What a payee could come to hold, for its balance cap: posted credits plus credits still pending
 * (a hold towards it may post at any time, with no check then), less posted debits only (a
 * pending debit may yet be voided). So a cap holds however the pendings settle, and a pending
 * towards a capped account (an agent's float, a tier-0 wallet) reserves its room when it is made.
 */
function holdingOf(a: Account): bigint | null {
  // Only an account that cannot go negative holds money here; the others mirror money held
  // elsewhere (a card, a bank account), where this ledger's balance says nothing of a cap.
  if ((a.flags & AccountFlags.debitsMustNotExceedCredits) === 0) return null;
  return a.creditsPosted + a.creditsPending - a.debitsPosted;
}

/**
 * What the payee customer could come to hold, for a cap that is the customer's: the credit
 * account's holding plus that of each of its other wallets listed in the limits (found among the
 * batch's locked accounts, as earlier transfers of the batch left them). Null when the credit
 * account holds no money here: the transfer then adds nothing to what the customer holds. Listed
 * accounts that mirror money elsewhere, are missing, or are in another currency (their minor units
 * are not the cap's) count nothing.
 */
function payeeHoldingOf(limits: TransferLimits, credit: Account, accounts: ReadonlyMap<string, Account> | undefined): bigint | null {
  const own = holdingOf(credit);
  const others = limits.payeeHoldingAccountIds;
  if (own === null || others === undefined || accounts === undefined) return own;
  let total = own;
  for (const id of others) {
    const a = accounts.get(id);
    if (a === undefined || a.currency !== credit.currency) continue;
    total += holdingOf(a) ?? 0n;
  }
  return total;
}

export interface LimitOutcome {
  refusal: LimitRefusal | null;
  /** The usage rows as they would be after this transfer (empty when no side is counted). */
  next: UsageRow[];
}

/** One account's day and month rows for a pair of period keys, zero when not yet stored. */
class Counted {
  readonly day: UsageRow;
  readonly month: UsageRow;

  constructor(accountId: string, dayKey: string, monthKey: string, usage: Map<string, UsageRow>) {
    this.day = usage.get(usageKey(accountId, dayKey)) ?? { accountId, periodKey: dayKey, amountMinor: 0n, count: 0 };
    this.month = usage.get(usageKey(accountId, monthKey)) ?? { accountId, periodKey: monthKey, amountMinor: 0n, count: 0 };
  }

  get current(): LimitUsage {
    return { dayAmountMinor: this.day.amountMinor, dayCount: this.day.count, monthAmountMinor: this.month.amountMinor };
  }

  after(amountMinor: bigint): UsageRow[] {
    const next = addUsage(this.current, amountMinor);
    return [
      { ...this.day, amountMinor: next.dayAmountMinor, count: next.dayCount },
      { ...this.month, amountMinor: next.monthAmountMinor, count: this.month.count + 1 },
    ];
  }
}

/**
 * Pure: checks one transfer against its limits and gives the counted sides' usage after it.
 * `accounts` holds the payee's other wallets named by limits.payeeHoldingAccountIds (the batch's
 * locked accounts); without it only the credit account counts for the payee's cap.
 */
export function checkLimits(
  limits: TransferLimits,
  debit: Account,
  credit: Account,
  amountMinor: bigint,
  usage: Map<string, UsageRow>,
  now: Date,
  accounts?: ReadonlyMap<string, Account>,
): LimitOutcome {
  const { dayKey, monthKey } = periodKeys(now, limits.timeZone);
  const sent = limits.payer ? new Counted(limits.payerUsageAccountId ?? debit.id, dayKey, monthKey, usage) : null;
  const received = limits.payee && limits.payeeInbound ? new Counted(credit.id, dayKey + INBOUND_SUFFIX, monthKey + INBOUND_SUFFIX, usage) : null;
  const decision = evaluateLimits({
    amountMinor,
    payer: limits.payer && sent ? { policy: limits.payer, usage: sent.current } : undefined,
    payee: limits.payee ? { policy: limits.payee, balanceMinor: payeeHoldingOf(limits, credit, accounts), inbound: received?.current } : undefined,
  });
  if (!decision.ok) return { refusal: decision, next: [] };
  return { refusal: null, next: [...(sent?.after(amountMinor) ?? []), ...(received?.after(amountMinor) ?? [])] };
}

/**
 * Pure: the rows a pending counted, less what its void, expiry or partial post gives back (the
 * amount not sent; the count too when nothing is sent). A row missing from usage has nothing to
 * give back; a total never goes below zero.
 */
export function givenBack(counted: UsageKey[], usage: Map<string, UsageRow>, amountMinor: bigint, count: number): UsageRow[] {
  return counted.flatMap((k) => {
    const row = usage.get(usageKey(k.accountId, k.periodKey));
    if (!row) return [];
    const amount = row.amountMinor > amountMinor ? row.amountMinor - amountMinor : 0n;
    return [{ ...row, amountMinor: amount, count: Math.max(0, row.count - count) }];
  });
}
