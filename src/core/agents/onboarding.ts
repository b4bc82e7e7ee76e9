import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { FieldProblem } from "../institutions/types.js";
import { AccountFlags } from "../ledger/types.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import type { AgentKit } from "./kit.js";
import { refuse } from "./refusals.js";
import { DEFAULT_AGENT_LIMITS, MAX_AGENT_AMOUNT_MINOR, type Agent, type AgentLimits, type AgentResult, type OnboardInput } from "./types.js";

export const STORE_NUMBER_RE = /^[0-9]{4,12}$/;
const MAX_TEXT_CHARS = 100;
// Printable text without control characters: names and places end up on receipts and screens.
const TEXT_RE = /^[^\p{Cc}\p{Cf}]+$/u;

function textProblem(field: string, value: unknown): FieldProblem | null {
  if (typeof value !== "string") return { path: [field], message: "required" };
  const t = value.trim();
  if (t.length === 0 || t.length > MAX_TEXT_CHARS || !TEXT_RE.test(t)) return { path: [field], message: `1 to ${MAX_TEXT_CHARS} printable characters` };
  return null;
}

/** The agent's limits with defaults filled in, or what is wrong with them. */
export function resolveLimits(input: Partial<AgentLimits> | undefined, base: AgentLimits = DEFAULT_AGENT_LIMITS): AgentLimits | FieldProblem[] {
  const limits = { ...base, ...(input ?? {}) };
  const problems: FieldProblem[] = [];
  for (const key of ["maxPerTransactionMinor", "maxDailyFloatOutMinor", "maxDailyFloatInMinor", "maxFloatBalanceMinor"] as const) {
    const v = limits[key];
    if (typeof v !== "bigint" || v <= 0n || v > MAX_AGENT_AMOUNT_MINOR) problems.push({ path: ["limits", key], message: "a positive amount in minor units" });
  }
  if (!Number.isInteger(limits.maxDailyCount) || limits.maxDailyCount < 1 || limits.maxDailyCount > 100_000) problems.push({ path: ["limits", "maxDailyCount"], message: "1 to 100000" });
  return problems.length > 0 ? problems : limits;
}

/**
 * Onboards an agent: its PIN first (the cheapest thing to refuse, keyed by the new agent's id),
 * then its float and commission accounts, then the agent row with its audit entry. Accounts
 * opened for an insert that loses a race to the same number stay empty and unused.
 */
export async function onboard(kit: AgentKit, input: OnboardInput): Promise<AgentResult<{ agent: Agent }>> {
  const problems = [textProblem("name", input.name), textProblem("location", input.location)].filter((p): p is FieldProblem => p !== null);
  const resolved = resolveLimits(input.limits);
  if (Array.isArray(resolved)) problems.push(...resolved);
  if (problems.length > 0 || Array.isArray(resolved)) return refuse("invalid_input", { problems });
  const limits = resolved;
  if (typeof input.storeNumber !== "string" || !STORE_NUMBER_RE.test(input.storeNumber)) return refuse("invalid_store_number");
  const institution = isUuid(input.institutionId) ? await kit.deps.institutions.get(input.institutionId) : null;
  if (!institution) return refuse("institution_not_found");
  const msisdn = await kit.msisdn(input.msisdn, institution.id);
  if (!msisdn) return refuse("invalid_msisdn");
  if (await kit.deps.store.findByMsisdn(msisdn, institution.id)) return refuse("agent_exists");
  if (await kit.deps.store.findByStore(input.storeNumber, institution.id)) return refuse("store_number_taken");
  const id = uuidv7();
  if (input.pin !== undefined) {
    const pin = await kit.deps.pins.setPin({ actor: { type: input.actor.type, id: input.actor.id }, channel: "admin", subjectId: id, msisdn, pin: input.pin });
    if (!pin.ok) return refuse("pin_invalid", { problems: [{ path: ["pin"], message: "reason" in pin ? String(pin.reason) : pin.code }] });
  }
  const [float, commission] = await kit.deps.ledger.createAccounts([
    { institutionId: institution.id, currency: institution.currency, kind: "agent_float", ownerRef: id, flags: AccountFlags.debitsMustNotExceedCredits },
    { institutionId: institution.id, currency: institution.currency, kind: "commission", ownerRef: id, flags: AccountFlags.debitsMustNotExceedCredits },
  ]);
  const now = kit.now();
  const agent: Agent = {
    id, institutionId: institution.id, msisdn, storeNumber: input.storeNumber, name: input.name.trim(), location: input.location.trim(),
    status: "active", floatAccountId: float!.id, commissionAccountId: commission!.id, limits, createdAt: now, updatedAt: now,
  };
  const outcome = await kit.deps.store.insert(agent, [auditEntry(input.actor, "agents.onboard", agent.id, { msisdn, storeNumber: agent.storeNumber, name: agent.name, limits: limitsJson(limits) })]);
  if (outcome === "msisdn_taken") return refuse("agent_exists");
  if (outcome === "store_number_taken") return refuse("store_number_taken");
  return { ok: true, agent };
}

export function limitsJson(l: AgentLimits): Record<string, string | number> {
  return {
    maxPerTransactionMinor: l.maxPerTransactionMinor.toString(),
    maxDailyFloatOutMinor: l.maxDailyFloatOutMinor.toString(),
    maxDailyFloatInMinor: l.maxDailyFloatInMinor.toString(),
    maxDailyCount: l.maxDailyCount,
    maxFloatBalanceMinor: l.maxFloatBalanceMinor.toString(),
  };
}

export function auditEntry(actor: { type: AuditEntryInput["actorType"]; id: string }, action: string, subject: string, payload: Record<string, unknown>): AuditEntryInput {
  return { actorType: actor.type, actorId: actor.id, action, channel: "admin", outcome: "ok", subject, payload };
}
