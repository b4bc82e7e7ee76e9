import { LIMIT_CHANNELS, LIMIT_FIELDS, LIMIT_TIERS, type LimitChannel, type LimitPolicy, type LimitTier } from "./types.js";

/**
 * ITU-T Y.2740 security levels of mobile financial transactions, 1 (lowest) to 4. A channel's
 * level bounds what a bank may allow on it: the defaults below are the ceiling, and a bank may
 * only tighten them.
 */
export type SecurityLevel = 1 | 2 | 3 | 4;

/**
 * Level 3 (SIM + PIN over a session the telco authenticates) for USSD, IVR, the agent POS and the
 * API; level 2 for SMS, whose text can be spoofed and replayed and whose PIN travels in the clear.
 */
export const CHANNEL_SECURITY_LEVELS: Readonly<Record<LimitChannel, SecurityLevel>> = Object.freeze({
  ussd: 3,
  sms: 2,
  ivr: 3,
  agent: 3,
  api: 3,
});

/**
 * The tables below are in limit units, sized like Kenya's e-money tiers (250,000 per transaction,
 * 500,000 per day and balance for a fully verified customer). An institution's limit unit is so
 * many minor units of its currency (institutions.limit_unit_minor, set by the platform): 100 for
 * KES (one shilling), 2,000 for TZS (twenty shillings, about as much), 65 for INR. The default, 100,
 * is the shilling.
 */
export const DEFAULT_LIMIT_UNIT_MINOR = 100n;

// The balance cap is a property of the wallet, not of the channel: the same at every level, it
// depends on the KYC tier only. The amounts a channel lets a customer send fall with its level.
const BALANCE_CAP_BY_TIER: Readonly<Record<LimitTier, bigint>> = Object.freeze({ 0: 50_000n, 1: 100_000n, 2: 300_000n, 3: 500_000n });

/** Per transaction, per day and per month in whole units, and the number of transfers per day. */
type LevelRow = readonly [perTx: bigint, daily: bigint, count: number, monthly: bigint];

/** One level's policies in limit units, from its rows for tiers 0 to 3. */
function level(rows: readonly [LevelRow, LevelRow, LevelRow, LevelRow]): Readonly<Record<LimitTier, LimitPolicy>> {
  const policy = ([perTx, daily, count, monthly]: LevelRow, tier: LimitTier): LimitPolicy =>
    Object.freeze({
      maxPerTransactionMinor: perTx,
      maxDailyAmountMinor: daily,
      maxDailyCount: count,
      maxMonthlyAmountMinor: monthly,
      maxBalanceMinor: BALANCE_CAP_BY_TIER[tier],
    });
  return Object.freeze({ 0: policy(rows[0], 0), 1: policy(rows[1], 1), 2: policy(rows[2], 2), 3: policy(rows[3], 3) });
}

/** Default limits per level and KYC tier in limit units (see DEFAULT_LIMIT_UNIT_MINOR); defaultPolicy gives them in minor units. */
const LEVEL_UNITS: Readonly<Record<SecurityLevel, Readonly<Record<LimitTier, LimitPolicy>>>> = Object.freeze({
  // Per level, tiers 0 to 3: [per transaction, per day, transfers per day, per month], in whole units.
  1: level([[500n, 1_000n, 5, 5_000n], [1_000n, 2_000n, 5, 10_000n], [2_000n, 4_000n, 10, 20_000n], [5_000n, 10_000n, 10, 50_000n]]),
  2: level([[1_000n, 3_000n, 5, 20_000n], [5_000n, 10_000n, 10, 50_000n], [10_000n, 20_000n, 10, 100_000n], [20_000n, 50_000n, 20, 200_000n]]),
  3: level([[10_000n, 20_000n, 10, 100_000n], [35_000n, 70_000n, 20, 300_000n], [70_000n, 150_000n, 30, 1_000_000n], [250_000n, 500_000n, 50, 3_000_000n]]),
  4: level([[20_000n, 40_000n, 20, 200_000n], [70_000n, 140_000n, 30, 600_000n], [150_000n, 300_000n, 50, 2_000_000n], [500_000n, 1_000_000n, 100, 6_000_000n]]),
});

export function securityLevel(channel: LimitChannel): SecurityLevel {
  return CHANNEL_SECURITY_LEVELS[channel];
}

/** One level's default for a tier, in minor units of a currency whose limit unit is `unitMinor`. */
export function levelDefault(level: SecurityLevel, tier: LimitTier, unitMinor: bigint = DEFAULT_LIMIT_UNIT_MINOR): LimitPolicy {
  const p = LEVEL_UNITS[level][tier];
  return {
    maxPerTransactionMinor: p.maxPerTransactionMinor * unitMinor,
    maxDailyAmountMinor: p.maxDailyAmountMinor * unitMinor,
    maxDailyCount: p.maxDailyCount,
    maxMonthlyAmountMinor: p.maxMonthlyAmountMinor * unitMinor,
    maxBalanceMinor: p.maxBalanceMinor * unitMinor,
  };
}

/** The default, and the ceiling, for one channel and tier, for an institution whose limit unit is `unitMinor`. */
export function defaultPolicy(channel: LimitChannel, tier: LimitTier, unitMinor: bigint = DEFAULT_LIMIT_UNIT_MINOR): LimitPolicy {
  return levelDefault(securityLevel(channel), tier, unitMinor);
}

export interface PolicyProblem {
  field: keyof LimitPolicy;
  message: string;
}

/**
 * Why a bank's policy cannot be stored, or [] when it can: every field must stay within the
 * channel's default (a bank only tightens), and per transaction ≤ per day ≤ per month so that no
 * limit is unreachable behind another.
 */
export function policyProblems(channel: LimitChannel, tier: LimitTier, p: LimitPolicy, unitMinor: bigint = DEFAULT_LIMIT_UNIT_MINOR): PolicyProblem[] {
  const ceiling = defaultPolicy(channel, tier, unitMinor);
  const problems: PolicyProblem[] = [];
  for (const field of LIMIT_FIELDS) {
    const value = BigInt(p[field]);
    const max = BigInt(ceiling[field]);
    if (value < 0n) problems.push({ field, message: "must not be negative" });
    else if (value > max) {
      problems.push({ field, message: `must not exceed ${max} (security level ${securityLevel(channel)} default for ${channel}, tier ${tier})` });
    }
  }
  if (p.maxPerTransactionMinor > p.maxDailyAmountMinor) {
    problems.push({ field: "maxPerTransactionMinor", message: "must not exceed maxDailyAmountMinor" });
  }
  if (p.maxDailyAmountMinor > p.maxMonthlyAmountMinor) {
    problems.push({ field: "maxDailyAmountMinor", message: "must not exceed maxMonthlyAmountMinor" });
  }
  return problems;
}

/** Every (channel, tier) cell, in a stable order for listings. */
export function policyCells(): { channel: LimitChannel; tier: LimitTier }[] {
  return LIMIT_CHANNELS.flatMap((channel) => LIMIT_TIERS.map((tier) => ({ channel, tier })));
}

/** The level defaults at the default limit unit (shillings, in cents). */
export const LEVEL_DEFAULTS: Readonly<Record<SecurityLevel, Readonly<Record<LimitTier, LimitPolicy>>>> = Object.freeze(
  Object.fromEntries(([1, 2, 3, 4] as const).map((lvl) => [lvl, Object.fromEntries(LIMIT_TIERS.map((t) => [t, levelDefault(lvl, t)]))])) as Record<
    SecurityLevel,
    Record<LimitTier, LimitPolicy>
  >,
);
