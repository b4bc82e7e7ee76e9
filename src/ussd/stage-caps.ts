/**
 * The tariff plans' stage caps against the USSD menus (TRAI: 8 menu stages per USSD banking
 * session). A telco that cuts a session at its plan's cap stops a customer whose flow needs more
 * screens before the flow ends (a payment before its PIN), so a plan stricter than the menus is a
 * configuration to fix (shorter flows for that network, or the plan's cap checked again), and the
 * gateway says so when it starts. It does not refuse to start, nor cut sessions itself: the plan
 * is the telco's, and the menus already end every session at their own stage limit.
 */
import { checkStageCaps, describeViolation } from "../core/tariffs/stage-cap.js";
import type { FlowStages, TariffPlan } from "../core/tariffs/types.js";
import type { HopLogger } from "./hop-types.js";

/**
 * Screens on each flow's longest successful path, the first menu and the END included, in the
 * language whose screens page the most (a page of a long Hindi screen is a stage too). Measured by
 * test/unit/ussd-stage-cap.test.ts, which fails when the menus no longer match these numbers.
 */
export const USSD_FLOW_STAGES: readonly FlowStages[] = [
  { flowId: "register", longestPathStages: 5 },
  { flowId: "balance", longestPathStages: 4 },
  { flowId: "statement", longestPathStages: 8 },
  { flowId: "send", longestPathStages: 8 },
  { flowId: "withdraw", longestPathStages: 8 },
  { flowId: "change_pin", longestPathStages: 6 },
  { flowId: "account_alias", longestPathStages: 5 },
  { flowId: "account_default", longestPathStages: 5 },
  { flowId: "language", longestPathStages: 4 },
  { flowId: "approve_cash_out", longestPathStages: 5 },
  { flowId: "decline_cash_out", longestPathStages: 4 },
  { flowId: "agent_cash_in", longestPathStages: 5 },
  { flowId: "agent_cash_out", longestPathStages: 7 },
  { flowId: "agent_float", longestPathStages: 3 },
  { flowId: "agent_today", longestPathStages: 7 },
  { flowId: "agent_commission", longestPathStages: 3 },
  { flowId: "agent_personal_balance", longestPathStages: 6 },
];

type CapPlan = Pick<TariffPlan, "id" | "telcoId" | "maxStages" | "effectiveFrom">;

/** Each telco's plan in effect at `now` and those to come: the ones its sessions will be held to. */
export function plansInForce(plans: readonly CapPlan[], now: Date): CapPlan[] {
  const current = new Map<string, number>();
  for (const p of plans) {
    const from = p.effectiveFrom.getTime();
    if (from <= now.getTime() && from > (current.get(p.telcoId) ?? -Infinity)) current.set(p.telcoId, from);
  }
  return plans.filter((p) => p.effectiveFrom.getTime() >= (current.get(p.telcoId) ?? -Infinity));
}

/** Logs (warn) every flow that needs more screens than a plan in force allows; returns how many. */
export function warnStageCaps(plans: readonly CapPlan[], logger: HopLogger, now = new Date()): number {
  const violations = checkStageCaps(USSD_FLOW_STAGES, plansInForce(plans, now));
  for (const v of violations) logger.warn({ ...v, detail: describeViolation(v) }, "ussd flow longer than a telco's tariff plan allows");
  return violations.length;
}
