import { feeLegDiffers, paymentWithFee, postedFee } from "../fees/linked.js";
import type { Institution } from "../institutions/types.js";
import type { TransferLimits } from "../ledger/types.js";
import type { Notice } from "../notices/types.js";
import type { AgentKit, Fee } from "./kit.js";
import { accountsOf, agentRefusalFor, type Asker } from "./refusals.js";
import type { Agent, AgentResult, CashReceipt } from "./types.js";

/** paymentWithFee never pays more commission than the fee. */
export const commissionPaid = (fee: Fee): bigint => (fee.commissionMinor < fee.feeMinor ? fee.commissionMinor : fee.feeMinor);

/** Who moves cash through which agent, and what it costs: what a cash-in's or withdrawal's plan settles. */
export interface CashParties {
  agent: Agent;
  institution: Institution;
  fee: Fee;
}

/** One cash-in or withdrawal, as decided by its caller once the plan, the SIM swap check and the PIN passed. */
export interface CashMove {
  /** The request's id (the transfer's reference) and the transfer id derived from it. */
  requestId: string;
  transferId: string;
  type: "cash_in" | "cash_out";
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  /** Who pays the fee when not the debited account: for a cash-in, the customer credited. */
  feePayerAccountId?: string;
  limits: TransferLimits;
  /** Who asked (the agent for a cash-in, the customer for a withdrawal): whose limits' room a refusal tells. */
  asker: Asker;
  notices: Notice[];
  customerId: string;
  /** The other party as the receipt names it. */
  maskedName: string;
}

/**
 * Cash-in and withdrawal end alike: one linked group (the money, the bank's fee, the agent's share
 * of it) carrying the limits and the receipts on its first transfer, all or nothing; a refusal of
 * any leg is the whole move's refusal, a replayed request answers its first receipt.
 */
export async function submitCashMove(kit: AgentKit, parties: CashParties, move: CashMove): Promise<AgentResult<CashReceipt>> {
  const feeIncomeAccountId = await kit.feeIncomeId(parties.institution);
  const submit = (fee: Fee) => {
    const group = paymentWithFee(
      { id: move.transferId, debitAccountId: move.debitAccountId, creditAccountId: move.creditAccountId, amountMinor: move.amountMinor, code: move.type, reference: move.requestId },
      { type: move.type, feeMinor: fee.feeMinor, agentCommissionMinor: fee.commissionMinor },
      { feeIncomeAccountId, feePayerAccountId: move.feePayerAccountId, agentCommissionAccountId: parties.agent.commissionAccountId },
    );
    group[0]!.limits = move.limits;
    group[0]!.notices = move.notices;
    return kit.deps.ledger.submitLinked(group).then((results) => ({ group, results }));
  };
  let p = parties;
  let { group, results } = await submit(p.fee);
  const readPosted = () => postedFee(move.transferId, (id) => kit.deps.ledger.getTransfer(id));
  // Posted before a change to the schedule: the retry answers with the fee it posted with.
  const posted = feeLegDiffers(results) ? await readPosted() : null;
  if (posted) {
    p = { ...p, fee: { ...p.fee, ...posted } };
    ({ group, results } = await submit(p.fee));
  } else if (results[0]!.result === "exists") {
    // A replay whose group matched: its receipt says what moved, not today's schedule (an agent
    // share cut to nothing since drops the commission leg from the group, and no leg differs).
    const moved = await readPosted();
    if (moved) p = { ...p, fee: { ...p.fee, ...moved } };
  }
  // The customer's side of the money: the wallet (or instrument) credited by a cash-in, debited by a withdrawal.
  const walletAccountId = move.type === "cash_in" ? move.creditAccountId : move.debitAccountId;
  const refusal = agentRefusalFor(results, group, accountsOf(p.agent, walletAccountId), move.asker);
  if (refusal) return refusal;
  return {
    ok: true,
    transferId: move.transferId,
    agentId: p.agent.id,
    customerId: move.customerId,
    maskedName: move.maskedName,
    amountMinor: move.amountMinor,
    feeMinor: p.fee.feeMinor,
    commissionMinor: commissionPaid(p.fee),
    currency: p.institution.currency,
    replayed: results[0]!.result === "exists",
  };
}
