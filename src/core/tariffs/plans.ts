import { actorOf, type Principal } from "../access/types.js";
import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { FieldProblem } from "../institutions/types.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import { MAX_AMOUNT_MINOR } from "../ledger/types.js";
import type { PlanEditRefusal, PlanWrite, TariffStore, TelcoFields, TelcoWrite } from "./ports.js";
import { MAX_PLAN_STAGES, SESSION_PAYERS, type TariffPlan, type TariffTerms, type Telco } from "./types.js";

export type TelcoResult = { ok: true; telco: Telco } | { ok: false; code: Exclude<TelcoWrite, "ok"> | "telco_not_found" };
export type PlanResult =
  | { ok: true; plan: TariffPlan }
  | { ok: false; code: Exclude<PlanWrite, "ok"> | "tariff_plan_not_found" | PlanEditRefusal }
  | { ok: false; code: "invalid_tariff_plan"; problems: FieldProblem[] };

/** Why a plan's terms cannot be stored, or []. */
export function termsProblems(t: TariffTerms): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ["perSessionMinor", "perStageMinor", "ceilingMinor"] as const) {
    if (t[field] < 0n || t[field] > MAX_AMOUNT_MINOR) problems.push({ path: [field], message: `must be from 0 to ${MAX_AMOUNT_MINOR}` });
  }
  if (!Number.isInteger(t.maxStages) || t.maxStages < 1 || t.maxStages > MAX_PLAN_STAGES) {
    problems.push({ path: ["maxStages"], message: `must be an integer from 1 to ${MAX_PLAN_STAGES}` });
  }
  if (!SESSION_PAYERS.includes(t.payer)) problems.push({ path: ["payer"], message: `must be one of ${SESSION_PAYERS.join(", ")}` });
  if (Number.isNaN(t.effectiveFrom.getTime())) problems.push({ path: ["effectiveFrom"], message: "must be a valid time" });
  return problems;
}

/** The terms that price a session: all but the plan's name. */
const BILLING_TERMS = ["currency", "perSessionMinor", "perStageMinor", "ceilingMinor", "maxStages", "payer"] as const;

/**
 * Why a plan may not start at `effectiveFrom` when created (or moved) at `now`, or null. A session
 * is priced by the plan in effect when it started, and nobody, the customer or the bank, can have
 * known a price before it was set: a plan dated back, even by seconds, would re-price the sessions
 * already under way that started after its start (none of them metered yet, so
 * effective_from_billed cannot see them). A plan therefore starts no earlier than it is created; a
 * new price takes effect from now or later, as telcos and regulators announce theirs.
 */
export function planStartRefusal(effectiveFrom: Date, now: Date): "effective_from_past" | null {
  return effectiveFrom.getTime() < now.getTime() ? "effective_from_past" : null;
}

/**
 * Why a plan's terms may not be replaced by `terms`, or null. A plan that has taken effect is
 * billing history: sessions were metered under it (plan_in_use), or sessions that started under it
 * are still open and will be metered under whatever it then says (plan_in_effect). Changing its
 * price or its start would bill a session under terms that were not in force when it started (a
 * ceiling raised mid-session charges it above the ceiling it started under) and leave metered
 * sessions pointing at terms that did not price them. A new cap is a new plan; only the name of a
 * plan in effect may change.
 */
export function planEditRefusal(before: TariffPlan, terms: TariffTerms, now: Date, inUse: boolean): PlanEditRefusal | null {
  const billing = BILLING_TERMS.some((field) => before[field] !== terms[field]) || before.effectiveFrom.getTime() !== terms.effectiveFrom.getTime();
  if (!billing) return null;
  if (inUse) return "plan_in_use";
  if (before.effectiveFrom.getTime() <= now.getTime()) return "plan_in_effect";
  // A plan not yet in effect, moved (or left, by now past) to start before this change.
  return planStartRefusal(terms.effectiveFrom, now);
}

/** Telcos and their tariff plans: platform configuration, every change audited with before and after. */
export class TariffPlans {
  constructor(
    private readonly store: TariffStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async createTelco(by: Principal, code: string, fields: TelcoFields): Promise<TelcoResult> {
    const telco: Telco = { id: uuidv7(), code, ...fields, createdAt: this.now() };
    const write = await this.store.insertTelco(telco, [entry(by, "tariffs.telco.create", telco.id, null, telco)]);
    return write === "ok" ? { ok: true, telco } : { ok: false, code: write };
  }

  async updateTelco(by: Principal, id: string, fields: TelcoFields): Promise<TelcoResult> {
    if (!isUuid(id)) return { ok: false, code: "telco_not_found" };
    const done = await this.store.updateTelco(id, fields, (before) => [entry(by, "tariffs.telco.update", id, before, { ...before, ...fields })]);
    if (!done) return { ok: false, code: "telco_not_found" };
    return done.write === "ok" ? { ok: true, telco: { ...done.before, ...fields } } : { ok: false, code: done.write };
  }

  getTelco(id: string): Promise<Telco | null> {
    return isUuid(id) ? this.store.getTelco(id) : Promise.resolve(null);
  }

  listTelcos(): Promise<Telco[]> {
    return this.store.listTelcos();
  }

  async createPlan(by: Principal, telcoId: string, terms: TariffTerms): Promise<PlanResult> {
    const problems = termsProblems(terms);
    if (problems.length > 0) return { ok: false, code: "invalid_tariff_plan", problems };
    if (!isUuid(telcoId)) return { ok: false, code: "telco_not_found" };
    const now = this.now();
    const late = planStartRefusal(terms.effectiveFrom, now);
    if (late) return { ok: false, code: late };
    const plan: TariffPlan = { id: uuidv7(), telcoId, ...terms, createdAt: now, updatedAt: now };
    const write = await this.store.insertPlan(plan, [entry(by, "tariffs.plan.create", plan.id, null, plan)]);
    return write === "ok" ? { ok: true, plan } : { ok: false, code: write };
  }

  async updatePlan(by: Principal, id: string, terms: TariffTerms): Promise<PlanResult> {
    const problems = termsProblems(terms);
    if (problems.length > 0) return { ok: false, code: "invalid_tariff_plan", problems };
    if (!isUuid(id)) return { ok: false, code: "tariff_plan_not_found" };
    const now = this.now();
    const done = await this.store.updatePlan(id, terms, now, (before) => [
      entry(by, "tariffs.plan.update", id, before, { ...before, ...terms, updatedAt: now }),
    ]);
    if (!done) return { ok: false, code: "tariff_plan_not_found" };
    if (done.write !== "ok") return { ok: false, code: done.write };
    return { ok: true, plan: { ...done.before, ...terms, updatedAt: now } };
  }

  async deletePlan(by: Principal, id: string): Promise<PlanResult> {
    if (!isUuid(id)) return { ok: false, code: "tariff_plan_not_found" };
    const done = await this.store.deletePlan(id, this.now(), (before) => [entry(by, "tariffs.plan.delete", id, before, null)]);
    if (!done) return { ok: false, code: "tariff_plan_not_found" };
    return done.write === "ok" ? { ok: true, plan: done.before } : { ok: false, code: done.write };
  }

  getPlan(id: string): Promise<TariffPlan | null> {
    return isUuid(id) ? this.store.getPlan(id) : Promise.resolve(null);
  }

  listPlans(telcoId?: string): Promise<TariffPlan[]> {
    return this.store.listPlans(telcoId);
  }
}

function entry(by: Principal, action: string, subject: string, before: unknown, after: unknown): AuditEntryInput {
  return { ...actorOf(by), action, channel: "admin", outcome: "ok", subject, payload: { before, after } };
}
