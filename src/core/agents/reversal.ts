import { commissionTransferId, feeTransferId } from "../fees/linked.js";
import { derivedUuid, isUuid } from "../ledger/ids.js";
import type { Transfer, TransferInput } from "../ledger/types.js";
import type { AgentKit } from "./kit.js";
import { agentRefusalFor, refuse } from "./refusals.js";
import type { AgentRefusal, AgentResult, Reversal, ReverseCashInInput } from "./types.js";

export const reversalId = (transferId: string): string => derivedUuid(`fingate:agents:reverse:${transferId}`);
const legId = (transferId: string, leg: string): string => derivedUuid(`fingate:agents:reverse:${leg}:${transferId}`);

const MAX_REASON_CHARS = 200;

/**
 * Undoes a mistaken cash-in with new transfers, never an edit: the fee goes back to the customer,
 * the amount goes back to the agent's float and the agent's commission back to fee income, all
 * or nothing. The ids derive from the original's, so it can be applied once only; a customer who
 * has already spent the money, or an agent who has been paid the commission out, is refused.
 */
export async function reverseCashIn(kit: AgentKit, input: ReverseCashInInput): Promise<AgentResult<Reversal>> {
  const reason = typeof input.reason === "string" ? input.reason.trim() : "";
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS) return refuse("invalid_input", { problems: [{ path: ["reason"], message: `1 to ${MAX_REASON_CHARS} characters` }] });
  const original = isUuid(input.transferId) ? await kit.deps.ledger.getTransfer(input.transferId) : null;
  if (!original) return audited(kit, input, reason, refuse("transfer_not_found"));
  if (original.code !== "cash_in" || original.kind !== "single") return audited(kit, input, reason, refuse("not_a_cash_in"));
  const [float] = await kit.deps.ledger.getAccounts([original.debitAccountId]);
  const agent = float?.ownerRef ? await kit.deps.store.get(float.ownerRef) : null;
  if (!agent || (input.institutionId !== undefined && agent.institutionId !== input.institutionId)) return audited(kit, input, reason, refuse("transfer_not_found"));
  const id = reversalId(original.id);
  if (await kit.deps.ledger.getTransfer(id)) return audited(kit, input, reason, refuse("already_reversed"));
  const group = await compensation(kit, original, id);
  // Checked before submitting too: a refusal the ledger records would bind this reversal's ids to
  // it for good, so a bank that later makes the customer whole could never retry.
  const short = await shortfall(kit, original.creditAccountId, original.amountMinor - group.feeMinor, agent.commissionAccountId, group.commissionMinor);
  if (short) return audited(kit, input, reason, refuse(short));
  const results = await kit.deps.ledger.submitLinked(group.transfers);
  const refusal = agentRefusalFor(results, group.transfers, agent);
  if (refusal) {
    const said = refusal.code === "insufficient_funds" ? refuse("customer_funds_spent") : refusal;
    return audited(kit, input, reason, said);
  }
  if (results.some((r) => r.result === "exists")) return audited(kit, input, reason, refuse("already_reversed"));
  const reversal: Reversal = {
    reversalId: id,
    originalId: original.id,
    amountMinor: original.amountMinor,
    feeRefundMinor: group.feeMinor,
    commissionClawbackMinor: group.commissionMinor,
    currency: original.currency,
  };
  await kit.deps.audit.append([entry(input, reason, "ok", agent.id, { ...stringify(reversal) })]);
  return { ok: true, ...reversal };
}

async function compensation(kit: AgentKit, original: Transfer, id: string) {
  const fee = await kit.deps.ledger.getTransfer(feeTransferId(original.id));
  const commission = await kit.deps.ledger.getTransfer(commissionTransferId(original.id));
  const transfers: TransferInput[] = [];
  // The fee refund comes first so the customer's wallet never has to cover more than it received.
  if (fee) transfers.push({ id: legId(original.id, "fee"), kind: "single", debitAccountId: fee.creditAccountId, creditAccountId: fee.debitAccountId, amountMinor: fee.amountMinor, code: "fee_cash_in_reversal", reference: original.id });
  transfers.push({ id, kind: "single", debitAccountId: original.creditAccountId, creditAccountId: original.debitAccountId, amountMinor: original.amountMinor, code: "cash_in_reversal", reference: original.id });
  if (commission) {
    transfers.push({ id: legId(original.id, "commission"), kind: "single", debitAccountId: commission.creditAccountId, creditAccountId: commission.debitAccountId, amountMinor: commission.amountMinor, code: "commission_cash_in_rev", reference: original.id });
  }
  return { transfers, feeMinor: fee?.amountMinor ?? 0n, commissionMinor: commission?.amountMinor ?? 0n };
}

async function shortfall(kit: AgentKit, customerAccountId: string, customerOwesMinor: bigint, commissionAccountId: string, commissionMinor: bigint) {
  if ((await kit.balance(customerAccountId)) < customerOwesMinor) return "customer_funds_spent" as const;
  if (commissionMinor > 0n && (await kit.balance(commissionAccountId)) < commissionMinor) return "commission_paid_out" as const;
  return null;
}

function stringify(r: Reversal): Record<string, string> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));
}

function entry(input: ReverseCashInInput, reason: string, outcome: "ok" | "refused", subject: string | undefined, payload: Record<string, unknown>) {
  return {
    actorType: input.actor.type,
    actorId: input.actor.id,
    action: "agents.cash_in.reverse",
    channel: "admin" as const,
    outcome,
    subject: subject ?? (isUuid(input.transferId) ? input.transferId : undefined),
    payload: { transferId: isUuid(input.transferId) ? input.transferId : null, reason, ...payload },
  };
}

async function audited(kit: AgentKit, input: ReverseCashInInput, reason: string, refusal: AgentRefusal): Promise<AgentRefusal> {
  await kit.deps.audit.append([entry(input, reason, "refused", undefined, { code: refusal.code })]);
  return refusal;
}
