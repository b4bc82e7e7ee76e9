import { describe, expect, it } from "vitest";
import { sessionChargeMinor } from "../../src/core/tariffs/charge.js";
import { checkStageCaps, describeViolation, strictestStageCap } from "../../src/core/tariffs/stage-cap.js";

// TRAI (India): Rs 0.50 per session at most, in paise; this plan charges 10 + 8 per stage.
const TRAI = { perSessionMinor: 10n, perStageMinor: 8n, ceilingMinor: 50n };

describe("sessionChargeMinor = min(ceiling, perSession + stages × perStage)", () => {
  it.each([
    [0, 10n],
    [1, 18n],
    [4, 42n],
    [5, 50n],
    [6, 50n],
    [100, 50n],
  ])("%s stages cost %s paise", (stages, charge) => {
    expect(sessionChargeMinor(TRAI, stages)).toBe(charge);
  });

  it("a flat per-session plan ignores the stages; a zero ceiling makes sessions free", () => {
    expect(sessionChargeMinor({ perSessionMinor: 150n, perStageMinor: 0n, ceilingMinor: 150n }, 7)).toBe(150n);
    expect(sessionChargeMinor({ perSessionMinor: 150n, perStageMinor: 10n, ceilingMinor: 0n }, 7)).toBe(0n);
  });

  it("refuses a negative or fractional stage count", () => {
    expect(() => sessionChargeMinor(TRAI, -1)).toThrow(RangeError);
    expect(() => sessionChargeMinor(TRAI, 1.5)).toThrow(RangeError);
  });
});

describe("checkStageCaps: flows against the telcos' maximum stages", () => {
  const plans = [
    { id: "plan-a", telcoId: "airtel", maxStages: 8 },
    { id: "plan-b", telcoId: "jio", maxStages: 5 },
    { id: "plan-c", telcoId: "vi", maxStages: 12 },
  ];

  it("passes flows that fit the strictest plan", () => {
    expect(checkStageCaps([{ flowId: "balance", longestPathStages: 3 }, { flowId: "send", longestPathStages: 5 }], plans)).toEqual([]);
    expect(strictestStageCap(plans)).toBe(5);
  });

  it("reports every plan a too-long flow breaks, sorted", () => {
    const violations = checkStageCaps([{ flowId: "send", longestPathStages: 9 }, { flowId: "balance", longestPathStages: 6 }], plans);
    expect(violations).toEqual([
      { flowId: "balance", longestPathStages: 6, telcoId: "jio", planId: "plan-b", maxStages: 5 },
      { flowId: "send", longestPathStages: 9, telcoId: "airtel", planId: "plan-a", maxStages: 8 },
      { flowId: "send", longestPathStages: 9, telcoId: "jio", planId: "plan-b", maxStages: 5 },
    ]);
    expect(describeViolation(violations[0]!)).toBe("flow balance needs 6 stages; plan plan-b of telco jio allows 5");
  });

  it("a flow exactly at the cap fits; without plans nothing can be violated", () => {
    expect(checkStageCaps([{ flowId: "send", longestPathStages: 5 }], plans)).toEqual([]);
    expect(checkStageCaps([{ flowId: "send", longestPathStages: 500 }], [])).toEqual([]);
    expect(strictestStageCap([])).toBeNull();
  });
});
