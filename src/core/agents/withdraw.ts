import type { Institution } from "../institutions/types.js";
import { agreedFee } from "../fees/linked.js";
import { derivedUuid, isUuid } from "../ledger/ids.js";
import type { Customer } from "../directory/types.js";
import { submitCashMove } from "./cash-move.js";
import { floatPolicy, isAgentChannel, isAmount, type AgentKit, type Fee } from "./kit.js";
import { refuse } from "./refusals.js";
import type { Agent, AgentRefusal, AgentResult, CashReceipt, WithdrawInput, WithdrawQuote } from "./types.js";
import { cashOutNotices } from "./notices.js";
import { postedWithdrawal } from "./posted-move.js";
import { refusedWithdrawal } from "./refused-move.js";
import type { LimitChannel, LimitTier } from "../limits/types.js";

export const withdrawTransferId = (requestId: string): string => derivedUuid(`fingate:agents:withdraw:${requestId}`);

const STORE_RE = /^[0-9]{4,12}$/;

export interface WithdrawPlan {
  agent: Agent;
  institution: Institution;
  customer: Customer;
  fee: Fee;
}

/**
 * The customer names the agent twice, by phone number and by store number; both must be the
 * same active agent of the customer's bank, so a typo cannot send money to a stranger.
 */
async function plan(kit: AgentKit, customerId: string, agentNumber: unknown, storeNumber: unknown, amountMinor: unknown): Promise<WithdrawPlan | AgentRefusal> {
  if (!isAmount(amountMinor)) return refuse("invalid_amount");
  if (typeof storeNumber !== "string" || !STORE_RE.test(storeNumber.trim())) return refuse("invalid_store_number");
  const customer = await kit.activeCustomer(customerId);
  if ("code" in customer) return customer;
  const msisdn = await kit.msisdn(agentNumber, customer.institutionId);
  if (!msisdn) return refuse("invalid_msisdn");
  const byNumber = await kit.deps.store.findByMsisdn(msisdn, customer.institutionId);
  const byStore = await kit.deps.store.findByStore(storeNumber.trim(), customer.institutionId);
  if (!byNumber && !byStore) return refuse("agent_not_found");
  if (!byNumber || !byStore || byNumber.id !== byStore.id) return refuse("agent_store_mismatch");
  if (byNumber.status !== "active") return refuse("agent_unavailable");
  if (byNumber.msisdn === customer.msisdn) return refuse("self_transaction");
  if (amountMinor > byNumber.limits.maxPerTransactionMinor) return refuse("per_transaction_exceeded", { availableMinor: byNumber.limits.maxPerTransactionMinor });
  const institution = await kit.deps.institutions.get(customer.institutionId);
  if (!institution) return refuse("customer_not_found");
  const fee = await kit.fee(institution.id, "cash_out", amountMinor);
  if ("code" in fee) return fee;
  return { agent: byNumber, institution, customer, fee };
}

/**
 * channel: whose limits the customer's payment falls under, "ussd" for a withdrawal the customer
 * starts, "agent" for a cash-out the agent starts. asker: who sees the quote. The customer's own
 * quote checks their limits against their usage as last counted (the ledger decides under lock),
 * so an amount over them is said now, with what remains. The agent's quote (of its cash-out
 * request) checks only the customer's per-transaction figure, without an amount: what the customer
 * moved today is not the agent's business, and a free yes or no on it before any PIN would let the
 * agent bisect the customer's remaining limit. The ledger checks the rest when the hold is made.
 */
export async function quoteWithdraw(
  kit: AgentKit, customerId: string, agentNumber: string, storeNumber: string, amountMinor: bigint, channel: LimitChannel = "ussd", asker: "customer" | "agent" = "customer",
): Promise<AgentResult<WithdrawQuote>> {
  const p = await plan(kit, customerId, agentNumber, storeNumber, amountMinor);
  // The agent's quote carries the id of a customer it was shown (its lookup); blocked or closed
  // since, they are answered as the lookup now answers them (as a number never known): before any
  // PIN the agent must not learn the bank blocked them. The customer's own quote says their state.
  if ("code" in p) return asker === "agent" && p.code === "customer_unavailable" ? refuse("customer_not_found") : p;
  const overLimit = asker === "agent" ? await overCustomersPerTransaction(kit, p, amountMinor, channel) : await customerOverLimit(kit, p, amountMinor, channel);
  if (overLimit) return overLimit;
  return {
    ok: true,
    agentName: p.agent.name,
    storeNumber: p.agent.storeNumber,
    amountMinor,
    feeMinor: p.fee.feeMinor,
    totalMinor: amountMinor + p.fee.feeMinor,
    currency: p.institution.currency,
  };
}

