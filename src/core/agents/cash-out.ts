import { commissionCode, commissionTransferId, feeCode, feeTransferId } from "../fees/linked.js";
import { derivedUuid, isUuid } from "../ledger/ids.js";
import type { TransferInput } from "../ledger/types.js";
import { LIMIT_CODES } from "../limits/types.js";
import { commissionPaid } from "./cash-move.js";
import { recordedTimeoutSec, refusedHoldAnswer, secondsLeft, submitHold, type HoldParts } from "./cash-out-hold.js";
import { isAgentChannel, isAmount, type AgentKit, type Fee } from "./kit.js";
import { namesCustomer } from "./posted-move.js";
import { cancelledNotice, cashOutNotices, declinedNotice } from "./notices.js";
import type { CashOutCounts, CashOutRecord } from "./ports.js";
import { accountsOf, agentRefusalFor, isUnavailable, refuse } from "./refusals.js";
import {
  DEFAULT_CASH_OUT_TIMEOUT_SEC,
  MAX_CASH_OUT_TIMEOUT_SEC,
  MAX_PENDING_CASH_OUTS_PER_CUSTOMER,
  MAX_UNANSWERED_CASH_OUTS_PER_DAY,
  MIN_CASH_OUT_TIMEOUT_SEC,
  type AgentCode,
  type AgentRefusal,
  type AgentResult,
  type ApproveCashOutInput,
  type CashReceipt,
  type AgentChannel,
  type PendingCashOut,
  type ShownCashOutState,
  type StartCashOutInput,
} from "./types.js";

/** The held transfer's id (also the pending cash-out's id) for an agent's request id. */
export const cashOutPendingId = (requestId: string): string => derivedUuid(`fingate:agents:cash-out:${requestId}`);
const postId = (pendingId: string, leg: string) => derivedUuid(`fingate:agents:cash-out-post:${leg}:${pendingId}`);
const voidId = (pendingId: string, leg: string) => derivedUuid(`fingate:agents:cash-out-void:${leg}:${pendingId}`);
/** The id Ledger.expirePendings gives the void of an expired pending: its presence means "expired". */
const expiryVoidId = (pendingId: string) => derivedUuid(`fingate:expire:${pendingId}`);

function timeoutOf(kit: AgentKit, requested: unknown): number | null {
  const value = requested ?? kit.deps.cashOutTimeoutSec ?? DEFAULT_CASH_OUT_TIMEOUT_SEC;
  if (typeof value !== "number" || !Number.isInteger(value)) return null;
  return value >= MIN_CASH_OUT_TIMEOUT_SEC && value <= MAX_CASH_OUT_TIMEOUT_SEC ? value : null;
}

/**
 * A request retried once decided answers what became of it, whatever changed since (the customer
 * blocked, the agent suspended, the fee schedule, a SIM swap): told "refused", an agent whose
 * customer approved would not hand over the cash they paid for. A request the ledger refused
 * answers that refusal again, not whichever of the request's checks would refuse it now (until
 * 2026-11-30 it ran them all again: a customer blocked since answered customer_not_found, say).
 * A request pending with its hold made is answered so too: told a refusal (a SIM swap reported
 * since, say), the agent would take the request for failed while the customer may still approve it.
 * Only the same request (agent, customer, amount, timeout) with the agent's PIN. A pending request
 * whose hold the ledger has not made (its first call died before asking, or is on its way) runs as
 * new, its checks and all, until its deadline: the hold it makes is made now. Past the deadline it
 * is decided (lapsedUnheld): expired, for every retry (until 2026-11-30 each ran its checks again).
 */
