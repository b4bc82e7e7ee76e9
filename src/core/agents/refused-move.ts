/**
 * A cash-in or withdrawal the ledger refused answers a retry with that refusal, whatever changed
 * since (the customer blocked, the agent suspended, a SIM swap, the fee schedule): the request's
 * checks are not run again, since an idempotent replay answers the first outcome and changes
 * nothing. Only the same request gets it (the same float and wallet, the same amount), and only
 * with its PIN, as a posted one gets its receipt (posted-move.ts).
 *
 * The ledger's recorded failure is read, never settled: a request with none runs as new, so a first
 * call still on its way to the ledger is neither blocked nor answered for. A recorded failure is
 * final (no id is both a transfer and a failure, and whatever comes under its id later, that first
 * call included, is answered from it), so answering it here is what the ledger itself would say.
 */
import { commissionTransferId, feeTransferId } from "../fees/linked.js";
import { recordedResult } from "../ledger/compare.js";
import { isUuid } from "../ledger/ids.js";
import type { TransferFailure } from "../ledger/types.js";
import type { AgentKit, SentWith } from "./kit.js";
import { namesCustomer, ownerOf } from "./posted-move.js";
import { accountsOf, agentRefusalFor, refuse, type Asker, type RefusedLeg } from "./refusals.js";
import type { Agent, AgentRefusal, CashInInput, WithdrawInput } from "./types.js";

/** The refused group as the ledger recorded it: the move's transfer first, then its fee legs. */
interface RecordedMove {
  move: TransferFailure;
  legs: TransferFailure[];
}

/** The recorded failures of the move's group; null when its transfer has none (never refused, or not yet at the ledger). */
async function recordedMove(kit: AgentKit, transferId: string): Promise<RecordedMove | null> {
  const ids = [transferId, feeTransferId(transferId), commissionTransferId(transferId)];
  const found = await kit.deps.ledger.getFailures(ids);
  const legs = ids.flatMap((id) => found.filter((f) => f.id === id));
  const move = legs[0];
  if (!move || move.id !== transferId) return null;
  return { move, legs };
}

/**
 * An id abandoned (Ledger.abandon, after a write that threw under SIM-swap cooling) records no body
 * to compare a retry with: the ledger refuses whatever comes under it, transfer_abandoned, and so
 * does its retry here, request_abandoned, once the asker's PIN is right.
 */
const abandoned = (recorded: RecordedMove): boolean => recorded.move.result === "transfer_abandoned";

async function abandonedAnswer(kit: AgentKit, subject: { type: "agent" | "customer"; id: string }, pin: string, channel: CashInInput["channel"], sent: SentWith): Promise<AgentRefusal> {
  return (await kit.verifyPin(subject, pin, channel, sent)) ?? refuse("request_abandoned");
}

/** The refusal the first call heard, from the group's recorded failures (a limit's room is not said again). */
function answer(recorded: RecordedMove, agent: Agent, walletAccountId: string | null, asker: Asker): AgentRefusal {
  const legs: RefusedLeg[] = recorded.legs.map((f) => ({ id: f.id, debitAccountId: f.debitAccountId ?? undefined, creditAccountId: f.creditAccountId ?? undefined }));
  const refusal = agentRefusalFor(recorded.legs.map(recordedResult), legs, accountsOf(agent, walletAccountId ?? undefined), asker);
  if (!refusal) throw new Error("a cash move's recorded failures name no refusal");
  return refusal;
}

/** The first refusal of a cash-in the ledger refused; null when it was not refused (the request runs as new). */
export async function refusedCashIn(kit: AgentKit, input: CashInInput, transferId: string): Promise<AgentRefusal | null> {
  const recorded = await recordedMove(kit, transferId);
  if (!recorded) return null;
  const agent = isUuid(input.agentId) ? await kit.deps.store.get(input.agentId) : null;
  if (!agent) return refuse("agent_not_found");
  if (abandoned(recorded)) return abandonedAnswer(kit, { type: "agent", id: agent.id }, input.agentPin, input.channel, { operation: "cash_in", body: input });
  if (recorded.move.debitAccountId !== agent.floatAccountId || recorded.move.amountMinor !== input.amountMinor) return refuse("request_id_reused");
  // The PIN before anything of the customer, as for a posted cash-in.
  const pinRefused = await kit.verifyPin({ type: "agent", id: agent.id }, input.agentPin, input.channel, { operation: "cash_in", body: input });
  if (pinRefused) return pinRefused;
  const customer = recorded.move.creditAccountId ? await ownerOf(kit, recorded.move.creditAccountId) : null;
  if (!customer || !(await namesCustomer(kit, agent, input, customer.id))) return refuse("request_id_reused");
  return answer(recorded, agent, recorded.move.creditAccountId, "agent");
}

/** The first refusal of a withdrawal the ledger refused; null when it was not refused. */
export async function refusedWithdrawal(kit: AgentKit, input: WithdrawInput, transferId: string): Promise<AgentRefusal | null> {
  const recorded = await recordedMove(kit, transferId);
  if (!recorded) return null;
  if (abandoned(recorded)) {
    const asker = isUuid(input.customerId) ? await kit.deps.directory.getCustomer(input.customerId) : null;
    return asker ? abandonedAnswer(kit, { type: "customer", id: asker.id }, input.customerPin, input.channel, { operation: "withdraw", body: input }) : refuse("customer_not_found");
  }
  const { move } = recorded;
  const customer = move.debitAccountId ? await ownerOf(kit, move.debitAccountId) : null;
  if (!customer || customer.id !== input.customerId || move.amountMinor !== input.amountMinor) return refuse("request_id_reused");
  const pinRefused = await kit.verifyPin({ type: "customer", id: customer.id }, input.customerPin, input.channel, { operation: "withdraw", body: input });
  if (pinRefused) return pinRefused;
  const [float] = move.creditAccountId ? await kit.deps.ledger.getAccounts([move.creditAccountId]) : [];
  const agent = float?.ownerRef ? await kit.deps.store.get(float.ownerRef) : null;
  if (!agent) return refuse("agent_not_found");
  const sameAgent = (await kit.msisdn(input.agentNumber, customer.institutionId)) === agent.msisdn
    && typeof input.storeNumber === "string" && input.storeNumber.trim() === agent.storeNumber;
  if (!sameAgent) return refuse("request_id_reused");
  return answer(recorded, agent, move.debitAccountId, "customer");
}
