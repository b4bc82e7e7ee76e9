/**
 * The hold of an agent-initiated cash-out: the amount and its fee held on the customer's wallet as
 * pending transfers (to the float and to fee income) that lapse by the request's deadline.
 */
import type { Customer } from "../directory/types.js";
import { feeCode, feeTransferId } from "../fees/linked.js";
import type { Institution } from "../institutions/types.js";
import type { TransferInput, TransferResult } from "../ledger/types.js";
import type { LimitPolicy } from "../limits/types.js";
import { floatPolicy, type AgentKit, type Fee } from "./kit.js";
import { approvalPrompt } from "./notices.js";
import type { CashOutRecord } from "./ports.js";
import { accountsOf, agentRefusalFor } from "./refusals.js";
import type { Agent, AgentRefusal } from "./types.js";

/**
 * Whole seconds from now to a request's deadline, rounded up: how long a hold made now may last.
 * A request keeps the deadline it was first recorded with, whenever its hold is made (a retry, a
 * first call that reached the ledger late): approveCashOut refuses past that deadline, so a hold
 * that ran longer would only tie up the customer's funds and daily limit with nothing to post it.
 */
export const secondsLeft = (deadline: Date, now: Date): number => Math.ceil((deadline.getTime() - now.getTime()) / 1000);

/** The timeout a request was recorded with (its record's deadline is its creation plus that). */
export const recordedTimeoutSec = (r: Pick<CashOutRecord, "expiresAt" | "createdAt">): number => (r.expiresAt.getTime() - r.createdAt.getTime()) / 1000;

export interface HoldParts {
  pendingId: string;
  /** The agent's request id, the hold's reference. */
  requestId: string;
  agent: Agent;
  institution: Institution;
  customer: Customer;
  amountMinor: bigint;
  /** What the request's record says it holds: a retry rebuilt from a fee schedule changed since would not be the group written. */
  held: Fee;
  feeIncomeId: string;
  /** The customer's own limits (channel agent). */
  payer: LimitPolicy;
}

/** The hold's linked group, lasting timeoutSec. */
export function holdGroup(p: HoldParts, timeoutSec: number): TransferInput[] {
  const { pendingId, agent, institution, customer } = p;
  const group: TransferInput[] = [
    { id: pendingId, kind: "pending", debitAccountId: customer.walletAccountId, creditAccountId: agent.floatAccountId, amountMinor: p.amountMinor, timeoutSec, code: "cash_out", reference: p.requestId },
  ];
  if (p.held.feeMinor > 0n) {
    group.push({ id: feeTransferId(pendingId), kind: "pending", debitAccountId: customer.walletAccountId, creditAccountId: p.feeIncomeId, amountMinor: p.held.feeMinor, timeoutSec, code: feeCode("cash_out"), reference: pendingId });
  }
  // The agent asks: its float's limits answer before the customer's funds, which it must not learn.
  group[0]!.limits = { timeZone: institution.timezone, payer: p.payer, payee: floatPolicy(agent.limits, "in"), payeeInbound: true, payeeFirst: true };
  group[0]!.notices = [approvalPrompt({ agent, institution, customer, fee: p.held }, p.amountMinor, pendingId, timeoutSec)];
  return group;
}

/**
 * Submits the hold for timeoutSec (the time left to the request's deadline). A hold already made
 * under its id with another timeout is this very request's, made at another time by an earlier call
 * or by one racing this (admit compared the record, the timeout included, before either asked the
 * ledger): it is answered as made, the group sent again with that hold's own timeout, since the
 * ledger answers `exists` only to the same one. Otherwise the request was refused request_id_reused.
 */
export async function submitHold(kit: AgentKit, parts: HoldParts, timeoutSec: number): Promise<{ group: TransferInput[]; results: TransferResult[] }> {
  const group = holdGroup(parts, timeoutSec);
  const results = await kit.deps.ledger.submitLinked(group);
  if (results[0]?.result !== "exists_with_different_timeout") return { group, results };
  const made = await kit.deps.ledger.getTransfer(parts.pendingId);
  if (!made?.timeoutSec) return { group, results };
  const again = holdGroup(parts, made.timeoutSec);
  return { group: again, results: await kit.deps.ledger.submitLinked(again) };
}

/**
 * What the ledger answered the hold of a request kept as refused, asked again without any of the
 * request's checks (the customer's or agent's status, the customer lookup, a SIM swap, the fee
 * schedule), which may all say otherwise by now: a retry answers the first call's outcome. The
 * refusal, or null when the hold was made (refused at approval: its holds were voided then).
 *
 * Changes nothing. The hold's id is settled first (Ledger.abandon: a refused id is a recorded
 * failure already, a made hold a transfer, and either is answered as it stands), so the group,
 * the first call's own, can hold nothing whatever the record says: the ledger answers it with its
 * recorded refusal (the whole group's, RECORDED_FAILURES), and the timeout is not compared then.
 */
export async function refusedHoldAnswer(kit: AgentKit, record: CashOutRecord, requestId: string, agent: Agent, institution: Institution): Promise<AgentRefusal | null> {
  if (!(await kit.deps.ledger.abandon(record.pendingId))) return null;
  const customer = await kit.deps.directory.getCustomer(record.customerId);
  if (!customer) throw new Error("a refused cash-out names a customer the directory does not hold");
  const parts: HoldParts = {
    pendingId: record.pendingId, requestId, agent, institution, customer, amountMinor: record.amountMinor,
    held: { feeMinor: record.feeMinor, commissionMinor: record.commissionMinor },
    feeIncomeId: await kit.feeIncomeId(institution), payer: await kit.customerPolicy(institution.id, customer, "agent"),
  };
  const group = holdGroup(parts, recordedTimeoutSec(record));
  const refusal = agentRefusalFor(await kit.deps.ledger.submitLinked(group), group, accountsOf(agent, customer.walletAccountId), "agent");
  if (!refusal) throw new Error("the ledger made a hold under a settled cash-out id");
  return refusal;
}
