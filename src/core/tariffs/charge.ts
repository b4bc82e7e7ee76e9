import type { TariffPlan } from "./types.js";

/** Pure: charge = min(ceiling, perSession + stages × perStage). A session has at least 0 stages. */
export function sessionChargeMinor(plan: Pick<TariffPlan, "perSessionMinor" | "perStageMinor" | "ceilingMinor">, stages: number): bigint {
  if (!Number.isSafeInteger(stages) || stages < 0) throw new RangeError("stages must be a non-negative integer");
  const uncapped = plan.perSessionMinor + BigInt(stages) * plan.perStageMinor;
  return uncapped < plan.ceilingMinor ? uncapped : plan.ceilingMinor;
}
