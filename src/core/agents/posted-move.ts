/**
 * A cash-in or withdrawal that already posted answers with its receipt, whatever changed since (the
 * agent suspended, the customer blocked, a pseudonym or a fee schedule changed): told "refused", an
 * agent would hand the cash back, or a customer leave without it, though the money moved. Only
 * the same request gets it (the same float and wallet, the same amount) and only with its PIN.
 */
import { maskDisplayName } from "../directory/masking.js";
import type { Customer } from "../directory/types.js";
import { postedFee } from "../fees/linked.js";
import { isUuid } from "../ledger/ids.js";
import type { Transfer } from "../ledger/types.js";
import type { AgentKit } from "./kit.js";
import { refuse } from "./refusals.js";
import type { Agent, AgentResult, CashInInput, CashReceipt, WithdrawInput } from "./types.js";

/** The cash-in's receipt when it posted; null when it has not (the request runs as new). */
export async function postedCashIn(kit: AgentKit, input: CashInInput, transferId: string): Promise<AgentResult<CashReceipt> | null> {
  const transfer = await kit.deps.ledger.getTransfer(transferId);
  if (!transfer) return null;
  const agent = isUuid(input.agentId) ? await kit.deps.store.get(input.agentId) : null;
  if (!agent) return refuse("agent_not_found");
  if (transfer.debitAccountId !== agent.floatAccountId || transfer.amountMinor !== input.amountMinor) return refuse("request_id_reused");
  // The PIN before anything of the customer: whether a query names the customer paid is no
  // device key's to learn by asking.
  const pinRefused = await kit.verifyPin({ type: "agent", id: agent.id }, input.agentPin, input.channel, { operation: "cash_in", body: input });
  if (pinRefused) return pinRefused;
  const customer = await ownerOf(kit, transfer.creditAccountId);
  if (!customer || !(await namesCustomer(kit, agent, input, customer.id))) return refuse("request_id_reused");
  return receipt(kit, transfer, agent, customer, maskDisplayName(customer.displayName));
}

/** The withdrawal's receipt when it posted; null when it has not. */
export async function postedWithdrawal(kit: AgentKit, input: WithdrawInput, transferId: string): Promise<AgentResult<CashReceipt> | null> {
  const transfer = await kit.deps.ledger.getTransfer(transferId);
  if (!transfer) return null;
  const customer = await ownerOf(kit, transfer.debitAccountId);
  if (!customer || customer.id !== input.customerId || transfer.amountMinor !== input.amountMinor) return refuse("request_id_reused");
  const pinRefused = await kit.verifyPin({ type: "customer", id: customer.id }, input.customerPin, input.channel, { operation: "withdraw", body: input });
  if (pinRefused) return pinRefused;
  const [float] = await kit.deps.ledger.getAccounts([transfer.creditAccountId]);
  const agent = float?.ownerRef ? await kit.deps.store.get(float.ownerRef) : null;
  if (!agent) return refuse("agent_not_found");
  if ((await kit.msisdn(input.agentNumber, customer.institutionId)) !== agent.msisdn || input.storeNumber.trim() !== agent.storeNumber) return refuse("request_id_reused");
  return receipt(kit, transfer, agent, customer, agent.name);
}

/**
 * Whether the request names the customer the cash-in paid (or the cash-out asked): by id when it carries one; else its
 * query must not name someone else now (a query that finds nobody, a pseudonym released or a
 * customer blocked since, still stands for the one paid).
 */
export async function namesCustomer(kit: AgentKit, agent: Agent, input: Pick<CashInInput, "customerId" | "customerQuery">, paidId: string): Promise<boolean> {
  if (input.customerId !== undefined) return input.customerId === paidId;
  const found = await kit.customerByQuery(agent, input.customerQuery);
  return "code" in found || found.customer.id === paidId;
}

/** The customer whose wallet (or instrument) account this is. */
export async function ownerOf(kit: AgentKit, accountId: string): Promise<Customer | null> {
  const [account] = await kit.deps.ledger.getAccounts([accountId]);
  return account?.ownerRef && isUuid(account.ownerRef) ? kit.deps.directory.getCustomer(account.ownerRef) : null;
}

async function receipt(kit: AgentKit, transfer: Transfer, agent: Agent, customer: Customer | null, maskedName: string): Promise<AgentResult<CashReceipt>> {
  const fee = (await postedFee(transfer.id, (id) => kit.deps.ledger.getTransfer(id))) ?? { feeMinor: 0n, commissionMinor: 0n };
  return {
    ok: true, transferId: transfer.id, agentId: agent.id, customerId: customer?.id ?? "", maskedName, amountMinor: transfer.amountMinor,
    feeMinor: fee.feeMinor, commissionMinor: fee.commissionMinor, currency: transfer.currency, replayed: true,
  };
}
