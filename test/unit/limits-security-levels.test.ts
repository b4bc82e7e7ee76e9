import { describe, expect, it } from "vitest";
import { CHANNEL_SECURITY_LEVELS, LEVEL_DEFAULTS, defaultPolicy, policyCells, policyProblems } from "../../src/core/limits/security-levels.js";
import { LIMIT_FIELDS, LIMIT_TIERS, type LimitPolicy } from "../../src/core/limits/types.js";

describe("security levels and their default limits", () => {
  it("SMS sits below USSD, IVR, agent and API", () => {
    expect(CHANNEL_SECURITY_LEVELS).toEqual({ ussd: 3, sms: 2, ivr: 3, agent: 3, api: 3 });
    for (const tier of LIMIT_TIERS) {
      expect(defaultPolicy("sms", tier).maxPerTransactionMinor < defaultPolicy("ussd", tier).maxPerTransactionMinor).toBe(true);
      expect(defaultPolicy("sms", tier).maxDailyAmountMinor < defaultPolicy("ussd", tier).maxDailyAmountMinor).toBe(true);
    }
  });

  it("every default is consistent (per transaction ≤ day ≤ month) and grows with the tier and the level", () => {
    for (const [level, tiers] of Object.entries(LEVEL_DEFAULTS)) {
      for (const tier of LIMIT_TIERS) {
        const p = tiers[tier];
        expect(p.maxPerTransactionMinor <= p.maxDailyAmountMinor, `level ${level} tier ${tier}`).toBe(true);
        expect(p.maxDailyAmountMinor <= p.maxMonthlyAmountMinor, `level ${level} tier ${tier}`).toBe(true);
        if (tier > 0) expect(p.maxDailyAmountMinor >= tiers[(tier - 1) as 0 | 1 | 2].maxDailyAmountMinor).toBe(true);
      }
    }
    for (const tier of LIMIT_TIERS) {
      for (const level of [2, 3, 4] as const) {
        expect(LEVEL_DEFAULTS[level][tier].maxDailyAmountMinor > LEVEL_DEFAULTS[(level - 1) as 1 | 2 | 3][tier].maxDailyAmountMinor).toBe(true);
      }
    }
    expect(policyCells()).toHaveLength(20);
  });

  it("a bank may tighten any limit", () => {
    const ceiling = defaultPolicy("ussd", 1);
    const tighter: LimitPolicy = {
      maxPerTransactionMinor: ceiling.maxPerTransactionMinor / 2n,
      maxDailyAmountMinor: ceiling.maxDailyAmountMinor / 2n,
      maxDailyCount: 1,
      maxMonthlyAmountMinor: ceiling.maxMonthlyAmountMinor / 2n,
      maxBalanceMinor: 0n,
    };
    expect(policyProblems("ussd", 1, tighter)).toEqual([]);
    expect(policyProblems("ussd", 1, ceiling)).toEqual([]);
  });

  it("a bank may not loosen any limit beyond its channel's level default", () => {
    for (const field of LIMIT_FIELDS) {
      const ceiling = defaultPolicy("sms", 0);
      const looser = { ...ceiling, [field]: typeof ceiling[field] === "bigint" ? (ceiling[field] as bigint) + 1n : (ceiling[field] as number) + 1 };
      // Loosening per-transaction or daily alone may also break the nesting rule; the ceiling is named either way.
      expect(policyProblems("sms", 0, looser).map((p) => p.field)).toContain(field);
    }
  });

  it("refuses negative values and a per-transaction limit above the daily one", () => {
    const ceiling = defaultPolicy("ussd", 3);
    expect(policyProblems("ussd", 3, { ...ceiling, maxBalanceMinor: -1n })).toEqual([{ field: "maxBalanceMinor", message: "must not be negative" }]);
    const problems = policyProblems("ussd", 3, { ...ceiling, maxDailyAmountMinor: ceiling.maxPerTransactionMinor - 1n });
    expect(problems).toEqual([{ field: "maxPerTransactionMinor", message: "must not exceed maxDailyAmountMinor" }]);
  });
});
