// A wallet's cap as a payee: its tier's strictest balance cap over every channel that is open.
import { describe, expect, it } from "vitest";
import { LimitPolicies } from "../../src/core/limits/policies.js";
import type { LimitPolicyStore, StoredLimitPolicy } from "../../src/core/limits/ports.js";
import type { LimitChannel, LimitPolicy } from "../../src/core/limits/types.js";

const CLOSED: LimitPolicy = { maxPerTransactionMinor: 0n, maxDailyAmountMinor: 0n, maxDailyCount: 0, maxMonthlyAmountMinor: 0n, maxBalanceMinor: 0n };
const OPEN: LimitPolicy = { maxPerTransactionMinor: 1_000_00n, maxDailyAmountMinor: 2_000_00n, maxDailyCount: 5, maxMonthlyAmountMinor: 10_000_00n, maxBalanceMinor: 30_000_00n };

/** The bank's own cells (the rest are the defaults), as the store lists them. */
function policies(cells: { channel: LimitChannel; policy: LimitPolicy }[]): LimitPolicies {
  const stored: StoredLimitPolicy[] = cells.map((c) => ({ institutionId: "i", channel: c.channel, tier: 0, policy: c.policy, updatedAt: new Date() }));
  return new LimitPolicies({ list: async () => stored } as unknown as LimitPolicyStore);
}

describe("LimitPolicies.walletCap", () => {
  it("is the tier's strictest cap over its channels: paying over another channel does not pass it", async () => {
    const cap = await policies([{ channel: "sms", policy: OPEN }]).walletCap("i", 0);
    expect(cap.maxBalanceMinor).toBe(30_000_00n);
  });

  it("leaves out a channel the bank closed for the tier (nothing may be sent over it), which says nothing of what a wallet holds", async () => {
    const defaults = (await policies([]).walletCap("i", 0)).maxBalanceMinor;
    expect(defaults).toBeGreaterThan(0n);
    expect((await policies([{ channel: "ivr", policy: CLOSED }]).walletCap("i", 0)).maxBalanceMinor).toBe(defaults);
    expect((await policies([{ channel: "ivr", policy: { ...OPEN, maxDailyCount: 0 } }]).walletCap("i", 0)).maxBalanceMinor).toBe(defaults);
  });

  it("with every channel closed, the strictest of them all", async () => {
    const channels: LimitChannel[] = ["ussd", "sms", "ivr", "agent", "api"];
    const cap = await policies(channels.map((channel, i) => ({ channel, policy: { ...CLOSED, maxBalanceMinor: BigInt(i + 1) * 100n } }))).walletCap("i", 0);
    expect(cap.maxBalanceMinor).toBe(100n);
  });
});