async function decidedCashOut(kit: AgentKit, input: StartCashOutInput, channel: AgentChannel): Promise<AgentResult<{ pending: PendingCashOut; replayed: boolean }> | null> {
  const record = await kit.deps.store.getCashOut(cashOutPendingId(input.id));
  if (!record || record.agentId !== input.agentId) return null;
  // "expired" with no hold: settled so by a call that met the id abandoned (startCashOut), decided.
  const unheld = (record.state === "pending" || record.state === "expired") && !(await kit.deps.ledger.getTransfer(record.pendingId));
  if (unheld && record.state === "pending" && secondsLeft(record.expiresAt, kit.now()) > 0) return null;
  const agent = await kit.deps.store.get(record.agentId);
  const institution = agent ? await kit.deps.institutions.get(agent.institutionId) : null;
  if (!agent || !institution) return null;
  const pinRefused = await kit.verifyPin({ type: "agent", id: agent.id }, input.agentPin, channel, { operation: "cash_out", body: input });
  if (pinRefused) return pinRefused;
  const same = record.amountMinor === input.amountMinor && sameTimeout(record, input.timeoutSec);
  if (!same || !(await namesCustomer(kit, agent, input, record.customerId))) return refuse("request_id_reused");
  // An "expired" record's id was abandoned already: settling it again is a no-op that says so.
  const lapsed = unheld ? await lapsedUnheld(kit, record.pendingId) : "held";
  if (lapsed === "expired") {
    await kit.deps.store.settleCashOut(record.pendingId, "expired", kit.now());
    return refuse("pending_expired");
  }
  if (lapsed === "refused") return null;
  const refusal = record.state === "refused" ? await refusedHoldAnswer(kit, record, input.id, agent, institution) : null;
  return refusal ?? { ok: true, pending: view(record, agent, institution.currency, kit.now()), replayed: true };
}

/**
 * What became of a request whose deadline passed with no hold made under its id. Its id is settled
 * first (settleLapsed), so a first call still on its way can make none now. "expired": the id is
 * abandoned (now or by an earlier retry): decided, answered so without the request's checks, as
 * every retry after it is. "held": the hold was made meanwhile (answered as that request, expired).
 * "refused": the ledger had refused it and the call died before settling the record: the request
 * runs as new, and the ledger's recorded refusal settles the record (leftPending).
 */
async function lapsedUnheld(kit: AgentKit, pendingId: string): Promise<"expired" | "held" | "refused"> {
  if (!(await kit.deps.ledger.abandon(pendingId))) return "held";
  const [failure] = await kit.deps.ledger.getFailures([pendingId]);
  return failure?.result === "transfer_abandoned" ? "expired" : "refused";
}

/**
 * Agent-initiated cash-out: the amount and its fee are held on the customer's wallet as pending
 * transfers (to the float and to fee income) that lapse after the timeout. Nothing is earned and
 * nothing reaches the float until the customer approves with their own PIN.
 */
