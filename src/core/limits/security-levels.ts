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

const policy = (perTx: bigint, daily: bigint, count: number, monthly: bigint, balance: bigint): LimitPolicy =>
  Object.freeze({
    maxPerTransactionMinor: perTx,
    maxDailyAmountMinor: daily,
    maxDailyCount: count,
    maxMonthlyAmountMinor: monthly,
    maxBalanceMinor: balance,
  });

// Minor units of a currency with 100 minor units to the unit, sized like Kenya's e-money tiers
// (KES 250,000 per transaction, KES 500,000 per day and balance for a fully verified customer).
// The balance cap is a property of the wallet, not of the channel, so it is the same at every
// level; the amounts a channel lets a customer send fall with its level.
const U = 100n;

/** Default limits per level and KYC tier: what applies until a bank sets its own, and the most it may set. */
export const LEVEL_DEFAULTS: Readonly<Record<SecurityLevel, Readonly<Record<LimitTier, LimitPolicy>>>> = Object.freeze({
  1: Object.freeze({
    0: policy(500n * U, 1_000n * U, 5, 5_000n * U, 50_000n * U),
    1: policy(1_000n * U, 2_000n * U, 5, 10_000n * U, 100_000n * U),
    2: policy(2_000n * U, 4_000n * U, 10, 20_000n * U, 300_000n * U),
    3: policy(5_000n * U, 10_000n * U, 10, 50_000n * U, 500_000n * U),
  }),
  2: Object.freeze({
    0: policy(1_000n * U, 3_000n * U, 5, 20_000n * U, 50_000n * U),
    1: policy(5_000n * U, 10_000n * U, 10, 50_000n * U, 100_000n * U),
    2: policy(10_000n * U, 20_000n * U, 10, 100_000n * U, 300_000n * U),
    3: policy(20_000n * U, 50_000n * U, 20, 200_000n * U, 500_000n * U),
  }),
  3: Object.freeze({
    0: policy(10_000n * U, 20_000n * U, 10, 100_000n * U, 50_000n * U),
    1: policy(35_000n * U, 70_000n * U, 20, 300_000n * U, 100_000n * U),
    2: policy(70_000n * U, 150_000n * U, 30, 1_000_000n * U, 300_000n * U),
    3: policy(250_000n * U, 500_000n * U, 50, 3_000_000n * U, 500_000n * U),
  }),
  4: Object.freeze({
    0: policy(20_000n * U, 40_000n * U, 20, 200_000n * U, 50_000n * U),
    1: policy(70_000n * U, 140_000n * U, 30, 600_000n * U, 100_000n * U),
    2: policy(150_000n * U, 300_000n * U, 50, 2_000_000n * U, 300_000n * U),
    3: policy(500_000n * U, 1_000_000n * U, 100, 6_000_000n * U, 500_000n * U),
  }),
});

export function securityLevel(channel: LimitChannel): SecurityLevel {
  return CHANNEL_SECURITY_LEVELS[channel];
}

/** The default, and the ceiling, for one channel and tier. */
export function defaultPolicy(channel: LimitChannel, tier: LimitTier): LimitPolicy {
  return LEVEL_DEFAULTS[securityLevel(channel)][tier];
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
export function policyProblems(channel: LimitChannel, tier: LimitTier, p: LimitPolicy): PolicyProblem[] {
  const ceiling = defaultPolicy(channel, tier);
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
