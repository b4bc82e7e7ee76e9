import type { Customer } from "../directory/types.js";
import type { Institution } from "../institutions/types.js";
import type { Notice } from "../notices/types.js";
import type { Fee } from "./kit.js";
import type { Agent } from "./types.js";

interface Parties {
  agent: Agent;
  institution: Institution;
  customer: Customer;
  fee: Fee;
}

/** A short reference both sides can read out to each other. */
export const shortRef = (transferId: string): string => transferId.replaceAll("-", "").slice(0, 10).toUpperCase();

const paid = (fee: Fee): bigint => (fee.commissionMinor < fee.feeMinor ? fee.commissionMinor : fee.feeMinor);

/** Receipts of a cash-out, to the customer and to the agent. */
export function cashOutNotices(p: Parties, amountMinor: bigint, transferId: string): Notice[] {
  const common = { amount: amountMinor.toString(), currency: p.institution.currency, reference: shortRef(transferId) };
  return [
    {
      msisdn: p.customer.msisdn,
      template: "receipt.cash_out_customer",
      params: { ...common, fee: p.fee.feeMinor.toString(), agentName: p.agent.name, storeNumber: p.agent.storeNumber },
      language: p.customer.language,
      kind: "receipt",
    },
    {
      msisdn: p.agent.msisdn,
      template: "receipt.cash_out_agent",
      params: { ...common, commission: paid(p.fee).toString() },
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
      amount: amountMinor.toString(),
      fee: p.fee.feeMinor.toString(),
      currency: p.institution.currency,
      agentName: p.agent.name,
      storeNumber: p.agent.storeNumber,
      reference: shortRef(pendingId),
      minutes: String(Math.ceil(timeoutSec / 60)),
    },
    language: p.customer.language,
    kind: "prompt",
  };
}

/** Tells the agent the customer declined. */
export function declinedNotice(agent: Agent, amountMinor: bigint, currency: string, pendingId: string): Notice {
  return {
    msisdn: agent.msisdn,
    template: "notice.cash_out_declined",
    params: { amount: amountMinor.toString(), currency, reference: shortRef(pendingId) },
    kind: "notice",
  };
}
