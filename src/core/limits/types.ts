/** Limits vocabulary. Amounts are bigint minor units of the institution's currency. */

/** The channels a bank sets limits for; SMS is the least secure (no session, replayable text). */
export const LIMIT_CHANNELS = ["ussd", "sms", "ivr", "agent", "api"] as const;
export type LimitChannel = (typeof LIMIT_CHANNELS)[number];

/** KYC tiers as the directory stores them: 0 = self-registered by phone, 3 = fully verified. */
export const LIMIT_TIERS = [0, 1, 2, 3] as const;
export type LimitTier = (typeof LIMIT_TIERS)[number];

/** One cell of a bank's matrix: the limits for one channel and one KYC tier. */
export interface LimitPolicy {
  /** Largest single transfer. */
  maxPerTransactionMinor: bigint;
  /** Sum sent per local day (the institution's time zone). */
  maxDailyAmountMinor: bigint;
  /** Transfers sent per local day. */
  maxDailyCount: number;
  /** Sum sent per local calendar month. */
  maxMonthlyAmountMinor: bigint;
  /** Highest balance a wallet of this tier may hold (non-bank e-money is capped by amount). */
  maxBalanceMinor: bigint;
}

export const LIMIT_FIELDS = [
  "maxPerTransactionMinor",
  "maxDailyAmountMinor",
  "maxDailyCount",
  "maxMonthlyAmountMinor",
  "maxBalanceMinor",
] as const satisfies readonly (keyof LimitPolicy)[];

/** What a payer has sent so far in the current local day and month. */
export interface LimitUsage {
  dayAmountMinor: bigint;
  dayCount: number;
  monthAmountMinor: bigint;
}

export const NO_USAGE: LimitUsage = Object.freeze({ dayAmountMinor: 0n, dayCount: 0, monthAmountMinor: 0n });

/** Which limit refused, in the order they are checked. */
export const LIMIT_CODES = [
  "per_transaction_exceeded",
  "daily_count_exceeded",
  "daily_amount_exceeded",
  "monthly_amount_exceeded",
  "balance_limit_exceeded",
] as const;
export type LimitCode = (typeof LIMIT_CODES)[number];

export interface LimitRefusal {
  ok: false;
  code: LimitCode;
  /** The limit that refused: minor units, or a number of transfers for daily_count_exceeded. */
  limit: bigint;
  /**
   * What is left under this limit before the refused transfer: for the payer's limits how much
   * more they may send (0 once the daily count is used up), for balance_limit_exceeded how much
   * more the payee's wallet may receive.
   */
  remainingMinor: bigint;
  /**
   * The largest transfer that every limit would let through right now: what a menu shows as
   * "You can send up to KES 3,500 more today". Never more than remainingMinor.
   */
  availableMinor: bigint;
  /** Whose limit refused: the payer's own, or the payee's (a wallet's cap, an agent float's inbound limits). */
  party: "payer" | "payee";
}

export type LimitDecision = { ok: true } | LimitRefusal;
