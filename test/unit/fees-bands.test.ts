import { describe, expect, it } from "vitest";
import { scheduleProblems } from "../../src/core/fees/bands.js";
import { quoteFee } from "../../src/core/fees/quote.js";
import type { FeeBand, FeeSchedule } from "../../src/core/fees/types.js";

const band = (minMinor: bigint, maxMinor: bigint, feeMinor: bigint): FeeBand => ({ minMinor, maxMinor, feeMinor });

// An M-Pesa-like table in KES cents: 1-49 free, 50-100 → 0, 101-500 → 7, 501-1,000 → 13 ...
const SCHEDULE: FeeSchedule = {
  type: "p2p",
  agentShareBps: 0,
  bands: [band(100n, 10_000n, 0n), band(10_001n, 50_000n, 700n), band(50_001n, 100_000n, 1_300n), band(100_001n, 15_000_000n, 10_800n)],
};

describe("quoteFee: band edges", () => {
  it.each([
    [100n, 0n],
    [10_000n, 0n],
    [10_001n, 700n],
    [50_000n, 700n],
    [50_001n, 1_300n],
    [100_000n, 1_300n],
    [100_001n, 10_800n],
    [15_000_000n, 10_800n],
  ])("amount %s pays %s", (amount, fee) => {
    expect(quoteFee(SCHEDULE, amount)).toEqual({ ok: true, feeMinor: fee, agentCommissionMinor: 0n, band: expect.objectContaining({ feeMinor: fee }) });
  });

  it("refuses an amount below the first band or above the last, naming the range", () => {
    const outside = { ok: false, code: "amount_outside_fee_bands", minMinor: 100n, maxMinor: 15_000_000n };
    expect(quoteFee(SCHEDULE, 99n)).toEqual(outside);
    expect(quoteFee(SCHEDULE, 1n)).toEqual(outside);
    expect(quoteFee(SCHEDULE, 15_000_001n)).toEqual(outside);
  });

  it("no schedule means no fee", () => {
    expect(quoteFee(null, 123n)).toEqual({ ok: true, feeMinor: 0n, agentCommissionMinor: 0n, band: null });
  });

  it("the agent's share is rounded down; the bank keeps the remainder", () => {
    const shared = { ...SCHEDULE, agentShareBps: 3_333 };
    expect(quoteFee(shared, 20_000n)).toMatchObject({ feeMinor: 700n, agentCommissionMinor: 233n });
    expect(quoteFee({ ...SCHEDULE, agentShareBps: 10_000 }, 20_000n)).toMatchObject({ agentCommissionMinor: 700n });
  });

  it("a single-band schedule and a one-amount band work", () => {
    const one = { type: "bill" as const, agentShareBps: 0, bands: [band(5n, 5n, 1n)] };
    expect(quoteFee(one, 5n)).toMatchObject({ ok: true, feeMinor: 1n });
    expect(quoteFee(one, 4n)).toMatchObject({ ok: false });
    expect(quoteFee(one, 6n)).toMatchObject({ ok: false });
  });
});

describe("scheduleProblems: contiguous, ascending, non-overlapping bands", () => {
  it("accepts a valid table", () => {
    expect(scheduleProblems(SCHEDULE)).toEqual([]);
  });

  it("refuses a gap between bands", () => {
    const gap = [band(1n, 100n, 0n), band(102n, 200n, 5n)];
    expect(scheduleProblems({ bands: gap, agentShareBps: 0 })).toEqual([
      { path: ["bands", 1, "minMinor"], message: "leaves a gap after the previous band, which ends at 100; must be 101" },
    ]);
  });

  it("refuses overlapping bands, including a shared boundary", () => {
    const touching = [band(1n, 100n, 0n), band(100n, 200n, 5n)];
    expect(scheduleProblems({ bands: touching, agentShareBps: 0 })).toEqual([
      { path: ["bands", 1, "minMinor"], message: "overlaps the previous band, which ends at 100; must be 101" },
    ]);
  });

  it("refuses bands out of order", () => {
    const unordered = [band(101n, 200n, 5n), band(1n, 100n, 0n)];
    expect(scheduleProblems({ bands: unordered, agentShareBps: 0 })).toEqual([
      { path: ["bands", 1, "minMinor"], message: "bands must be in ascending order of minMinor" },
    ]);
  });

  it("refuses empty schedules, inverted or non-positive bands, negative fees and bad shares", () => {
    expect(scheduleProblems({ bands: [], agentShareBps: 0 })).toEqual([{ path: ["bands"], message: "must hold at least one band" }]);
    expect(scheduleProblems({ bands: [band(0n, 10n, 0n)], agentShareBps: 0 })).toEqual([{ path: ["bands", 0, "minMinor"], message: "must be at least 1" }]);
    expect(scheduleProblems({ bands: [band(10n, 9n, 0n)], agentShareBps: 0 })).toEqual([
      { path: ["bands", 0, "maxMinor"], message: "must not be below minMinor" },
    ]);
    expect(scheduleProblems({ bands: [band(1n, 9n, -1n)], agentShareBps: 0 })).toEqual([
      { path: ["bands", 0, "feeMinor"], message: "must not be negative" },
    ]);
    // A fee past the largest payment (10^15) is a mistake, and amount plus fee would overflow BIGINT.
    expect(scheduleProblems({ bands: [band(1n, 9n, 10n ** 15n + 1n)], agentShareBps: 0 })).toEqual([
      { path: ["bands", 0, "feeMinor"], message: "must not exceed 1000000000000000" },
    ]);
    expect(scheduleProblems({ bands: [band(1n, 9n, 10n ** 15n)], agentShareBps: 0 })).toEqual([]);
    expect(scheduleProblems({ bands: [band(1n, 9n, 0n)], agentShareBps: 10_001 })).toEqual([
      { path: ["agentShareBps"], message: "must be an integer from 0 to 10000" },
    ]);
  });

  it("refuses more than 50 bands", () => {
    const bands = Array.from({ length: 51 }, (_, i) => band(BigInt(i * 10 + 1), BigInt(i * 10 + 10), 1n));
    expect(scheduleProblems({ bands, agentShareBps: 0 })).toEqual([{ path: ["bands"], message: "must hold at most 50 bands" }]);
  });
});
