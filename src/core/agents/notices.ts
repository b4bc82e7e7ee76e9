import type { Customer } from "../directory/types.js";
import type { Institution } from "../institutions/types.js";
import { transferReference } from "../ledger/ids.js";
import type { Notice } from "../notices/types.js";
import type { Fee } from "./kit.js";
import type { Agent } from "./types.js";

interface Parties {
  agent: Agent;
  institution: Institution;
  customer: Customer;
  fee: Fee;
}

/**
 * How a receipt names the agent: name and store number, the pair a customer checks at the counter.
 * Parameter names follow the SMS renderer's convention (`<x>Minor` + `currency` become `<x>`).
 */
export const agentLabel = (agent: Agent): string => `${agent.name} (${agent.storeNumber})`;

/** The customer's number as an agent's receipt shows it: enough to match, not to harvest. */
export const maskedMsisdn = (msisdn: string): string => `${msisdn.slice(0, 4)}***${msisdn.slice(-3)}`;

const paid = (fee: Fee): bigint => (fee.commissionMinor < fee.feeMinor ? fee.commissionMinor : fee.feeMinor);

/** Receipts of a cash-out, to the customer and to the agent. */
export function cashOutNotices(p: Parties, amountMinor: bigint, transferId: string): Notice[] {
  const common = { amountMinor: amountMinor.toString(), currency: p.institution.currency, ref: transferReference(transferId) };
  return [
    {
      msisdn: p.customer.msisdn,
      template: "receipt.cash_out_customer",
      params: { ...common, feeMinor: p.fee.feeMinor.toString(), agent: agentLabel(p.agent) },
      language: p.customer.language,
      kind: "receipt",
    },
    {
      msisdn: p.agent.msisdn,
      template: "receipt.cash_out_agent",
      params: { ...common, customer: maskedMsisdn(p.customer.msisdn), commissionMinor: paid(p.fee).toString() },
      kind: "receipt",
    },
  ];
}

/** The prompt asking the customer to approve an agent's cash-out with their PIN. */
export function approvalPrompt(p: Parties, amountMinor: bigint, pendingId: string, timeoutSec: number): Notice {
  return {
    msisdn: p.customer.msisdn,
    template: "prompt.cash_out_approve",
    params: {
      amountMinor: amountMinor.toString(),
      feeMinor: p.fee.feeMinor.toString(),
      currency: p.institution.currency,
      agent: agentLabel(p.agent),
      ref: transferReference(pendingId),
      minutes: String(Math.ceil(timeoutSec / 60)),
    },
    language: p.customer.language,
    kind: "prompt",
  };
}

/** Tells the agent the customer declined. */
export const declinedNotice = (agent: Agent, amountMinor: bigint, currency: string, pendingId: string): Notice =>
  handOverNothing("notice.cash_out_declined", agent, amountMinor, currency, pendingId);

/** Tells the agent a cash-out the customer approved could not be completed (an account frozen or closed). */
export const cancelledNotice = (agent: Agent, amountMinor: bigint, currency: string, pendingId: string): Notice =>
  handOverNothing("notice.cash_out_cancelled", agent, amountMinor, currency, pendingId);

/** A notice to the agent that a cash-out is over with nothing paid: its text says to hand over no cash. */
function handOverNothing(template: string, agent: Agent, amountMinor: bigint, currency: string, pendingId: string): Notice {
  return { msisdn: agent.msisdn, template, params: { amountMinor: amountMinor.toString(), currency, ref: transferReference(pendingId) }, kind: "notice" };
}
