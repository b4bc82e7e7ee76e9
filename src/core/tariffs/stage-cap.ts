import type { FlowStages, StageCapViolation, TariffPlan } from "./types.js";

/**
 * Pure: every (flow, plan) pair where the flow's longest path needs more stages than the plan
 * allows, sorted by flow then telco. Empty means every flow fits every plan, including the
 * strictest. Meant for a test over all menu flows and for a start-up check.
 */
export function checkStageCaps(flows: readonly FlowStages[], plans: readonly Pick<TariffPlan, "id" | "telcoId" | "maxStages">[]): StageCapViolation[] {
  const violations: StageCapViolation[] = [];
  for (const flow of flows) {
    for (const plan of plans) {
      if (flow.longestPathStages > plan.maxStages) {
        violations.push({ flowId: flow.flowId, longestPathStages: flow.longestPathStages, telcoId: plan.telcoId, planId: plan.id, maxStages: plan.maxStages });
      }
    }
  }
  return violations.sort((a, b) => a.flowId.localeCompare(b.flowId) || a.telcoId.localeCompare(b.telcoId) || a.planId.localeCompare(b.planId));
}

/** The fewest stages any plan allows, or null without plans: the budget a flow designer works to. */
export function strictestStageCap(plans: readonly Pick<TariffPlan, "maxStages">[]): number | null {
  return plans.reduce<number | null>((min, p) => (min === null || p.maxStages < min ? p.maxStages : min), null);
}

/** A human-readable line per violation, for a failing test or a refused start. */
export function describeViolation(v: StageCapViolation): string {
  return `flow ${v.flowId} needs ${v.longestPathStages} stages; plan ${v.planId} of telco ${v.telcoId} allows ${v.maxStages}`;
}