/** Customer-initiated cash-out: wallet → agent float, fee to the bank, commission to the agent, one group. */
export async function withdraw(kit: AgentKit, input: WithdrawInput): Promise<AgentResult<CashReceipt>> {
  if (!isUuid(input.id)) return refuse("invalid_request_id");
  if (!isAgentChannel(input.channel)) return refuse("invalid_input");
  const transferId = withdrawTransferId(input.id);
  const posted = await postedWithdrawal(kit, input, transferId);
  if (posted) return posted;
  // Refused already: the first refusal, before any of the checks below, which may say otherwise now.
  const refused = await refusedWithdrawal(kit, input, transferId);
  if (refused) return refused;
  const planned = await plan(kit, input.customerId, input.agentNumber, input.storeNumber, input.amountMinor);
  if ("code" in planned) return planned;
  const fee = await agreedFee(planned.fee, input.quotedFeeMinor, transferId, (id) => kit.deps.ledger.getTransfer(id));
  if (!fee) return refuse("fee_changed");
  const p = { ...planned, fee };
  const swap = await kit.simSwapCheck(p.customer.msisdn, input.amountMinor + p.fee.feeMinor);
  if ("code" in swap) return swap;
  const pinRefused = await kit.verifyPin({ type: "customer", id: p.customer.id }, input.customerPin, input.channel, { operation: "withdraw", body: input });
  if (pinRefused) return pinRefused;
  return kit.spendDuringCooling(swap.cooling, input.amountMinor + p.fee.feeMinor, transferId, async () => submitCashMove(kit, p, {
    requestId: input.id,
    transferId,
    type: "cash_out",
    debitAccountId: p.customer.walletAccountId,
    creditAccountId: p.agent.floatAccountId,
    amountMinor: input.amountMinor,
    limits: {
      timeZone: p.institution.timezone,
      payer: await kit.customerPolicy(p.institution.id, p.customer, input.channel === "ussd" ? "ussd" : "agent"),
      payee: floatPolicy(p.agent.limits, "in"),
      payeeInbound: true,
      // The wallet pays the amount and the fee: a customer who cannot pay both hears that before
      // any limit of the float (the ledger checks payer limits, then the group's funds, then the payee's).
      payerDebitMinor: input.amountMinor + p.fee.feeMinor,
    },
    // The customer asks: the agent's float figures (the room under its cap or its day's inbound
    // limit) are not theirs to learn; a refusal by them is said without an amount.
    asker: "customer",
    notices: cashOutNotices(p, input.amountMinor, transferId),
    customerId: p.customer.id,
    maskedName: p.agent.name,
  }));
}

const limitKey = (p: WithdrawPlan, channel: LimitChannel) => ({ institutionId: p.institution.id, channel, tier: p.customer.kycTier as LimitTier });

async function customerOverLimit(kit: AgentKit, p: WithdrawPlan, amountMinor: bigint, channel: LimitChannel): Promise<AgentRefusal | null> {
  const decision = await kit.deps.limits.check(limitKey(p, channel), p.customer.walletAccountId, p.institution.timezone, amountMinor);
  return decision.ok ? null : refuse(decision.code, { availableMinor: decision.availableMinor });
}

/** The customer's per-transaction figure only, a policy's and no usage: what an agent's quote may check. */
async function overCustomersPerTransaction(kit: AgentKit, p: WithdrawPlan, amountMinor: bigint, channel: LimitChannel): Promise<AgentRefusal | null> {
  const policy = await kit.deps.limits.effective(limitKey(p, channel));
  return amountMinor > policy.maxPerTransactionMinor ? refuse("per_transaction_exceeded") : null;
}
