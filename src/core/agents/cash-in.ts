import type { Institution } from "../institutions/types.js";
import { agreedFee } from "../fees/linked.js";
import { derivedUuid, isUuid, transferReference } from "../ledger/ids.js";
import type { Notice } from "../notices/types.js";
import { floatPolicy, isAgentChannel, isAmount, type AgentKit, type CustomerParty, type Fee } from "./kit.js";
import { commissionPaid, submitCashMove } from "./cash-move.js";
import { agentLabel } from "./notices.js";
import { postedCashIn } from "./posted-move.js";
import { refusedCashIn } from "./refused-move.js";
import { refuse } from "./refusals.js";
import type { Agent, AgentRefusal, AgentResult, CashInInput, CashQuote, CashReceipt } from "./types.js";

/** The cash-in transfer's id for a request id: a retry of the request maps to the same transfer. */
export const cashInTransferId = (requestId: string): string => derivedUuid(`fingate:agents:cash-in:${requestId}`);

interface CashInPlan {
  agent: Agent;
  institution: Institution;
  party: CustomerParty;
  fee: Fee;
}

/** Who, to whom, and what it costs: everything but the PIN and the money. */
async function plan(kit: AgentKit, agentId: string, customerQuery: unknown, amountMinor: unknown, confirmedId?: string): Promise<CashInPlan | AgentRefusal> {
  if (!isAmount(amountMinor)) return refuse("invalid_amount");
  const found = await kit.activeAgent(agentId);
  if ("code" in found) return found;
  const party = await kit.customerByQuery(found.agent, customerQuery, confirmedId);
  if ("code" in party) return party;
  if (amountMinor > found.agent.limits.maxPerTransactionMinor) {
    return refuse("per_transaction_exceeded", { availableMinor: found.agent.limits.maxPerTransactionMinor });
  }
  const fee = await kit.fee(found.institution.id, "cash_in", amountMinor);
  if ("code" in fee) return fee;
  return { ...found, party, fee };
}

/**
 * The fee comes out of the deposit: one as large as the deposit would leave the customer with
 * nothing or less (the agent earning a commission on it), so no band may take that much.
 */
function feeTakesDeposit(fee: Fee, amountMinor: bigint): AgentRefusal | null {
  return fee.feeMinor >= amountMinor ? refuse("amount_outside_fee_bands") : null;
}

export async function quoteCashIn(kit: AgentKit, agentId: string, customerQuery: string, amountMinor: bigint): Promise<AgentResult<CashQuote>> {
  const p = await plan(kit, agentId, customerQuery, amountMinor);
  if ("code" in p) return p;
  const tooDear = feeTakesDeposit(p.fee, amountMinor);
  if (tooDear) return tooDear;
  return {
    ok: true,
    maskedName: p.party.maskedName,
    customerId: p.party.customer.id,
    amountMinor,
    feeMinor: p.fee.feeMinor,
    commissionMinor: p.fee.commissionMinor,
    currency: p.institution.currency,
  };
}

/**
 * Cash handed to the agent becomes e-money: the agent's float pays the customer, the customer pays
 * the bank's cash_in fee (if any) out of it and the agent earns its share, in one linked group.
 * The agent's limits ride on the float leg and the customer's balance cap on the same leg.
 */
export async function cashIn(kit: AgentKit, input: CashInInput): Promise<AgentResult<CashReceipt>> {
  if (!isUuid(input.id)) return refuse("invalid_request_id");
  if (!isAgentChannel(input.channel)) return refuse("invalid_input");
  const transferId = cashInTransferId(input.id);
  const posted = await postedCashIn(kit, input, transferId);
  if (posted) return posted;
  // Refused already: the first refusal, before any of the checks below, which may say otherwise now.
  const refused = await refusedCashIn(kit, input, transferId);
  if (refused) return refused;
  const planned = await plan(kit, input.agentId, input.customerQuery, input.amountMinor, input.customerId);
  if ("code" in planned) return planned;
  if (planned.party.customer.status !== "active") return refuse("customer_unavailable");
  const fee = await agreedFee(planned.fee, input.quotedFeeMinor, transferId, (id) => kit.deps.ledger.getTransfer(id));
  if (!fee) return refuse("fee_changed");
  // After the agreed fee: a cash-in that posted keeps answering its receipt whatever the schedule says now.
  const tooDear = feeTakesDeposit(fee, input.amountMinor);
  if (tooDear) return tooDear;
  const p = { ...planned, fee };
  // Float leaving an agent's number just after a SIM swap is what a SIM thief would do first.
  const swap = await kit.simSwapCheck(p.agent.msisdn, input.amountMinor);
  if ("code" in swap) return swap;
  const pinRefused = await kit.verifyPin({ type: "agent", id: p.agent.id }, input.agentPin, input.channel, { operation: "cash_in", body: input });
  if (pinRefused) return pinRefused;
  return kit.spendDuringCooling(swap.cooling, input.amountMinor, transferId, async () => submitCashMove(kit, p, {
    requestId: input.id,
    transferId,
    type: "cash_in",
    debitAccountId: p.agent.floatAccountId,
    creditAccountId: p.party.accountId,
    amountMinor: input.amountMinor,
    feePayerAccountId: p.party.accountId,
    limits: {
      timeZone: p.institution.timezone,
      payer: floatPolicy(p.agent.limits, "out"),
      payee: await kit.customerCap(p.institution.id, p.party.customer),
      // The cap is the customer's: what their other wallets hold counts too.
      ...(p.party.otherWalletAccountIds.length > 0 ? { payeeHoldingAccountIds: p.party.otherWalletAccountIds } : {}),
    },
    asker: "agent",
    notices: cashInNotices(p, input.amountMinor, transferId),
    customerId: p.party.customer.id,
    maskedName: p.party.maskedName,
  }));
}

/** Receipts of a cash-in, to the customer and to the agent (exported for the template test). */
export function cashInNotices(p: Pick<CashInPlan, "agent" | "institution" | "party" | "fee">, amountMinor: bigint, transferId: string): Notice[] {
  const common = { amountMinor: amountMinor.toString(), currency: p.institution.currency, ref: transferReference(transferId) };
  return [
    {
      msisdn: p.party.customer.msisdn,
      // With a fee the customer received less than the cash handed over: the receipt says both.
      template: p.fee.feeMinor > 0n ? "receipt.cash_in_customer_fee" : "receipt.cash_in_customer",
      params: { ...common, feeMinor: p.fee.feeMinor.toString(), netMinor: (amountMinor - p.fee.feeMinor).toString(), agent: agentLabel(p.agent) },
      language: p.party.customer.language,
      kind: "receipt",
    },
    {
      msisdn: p.agent.msisdn,
      template: "receipt.cash_in_agent",
      params: { ...common, customer: p.party.maskedName, commissionMinor: commissionPaid(p.fee).toString() },
      kind: "receipt",
    },
  ];
}