export async function startCashOut(kit: AgentKit, input: StartCashOutInput): Promise<AgentResult<{ pending: PendingCashOut; replayed: boolean }>> {
  if (!isUuid(input.id)) return refuse("invalid_request_id");
  const channel = input.channel ?? "agent";
  const timeoutSec = timeoutOf(kit, input.timeoutSec);
  if (!isAgentChannel(channel) || timeoutSec === null) return refuse("invalid_input");
  if (!isAmount(input.amountMinor)) return refuse("invalid_amount");
  const decided = await decidedCashOut(kit, input, channel);
  if (decided) return decided;
  const found = await kit.activeAgent(input.agentId);
  if ("code" in found) return found;
  const { agent, institution } = found;
  const party = await kit.customerByQuery(agent, input.customerQuery, input.customerId);
  if ("code" in party) return party;
  const customer = party.customer;
  if (customer.status !== "active") return refuse("customer_unavailable");
  if (input.amountMinor > agent.limits.maxPerTransactionMinor) return refuse("per_transaction_exceeded", { availableMinor: agent.limits.maxPerTransactionMinor });
  const fee = await kit.fee(institution.id, "cash_out", input.amountMinor);
  if ("code" in fee) return fee;
  // The agent's PIN first: what follows tells of the customer (a recent SIM swap and when its
  // cooling ends), which a device key alone must not learn by asking over and over.
  const pinRefused = await kit.verifyPin({ type: "agent", id: agent.id }, input.agentPin, channel, { operation: "cash_out", body: input });
  if (pinRefused) return pinRefused;
  // The money leaves the customer's wallet, as in a withdrawal: a number just swapped to a new SIM
  // must not approve it (a thief's first move), so neither is a hold put on it.
  // Advice here: the hold moves no money; the approval takes the amount from a cooling allowance.
  const swap = await kit.simSwapCheck(customer.msisdn, input.amountMinor + fee.feeMinor);
  if ("code" in swap) return swap;
  const pendingId = cashOutPendingId(input.id);
  // The record first: the customer's list must never miss a hold that exists in the ledger. The
  // record of a hold the ledger refused is marked refused (the customer's side) or removed (the
  // agent's own side), below. A new request is recorded only if the agent may still
  // ask this customer (admitted under a lock with the requests before it: see crowding).
  const now = kit.now();
  const record: CashOutRecord = {
    pendingId, agentId: agent.id, customerId: customer.id, amountMinor: input.amountMinor, feeMinor: fee.feeMinor,
    commissionMinor: commissionPaid(fee), state: "pending", expiresAt: new Date(now.getTime() + timeoutSec * 1000), createdAt: now,
  };
  const admitted = await admit(kit, record, input.timeoutSec);
  if ("code" in admitted) return admitted;
  const { existing, wrote } = admitted;
  // The hold ends by the deadline the request was first recorded with, however late it is made
  // (a retry, a first call that reached the ledger late); past it, none is made (settleLapsed).
  const left = secondsLeft((existing ?? record).expiresAt, kit.now());
  const lapsed = left <= 0;
  if (lapsed) await settleLapsed(kit, pendingId);
  const parts: HoldParts = {
    pendingId, requestId: input.id, agent, institution, customer, amountMinor: input.amountMinor,
    // A retried request holds what its record says it held: rebuilt from a fee schedule changed since,
    // it would not be the group written, and its retry would be refused instead of told its state.
    held: existing ? { feeMinor: existing.feeMinor, commissionMinor: existing.commissionMinor } : fee,
    feeIncomeId: await kit.feeIncomeId(institution), payer: await kit.customerPolicy(institution.id, customer, "agent"),
  };
  // Lapsed, the group only asks the ledger how the id was settled: its timeout makes nothing.
  const { group, results } = await submitHold(kit, parts, Math.max(1, left));
  const refusal = agentRefusalFor(results, group, accountsOf(agent, customer.walletAccountId), "agent");
  // Abandoned by this (or an earlier) lapsed retry: the first call made no hold in time. The record
  // stays "pending" past its deadline, which every reader takes as lapsed. Only a lapsed call
  // abandons a hold's id (settleLapsed), so this is so whatever this call read of the deadline: a
  // slow first call that read it as ahead, then met the abandon at the ledger, answers expired too.
  // Until 2026-11-30 it took the abandon for a refusal on the agent's side and deleted the record,
  // and every later retry of the id ran as a new request. The record is settled expired, not left
  // pending to its deadline: one written by this very call (its id abandoned with no record left,
  // as that old code left it, or read on a clock behind the abandoning one's) would otherwise read
  // as pending, and count as a waiting request, until a deadline it was just given.
  if (refusal?.code === "request_abandoned") {
    await kit.deps.store.settleCashOut(pendingId, "expired", kit.now());
    return refuse("pending_expired");
  }
  if (refusal) {
    await settleRefusedRecord(kit, { pendingId, wrote, existing }, refusal);
    return refusal;
  }
  const stored = await kit.deps.store.getCashOut(pendingId);
  // A retried request answers what became of it (approved, or cancelled at approval, say).
  return { ok: true, pending: view(stored ?? record, agent, institution.currency, now), replayed: results[0]!.result === "exists" };
}

/**
 * The request's record: written now (wrote), or the one an earlier call with the same request id
 * wrote (existing), which must be this request (sameRequest: agent, customer, amount, timeout) or it is refused before
 * anything is held. A call racing this one with the same id may write it between our read and our
 * insert: the insert then finds it, and it is read and compared like any earlier one. Without that
 * the racing call put its own hold (another customer's wallet, another amount) under an id whose
 * record describes the first, and the customer approving that record posted the other's hold.
 */
