import { commissionClawbackCode, commissionTransferId, feeRefundCode, feeTransferId } from "../fees/linked.js";
import { derivedUuid, isUuid } from "../ledger/ids.js";
import { RECORDED_FAILURES, type Transfer, type TransferInput, type TransferLimits } from "../ledger/types.js";
import { floatPolicy, type AgentKit } from "./kit.js";
import { accountsOf, agentRefusalFor, refuse, unavailable, UNAVAILABLE_CODES, type RefusalAccounts } from "./refusals.js";
import type { Agent, AgentRefusal, AgentResult, Reversal, ReverseCashInInput } from "./types.js";

/**
 * The reversal's ids in slot `slot`. A slot's ids are either posted (the reversal happened) or
 * refused for good (the ledger records a refusal on balances, so that the same id never moves money
 * later); a reversal refused so may be tried again in the next slot. Slot 0 keeps the original form.
 */
export const reversalId = (transferId: string, slot = 0): string => derivedUuid(`fingate:agents:reverse:${slotPart(slot)}${transferId}`);
const legId = (transferId: string, leg: string, slot: number): string => derivedUuid(`fingate:agents:reverse:${leg}:${slotPart(slot)}${transferId}`);
const slotPart = (slot: number): string => (slot === 0 ? "" : `${slot}:`);

/** How many times a reversal may be refused on balances and tried again: a bank's retries, not a loop. */
const MAX_SLOTS = 16;

const MAX_REASON_CHARS = 200;

/**
 * Undoes a mistaken cash-in with new transfers, never an edit: the fee goes back to the customer,
 * the amount goes back to the agent's float and the agent's commission back to fee income, all
 * or nothing. The ids derive from the original's (see reversalId's slots), so it can be applied
 * once only; a customer who has already spent the money, or an agent who has been paid the
 * commission out, is refused, and may be reversed once the bank has made them whole.
 */
export async function reverseCashIn(kit: AgentKit, input: ReverseCashInInput): Promise<AgentResult<Reversal>> {
  const reason = typeof input.reason === "string" ? input.reason.trim() : "";
  if (reason.length === 0 || reason.length > MAX_REASON_CHARS) return refuse("invalid_input", { problems: [{ path: ["reason"], message: `1 to ${MAX_REASON_CHARS} characters` }] });
  const original = isUuid(input.transferId) ? await kit.deps.ledger.getTransfer(input.transferId) : null;
  // Another bank's transfer does not exist for this one: asked before what kind it is, so that
  // not_a_cash_in tells nothing of transfers outside the caller's bank.
  const [float] = original ? await kit.deps.ledger.getAccounts([original.debitAccountId]) : [];
  if (!original || (input.institutionId !== undefined && float?.institutionId !== input.institutionId)) return audited(kit, input, reason, refuse("transfer_not_found"));
  if (original.code !== "cash_in" || original.kind !== "single") return audited(kit, input, reason, refuse("not_a_cash_in"));
  const agent = float?.ownerRef ? await kit.deps.store.get(float.ownerRef) : null;
  if (!agent || (input.institutionId !== undefined && agent.institutionId !== input.institutionId)) return audited(kit, input, reason, refuse("transfer_not_found"));
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const tried = await trySlot(kit, original, agent, slot);
    if (tried === "refused_for_good") continue;
    if ("code" in tried) return audited(kit, input, reason, tried);
    await kit.deps.audit.append([entry(input, reason, "ok", agent.id, { ...stringify(tried) })]);
    return { ok: true, ...tried };
  }
  return audited(kit, input, reason, refuse("customer_funds_spent"));
}

/**
 * One slot's attempt. "refused_for_good": the ledger refused (or had refused) this slot's ids on
 * balances although they sufficed just before (a spend in between, or an earlier attempt's
 * recorded refusal), so the next slot may try again.
 */
async function trySlot(kit: AgentKit, original: Transfer, agent: Agent, slot: number): Promise<Reversal | AgentRefusal | "refused_for_good"> {
  const id = reversalId(original.id, slot);
  if (await kit.deps.ledger.getTransfer(id)) return refuse("already_reversed");
  const group = await compensation(kit, original, id, slot, agent);
  // Checked before submitting: a refusal the ledger records binds this slot's ids to it for good,
  // so one is expected only from a race with a spend or a float inflow (or an earlier attempt's, replayed).
  const short = await shortfall(kit, group.transfers, accountsOf(agent, original.creditAccountId), original.amountMinor - group.feeMinor, group.commissionMinor, agent, original.amountMinor);
  if (short) return (await reversedInLaterSlot(kit, original.id, slot)) ? refuse("already_reversed") : short;
  const results = await kit.deps.ledger.submitLinked(group.transfers);
  if (results.some((r) => RECORDED_FAILURES.has(r.result))) return "refused_for_good";
  // A frozen or closed account is a recorded failure, answered above: shortfall's next slot says whose.
  const refusal = agentRefusalFor(results, group.transfers, agent, "bank");
  if (refusal) return refusal;
  if (results.some((r) => r.result === "exists")) return refuse("already_reversed");
  return {
    reversalId: id,
    originalId: original.id,
    amountMinor: original.amountMinor,
    feeRefundMinor: group.feeMinor,
    commissionClawbackMinor: group.commissionMinor,
    currency: original.currency,
  };
}

