import { derivedUuid, isUuid } from "../ledger/ids.js";
import type { TransferInput } from "../ledger/types.js";
import { floatPolicy, isAmount, type AgentKit } from "./kit.js";
import { agentRefusalFor, refuse } from "./refusals.js";
import type { AgentResult, FloatMovementInput, FloatReceipt } from "./types.js";

export const floatTransferId = (direction: "top_up" | "withdraw", requestId: string): string => derivedUuid(`fingate:agents:float-${direction}:${requestId}`);

/**
 * The bank moves float between its settlement account and an agent: a top-up when the agent
 * pays cash in at a branch, a withdrawal when it takes e-money back out. A suspended agent's
 * float may still be withdrawn (that is how a bank winds an agent down), never topped up.
 */
export async function moveFloat(kit: AgentKit, direction: "top_up" | "withdraw", input: FloatMovementInput): Promise<AgentResult<FloatReceipt>> {
  if (!isUuid(input.id)) return refuse("invalid_request_id");
  if (!isAmount(input.amountMinor)) return refuse("invalid_amount");
  if (input.reference !== undefined && (typeof input.reference !== "string" || input.reference.length > 128)) return refuse("invalid_input");
  const agent = isUuid(input.agentId) ? await kit.deps.store.get(input.agentId) : null;
  if (!agent) return refuse("agent_not_found");
  if (agent.status === "closed" || (direction === "top_up" && agent.status !== "active")) return refuse("agent_unavailable");
  const institution = await kit.deps.institutions.get(agent.institutionId);
  if (!institution) return refuse("agent_not_found");
  const settlement = await kit.settlementId(institution);
  const transferId = floatTransferId(direction, input.id);
  const topUp = direction === "top_up";
  const transfer: TransferInput = {
    id: transferId,
    kind: "single",
    debitAccountId: topUp ? settlement : agent.floatAccountId,
    creditAccountId: topUp ? agent.floatAccountId : settlement,
    amountMinor: input.amountMinor,
    code: topUp ? "float_top_up" : "float_withdraw",
    reference: input.reference ?? input.id,
  };
  // The float's ceiling caps top-ups; withdrawals carry no limit (the bank takes its money back).
  if (topUp) transfer.limits = { timeZone: institution.timezone, payee: floatPolicy(agent.limits, "in") };
  const results = await kit.deps.ledger.submitLinked([transfer]);
  const refusal = agentRefusalFor(results, [transfer], agent, "bank");
  if (refusal) return refusal;
  await kit.deps.audit.append([
    {
      actorType: input.actor.type,
      actorId: input.actor.id,
      action: topUp ? "agents.float.top_up" : "agents.float.withdraw",
      channel: "admin",
      outcome: "ok",
      subject: agent.id,
      payload: { transferId, amountMinor: input.amountMinor.toString(), replayed: results[0]!.result === "exists" },
    },
  ]);
  return {
    ok: true,
    transferId,
    amountMinor: input.amountMinor,
    floatBalanceMinor: await kit.balance(agent.floatAccountId),
    currency: institution.currency,
    replayed: results[0]!.result === "exists",
  };
}