async function admit(kit: AgentKit, record: CashOutRecord, requestedTimeoutSec: number | undefined): Promise<{ existing: CashOutRecord | null; wrote: boolean } | AgentRefusal> {
  const admission = { since: new Date(record.createdAt.getTime() - DAY_MS), now: record.createdAt, admits: (counts: CashOutCounts) => crowding(counts) === null };
  // A record removed in between (its hold refused on the agent's side) is written again: a few turns at most.
  for (let turn = 0; turn < 3; turn++) {
    const existing = await kit.deps.store.getCashOut(record.pendingId);
    if (existing) {
      return sameRequest(existing, record, requestedTimeoutSec) ? { existing, wrote: false } : refuse("request_id_reused");
    }
    const inserted = await kit.deps.store.insertCashOut(record, admission);
    if (inserted.outcome === "not_admitted") return crowding(inserted.counts) ?? refuse("too_many_pending");
    if (inserted.outcome === "inserted") return { existing: null, wrote: true };
  }
  throw new Error("a cash-out record kept changing under its request id");
}

/**
 * Whether an earlier call's record is this request: the same agent, customer and amount, and the
 * same timeout when the retry names one (one that names none takes the record's: the default may
 * have been configured otherwise since). Another timeout is another request under the same id:
 * its hold would end at another time than the record says, so it is refused before anything is
 * held, as another amount is (until 2026-11-30 it was made, when the first call had made none).
 */
function sameRequest(existing: CashOutRecord, record: CashOutRecord, requestedTimeoutSec: number | undefined): boolean {
  return sameTimeout(existing, requestedTimeoutSec) && existing.agentId === record.agentId && existing.customerId === record.customerId && existing.amountMinor === record.amountMinor;
}

const sameTimeout = (existing: CashOutRecord, requestedTimeoutSec: number | undefined): boolean =>
  requestedTimeoutSec === undefined || recordedTimeoutSec(existing) === requestedTimeoutSec;

/**
 * A retry of a request whose deadline has passed (or a first call that reached this point only
 * after its own deadline, a slow process, say): before its group goes to the ledger, the hold's
 * id is settled for good (Ledger.abandon), so that the group can make no hold now: submitted
 * unsettled, the hold would have been made with the full timeout under a record whose deadline had
 * passed, which no approval could post (approveCashOut refuses past the record's deadline), yet it
 * would sit on the customer's wallet, their funds and daily limit tied up, until the ledger's own
 * timeout ran out. Settled, not read: a read that finds no hold proves nothing while the first call
 * may still be on its way to the ledger (a slow process, a stuck connection).
 *
 * The group is then submitted anyway, and the ledger answers as it did the first call: a hold the
 * first call made is "exists" (the request, answered expired); a hold it refused is that refusal,
 * recorded for good with the whole group (RECORDED_FAILURES), so a retry of a request refused for
 * insufficient funds, say, hears insufficient_funds again, deadline or not, as a retry before the
 * deadline does (its record settled as the first call would have, settleRefusedRecord); an id
 * abandoned here (the first call died before the ledger, or is still on its way and is refused
 * there) is answered pending_expired, as every later retry is (the record stays "pending" past its
 * deadline, which every reader takes as lapsed: no list offers it, an approval is refused, the
 * agent's status read says "expired", and it counts as unanswered).
 */
async function settleLapsed(kit: AgentKit, pendingId: string): Promise<void> {
  // A refused record's id is a recorded failure already: abandon answers it as it stands.
  await kit.deps.ledger.abandon(pendingId);
}

/**
 * The record of a hold the ledger refused. A refusal for the customer's side is kept as "refused",
 * so that it counts against the agent like a declined request: otherwise an agent could bisect a
 * customer's balance (or remaining limit) with requests that hold nothing, or keep asking a frozen
 * wallet. One for the agent's own side is removed. A retry of the same request id finds that
 * record and gets the ledger's first answer again, whatever the customer holds by then (the ledger
 * keeps a refusal for good), without counting twice; trying again after a top-up takes a new
 * request id, which counts as a new request.
 */
async function settleRefusedRecord(kit: AgentKit, call: RefusedCall, refusal: AgentRefusal): Promise<void> {
  // The id names a hold another call made (request_id_reused is said only of an existing one): one
  // with this very agent, customer and amount (admit compared them), another timeout, say. The
  // record is that hold's: removed, the hold would sit on the wallet with nothing to approve it by.
  if (refusal.code === "request_id_reused") return;
  if (!call.wrote && !(await leftPending(kit, call.existing))) return;
  if (refusedForCustomer(refusal.code)) await kit.deps.store.settleCashOut(call.pendingId, "refused", kit.now());
  else await kit.deps.store.deleteRefusedCashOut(call.pendingId);
}