/**
 * Whether a later slot holds the reversal: once it posted, the customer may well be short of the
 * amount again, and the answer is "already reversed", not "spent". Slots fill in order, so only
 * those after a refused one can hold it.
 */
async function reversedInLaterSlot(kit: AgentKit, originalId: string, slot: number): Promise<boolean> {
  const later = Array.from({ length: MAX_SLOTS - slot - 1 }, (_, i) => kit.deps.ledger.getTransfer(reversalId(originalId, slot + 1 + i)));
  return (await Promise.all(later)).some((t) => t !== null);
}

/**
 * The float's ceiling binds a reversal as it binds a top-up (the bank's other way of putting money
 * on a float): only the ceiling, no daily figure, checked by the ledger with the float locked.
 * A reversal restores the customer's side, not the float's: since the cash-in the float may have
 * been refilled to its ceiling (withdrawals, cash-outs, top-ups) or the bank may have lowered the
 * ceiling, and the amount coming back would then take the float past a cap that every other
 * inflow respects ("posting holds can never take the float over it", docs/agents.md). The ceiling
 * is the bank's own exposure limit on what one agent holds, and the bank is the one reversing: it
 * is told float_limit_exceeded with the room left (nothing moved, the attempt audited) and can
 * make room first (a float withdrawal, which no limit stops) or raise the ceiling, then reverse.
 * Letting it through instead would leave a float over its cap that only cash-ins bring down.
 */
async function ceilingOnly(kit: AgentKit, agent: Agent): Promise<TransferLimits | undefined> {
  const institution = await kit.deps.institutions.get(agent.institutionId);
  return institution ? { timeZone: institution.timezone, payee: floatPolicy(agent.limits, "in") } : undefined;
}

async function compensation(kit: AgentKit, original: Transfer, id: string, slot: number, agent: Agent) {
  const fee = await kit.deps.ledger.getTransfer(feeTransferId(original.id));
  const commission = await kit.deps.ledger.getTransfer(commissionTransferId(original.id));
  const transfers: TransferInput[] = [];
  // The fee refund comes first so the customer's wallet never has to cover more than it received.
  if (fee) transfers.push({ id: legId(original.id, "fee", slot), kind: "single", debitAccountId: fee.creditAccountId, creditAccountId: fee.debitAccountId, amountMinor: fee.amountMinor, code: feeRefundCode("cash_in"), reference: original.id });
  const limits = original.debitAccountId === agent.floatAccountId ? await ceilingOnly(kit, agent) : undefined;
  transfers.push({ id, kind: "single", debitAccountId: original.creditAccountId, creditAccountId: original.debitAccountId, amountMinor: original.amountMinor, code: "cash_in_reversal", reference: original.id, ...(limits ? { limits } : {}) });
  if (commission) {
    transfers.push({ id: legId(original.id, "commission", slot), kind: "single", debitAccountId: commission.creditAccountId, creditAccountId: commission.debitAccountId, amountMinor: commission.amountMinor, code: commissionClawbackCode("cash_in"), reference: original.id });
  }
  return { transfers, feeMinor: fee?.amountMinor ?? 0n, commissionMinor: commission?.amountMinor ?? 0n };
}

/**
 * Why the ledger would refuse the reversal now, read before submitting: an account not active, a
 * customer who has spent the money, an agent paid the commission out, a float with no room under
 * its ceiling for the amount (see ceilingOnly). Null when it would pass.
 */
async function shortfall(
  kit: AgentKit, transfers: TransferInput[], parties: RefusalAccounts, customerOwesMinor: bigint, commissionMinor: bigint, agent: Agent, floatGetsMinor: bigint,
): Promise<AgentRefusal | null> {
  const customerAccountId = parties.walletAccountId!;
  const ids = [...new Set(transfers.flatMap((t) => [t.debitAccountId!, t.creditAccountId!]))];
  const accounts = new Map((await kit.deps.ledger.getAccounts(ids)).map((a) => [a.id, a]));
  const available = (id: string) => {
    const a = accounts.get(id);
    return a ? a.creditsPosted - a.debitsPosted - a.debitsPending : 0n;
  };
  const inactive = ids.filter((id) => accounts.get(id)?.status !== "active").map((id) => unavailable(id, parties));
  const said = UNAVAILABLE_CODES.find((code) => inactive.includes(code));
  if (said) return refuse(said);
  if (available(customerAccountId) < customerOwesMinor) return refuse("customer_funds_spent");
  if (commissionMinor > 0n && available(parties.commissionAccountId!) < commissionMinor) return refuse("commission_paid_out");
  // What the float could come to hold, as the ledger counts it for a cap: pending credits too.
  const float = accounts.get(agent.floatAccountId);
  const holding = float ? float.creditsPosted + float.creditsPending - float.debitsPosted : 0n;
  const room = agent.limits.maxFloatBalanceMinor - holding;
  if (floatGetsMinor > room) return refuse("float_limit_exceeded", { availableMinor: room > 0n ? room : 0n });
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