interface RefusedCall {
  pendingId: string;
  /** Whether this call wrote the record. */
  wrote: boolean;
  /** The record an earlier call with the same request id wrote, as this call found it. */
  existing: CashOutRecord | null;
}

/**
 * Whether an earlier call's record is one that call left "pending" over a hold the ledger refused:
 * it died after the ledger's answer and before settling the record (or before asking, and this
 * call's answer is the first). Such a record holds nothing, yet it counts as awaiting the customer
 * and then as lapsed, whichever side the refusal was on. The agent heard nothing, so its app sends
 * the same request id again, and that retry settles the record as the first call would have.
 *
 * Safe because the ledger is asked, not assumed: it holds no transfer under this id after refusing
 * it, and a refusal kept as the customer's is one the ledger records for good (RECORDED_FAILURES),
 * so no later call can make the hold this record would then hide; a removed record is written
 * again by a later retry before it asks the ledger. Otherwise an earlier request's record is left
 * as it is: it describes its own hold (a retry with another timeout or fee is refused as
 * request_id_reused while the hold stands) or its own settled refusal.
 */
async function leftPending(kit: AgentKit, existing: CashOutRecord | null): Promise<boolean> {
  if (!existing || existing.state !== "pending") return false;
  return (await kit.deps.ledger.getTransfer(existing.pendingId)) === null;
}

/**
 * A cash-out refused for the customer's side: what their wallet holds, their own limits, or their
 * wallet being frozen or closed. Both debits are the customer's wallet and the float's own limits
 * are said as float_limit_exceeded, so in this flow the funds and limit codes are the customer's
 * alone, and customer_unavailable is said of the wallet only (refusals.ts: unavailable). The
 * ledger checks the wallet's state before its funds or any limit, so the agent hears
 * customer_unavailable whatever the amount; counting it only stops it from asking again and again.
 */
export function refusedForCustomer(code: AgentCode): boolean {
  return code === "customer_unavailable" || code === "insufficient_funds" || (LIMIT_CODES as readonly string[]).includes(code);
}

/**
 * A customer's held funds and limit usage are an agent's to tie up only so often, and what they
 * hold is not the agent's to probe: at most MAX_PENDING_CASH_OUTS_PER_CUSTOMER requests awaiting
 * them at once (those still in flight count), and from one agent at most
 * MAX_UNANSWERED_CASH_OUTS_PER_DAY requests a day that they declined or let lapse, or that the
 * ledger refused for their side (refusedForCustomer).
 */
export function crowding(counts: CashOutCounts): AgentRefusal | null {
  if (counts.waiting >= MAX_PENDING_CASH_OUTS_PER_CUSTOMER) return refuse("too_many_pending");
  return counts.unanswered >= MAX_UNANSWERED_CASH_OUTS_PER_DAY ? refuse("cash_outs_declined") : null;
}

const DAY_MS = 86_400_000;

type ShownRecord = CashOutRecord & { state: ShownCashOutState };

/** A refused or cancelled request is no cash-out to its customer: it holds nothing and awaits nobody. */
const shown = (r: CashOutRecord): r is ShownRecord => r.state !== "refused" && r.state !== "cancelled";

function view(r: CashOutRecord, agent: { name: string; storeNumber: string }, currency: string, now: Date): PendingCashOut {
  const state = r.state === "pending" && r.expiresAt.getTime() <= now.getTime() ? "expired" : r.state;
  return { ...r, state, agentName: agent.name, storeNumber: agent.storeNumber, currency };
}

/**
 * A cash-out as its agent sees it, refused or cancelled ones too (the agent's app learns the
 * request is over and hands over no cash); null when unknown.
 */
export async function cashOutStatus(kit: AgentKit, pendingId: string): Promise<PendingCashOut | null> {
  const record = isUuid(pendingId) ? await kit.deps.store.getCashOut(pendingId) : null;
  if (!record) return null;
  const agent = await kit.deps.store.get(record.agentId);
  const institution = agent ? await kit.deps.institutions.get(agent.institutionId) : null;
  if (!agent || !institution) return null;
  return view(record, agent, institution.currency, kit.now());
}

export async function pendingCashOuts(kit: AgentKit, customerId: string): Promise<PendingCashOut[]> {
  if (!isUuid(customerId)) return [];
  const now = kit.now();
  const records = await kit.deps.store.listPendingCashOuts(customerId, now, MAX_PENDING_CASH_OUTS_PER_CUSTOMER);
  const held = await heldInLedger(kit, records);
  const views: PendingCashOut[] = [];
  for (const r of records) {
    if (!shown(r) || !held.has(r.pendingId)) continue;
    const agent = await kit.deps.store.get(r.agentId);
    const institution = agent ? await kit.deps.institutions.get(agent.institutionId) : null;
    if (agent && institution) views.push(view(r, agent, institution.currency, now));
  }
  return views;
}

/**
 * The records whose hold the ledger made. A record is written before the ledger is asked, so one
 * whose call died before it could settle the ledger's refusal stays "pending" over nothing until
 * a retry settles it (leftPending), or until its deadline if none comes (an agent's USSD session
 * that broke is dialled again as a new request). Offered, it would have the customer type their PIN for a
 * cash-out that cannot be approved; a hold the ledger did make is never left out, so this is safe
 * whatever happens after. A request still in flight has no hold yet either, and no prompt was
 * sent for it: the ledger sends that with the hold.
 */
async function heldInLedger(kit: AgentKit, records: CashOutRecord[]): Promise<Set<string>> {
  const found = await Promise.all(records.map((r) => kit.deps.ledger.getTransfer(r.pendingId)));
  return new Set(found.flatMap((t) => (t ? [t.id] : [])));
}

async function ownRecord(kit: AgentKit, pendingId: string, customerId: string) {
  const record = isUuid(pendingId) && isUuid(customerId) ? await kit.deps.store.getCashOut(pendingId) : null;
  if (!record || record.customerId !== customerId || !shown(record)) return refuse("pending_not_found");
  const agent = await kit.deps.store.get(record.agentId);
  const institution = agent ? await kit.deps.institutions.get(agent.institutionId) : null;
  const customer = await kit.deps.directory.getCustomer(customerId);
  if (!agent || !institution || !customer) return refuse("pending_not_found");
  return { record, agent, institution, customer };
}

/** The customer approves with their PIN: both holds are posted and the commission paid, all or nothing. */
export async function approveCashOut(kit: AgentKit, input: ApproveCashOutInput): Promise<AgentResult<CashReceipt>> {
  const channel = input.channel ?? "ussd";
  if (!isAgentChannel(channel)) return refuse("invalid_input");
  const own = await ownRecord(kit, input.pendingId, input.customerId);
  if ("code" in own) return own;
  const { record, agent, customer } = own;
  if (record.state === "declined") return refuse("pending_already_declined");
  // An approval already posted is answered as such (a retried PIN hop gets its receipt), whatever
  // the clock or the customer's status says since; the ledger is asked too, in case the record was
  // not updated after the posting (a crash in between), but only when refusing.
  const expired = record.state === "expired" || record.expiresAt.getTime() <= kit.now().getTime();
  const undecidable = expired ? "pending_expired" : customer.status !== "active" ? "customer_unavailable" : null;
  let postedRead: Promise<boolean> | undefined;
  const posted = () => (postedRead ??= kit.deps.ledger.getTransfer(postId(record.pendingId, "amount")).then((t) => t !== null));
  if (undecidable && record.state !== "approved" && !(await posted())) return refuse(undecidable);
  if (agent.status !== "active" && record.state === "pending" && !(await posted())) {
    // The bank suspended the agent while the customer was deciding: no cash will change hands.
    await declineCashOut(kit, { pendingId: record.pendingId, customerId: customer.id });
    return refuse("agent_unavailable");
  }
  const swap = await kit.simSwapCheck(customer.msisdn, record.amountMinor + record.feeMinor);
  if ("code" in swap) return swap;
  const pinRefused = await kit.verifyPin({ type: "customer", id: customer.id }, input.customerPin, channel, { operation: "cash_out_approval", body: input });
  if (pinRefused) return pinRefused;
  // During a SIM swap's cooling the amount and fee come out of the period's allowance (a total).
  // A throw gives the amount back only once the approval's post is abandoned (refused for good),
  // and the holds, which nothing can post then, are voided (releaseAbandoned).
  const amount = record.amountMinor + record.feeMinor;
  return kit.spendDuringCooling(swap.cooling, amount, postId(record.pendingId, "amount"), () => postApproval(kit, own, posted), () => releaseAbandoned(kit, own));
}

/** The approval's posting, once the SIM-swap check and the customer's PIN passed. */
async function postApproval(kit: AgentKit, own: Own, posted: () => Promise<boolean>): Promise<AgentResult<CashReceipt>> {
  const { record, agent, institution, customer } = own;
  // The PIN check can take a while (a lock's wait, a settle batch): a request whose deadline passed
  // meanwhile is expired, as its status already tells the agent, who hands over no cash. The
  // ledger's hold lapses a little later than the record, so without this it could still post.
  if (record.state !== "approved" && record.expiresAt.getTime() <= kit.now().getTime() && !(await posted())) return refuse("pending_expired");
  const feeIncome = await kit.feeIncomeId(institution);
  const group = approvalGroup(own, feeIncome);
  // No float-ceiling check here: the ledger counted the hold towards the float's ceiling when it
  // was made (pending credits count for a balance cap), so posting it cannot go over.
  const results = await kit.deps.ledger.submitLinked(group);
  const refusal = agentRefusalFor(results, withHeldAccounts(group, own, feeIncome), accountsOf(agent, customer.walletAccountId), "customer");
  if (refusal && isUnavailable(refusal.code)) return releaseRefused(kit, own, refusal);
  if (refusal?.code === "request_abandoned") return releaseAbandoned(kit, own);
  if (refusal) return settleRefusal(kit, record, refusal);
  await kit.deps.store.settleCashOut(record.pendingId, "approved", kit.now());
  return {
    ok: true, transferId: record.pendingId, agentId: agent.id, customerId: customer.id, maskedName: agent.name, amountMinor: record.amountMinor,
    feeMinor: record.feeMinor, commissionMinor: record.commissionMinor, currency: institution.currency, replayed: results[0]!.result === "exists",
  };
}

type Own = Exclude<Awaited<ReturnType<typeof ownRecord>>, AgentRefusal>;

/** Post the amount and the fee, pay the commission; the receipts ride on the first. */
function approvalGroup({ record, agent, institution, customer }: Own, feeIncome: string): TransferInput[] {
  const id = record.pendingId;
  const group: TransferInput[] = [{ id: postId(id, "amount"), kind: "post", pendingId: id, code: "cash_out" }];
  if (record.feeMinor > 0n) group.push({ id: postId(id, "fee"), kind: "post", pendingId: feeTransferId(id), code: feeCode("cash_out") });
  if (record.commissionMinor > 0n) {
    group.push({ id: commissionTransferId(id), kind: "single", debitAccountId: feeIncome, creditAccountId: agent.commissionAccountId, amountMinor: record.commissionMinor, code: commissionCode("cash_out"), reference: id });
  }
  const fee: Fee = { feeMinor: record.feeMinor, commissionMinor: record.commissionMinor };
  group[0]!.notices = cashOutNotices({ agent, institution, customer, fee }, record.amountMinor, id);
  return group;
}

/**
 * The approval's posts as the holds they settle, with the accounts the ledger checks: a post names
 * only its hold, and a refusal for a frozen account is read from the leg's sides. Not submitted.
 */
function withHeldAccounts(group: TransferInput[], { record, agent, customer }: Own, feeIncome: string): TransferInput[] {
  return group.map((t) =>
    t.kind === "post"
      ? { ...t, debitAccountId: customer.walletAccountId, creditAccountId: t.pendingId === record.pendingId ? agent.floatAccountId : feeIncome }
      : t,
  );
}

/**
 * An approval the ledger refused for a frozen or closed account. The ledger keeps that refusal
 * against the posts' ids for good, so the hold could never be approved: it is voided now (the
 * customer's money is free at once, not when the hold lapses) and the agent is told to hand over
 * no cash. The record is kept as "refused" (counted against the agent, as a request refused at
 * the start is) when the customer's wallet was the cause, "cancelled" (not counted) when the
 * agent's or the bank's account was. A retried approval finds no request to approve.
 */
async function releaseRefused(kit: AgentKit, { record, agent, institution }: Own, refusal: AgentRefusal): Promise<AgentRefusal> {
  const id = record.pendingId;
  const group = voidsOf(record);
  group[0]!.notices = [cancelledNotice(agent, record.amountMinor, institution.currency, id)];
  // Voids check no account's state; a hold the sweep voided meanwhile is answered as voided.
  await kit.deps.ledger.submitLinked(group);
  await kit.deps.store.settleCashOut(id, refusal.code === "customer_unavailable" ? "refused" : "cancelled", kit.now());
  return refusal;
}

/**
 * An approval whose post was abandoned (Ledger.abandon, by SimSwapGuard.spend after the approval
 * threw under a SIM swap's cooling): the post's id is refused for good, and with it the linked
 * group (the fee's post goes only with it), so the holds can never be posted by any approval. Left
 * alone they would tie up the customer's funds and daily limit until the customer declined or the
 * ledger's timeout ran out, with nothing to approve them by. They are voided (safe: no post can
 * race the void, the only post of each hold is refused) and the agent is told to hand over no cash;
 * the record is "cancelled" (not counted against the agent: the customer did approve). Run right
 * after the abandon, and again by a retried approval (which the ledger refuses request_abandoned)
 * in case that void failed too. A hold that lapsed first is settled as expired.
 */
async function releaseAbandoned(kit: AgentKit, { record, agent, institution, customer }: Own): Promise<AgentRefusal> {
  const id = record.pendingId;
  const group = voidsOf(record);
  group[0]!.notices = [cancelledNotice(agent, record.amountMinor, institution.currency, id)];
  const results = await kit.deps.ledger.submitLinked(group);
  const refusal = agentRefusalFor(results, group, accountsOf(agent, customer.walletAccountId), "customer");
  if (refusal) await settleRefusal(kit, record, refusal);
  else await kit.deps.store.settleCashOut(id, "cancelled", kit.now());
  return refuse("request_abandoned");
}

/** The voids of a cash-out's holds (the amount, and the fee if any): a decline's, or a refused approval's. */
function voidsOf(record: CashOutRecord): TransferInput[] {
  const id = record.pendingId;
  const group: TransferInput[] = [{ id: voidId(id, "amount"), kind: "void", pendingId: id, code: "cash_out" }];
  if (record.feeMinor > 0n) group.push({ id: voidId(id, "fee"), kind: "void", pendingId: feeTransferId(id), code: feeCode("cash_out") });
  return group;
}

/** A hold voided by the expiry sweep (whose clock may run ahead of ours) is reported as expired. */
async function settleRefusal(kit: AgentKit, record: CashOutRecord, refusal: AgentRefusal): Promise<AgentRefusal> {
  const voided = refusal.code === "pending_already_declined" && record.state === "pending";
  if (refusal.code === "pending_expired" || (voided && (await kit.deps.ledger.getTransfer(expiryVoidId(record.pendingId))))) {
    await kit.deps.store.settleCashOut(record.pendingId, "expired", kit.now());
    return refuse("pending_expired");
  }
  return refusal;
}

/** The customer says no: both holds are voided, the wallet is whole again, the agent is told. */
export async function declineCashOut(kit: AgentKit, input: { pendingId: string; customerId: string }): Promise<AgentResult<{ pendingId: string }>> {
  const own = await ownRecord(kit, input.pendingId, input.customerId);
  if ("code" in own) return own;
  const { record, agent, institution, customer } = own;
  if (record.state === "approved") return refuse("pending_already_approved");
  const id = record.pendingId;
  const group = voidsOf(record);
  group[0]!.notices = [declinedNotice(agent, record.amountMinor, institution.currency, id)];
  const results = await kit.deps.ledger.submitLinked(group);
  const refusal = agentRefusalFor(results, group, accountsOf(agent, customer.walletAccountId), "customer");
  const expiredBySweep = refusal?.code === "pending_already_declined" && (await kit.deps.ledger.getTransfer(expiryVoidId(id))) !== null;
  if (refusal?.code === "pending_expired" || expiredBySweep) {
    await kit.deps.store.settleCashOut(id, "expired", kit.now());
    return refuse("pending_expired");
  }
  if (refusal && refusal.code !== "pending_already_declined") return refusal;
  await kit.deps.store.settleCashOut(id, "declined", kit.now());
  return { ok: true, pendingId: id };
}
