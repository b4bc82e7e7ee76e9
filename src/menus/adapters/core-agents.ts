/**
 * The AgentsPort over the agents core (src/core/agents): the flows' words for the core's calls.
 * Names of the other party are masked here (the core answers an agent's name in full); the agent's
 * own PIN for its reports is checked by the PIN service, whose subject is the agent.
 */
import type { Agents } from "../../core/agents/agents.js";
import type { Agent, AgentRefusal, CashReceipt } from "../../core/agents/types.js";
import type { PinService } from "../../core/auth/pin-service.js";
import { maskDisplayName } from "../../core/directory/masking.js";
import type { Ledger } from "../../core/ledger/ledger.js";
import type {
  AgentCashQuote,
  AgentOutcome,
  AgentQuoteResult,
  AgentRef,
  AgentsPort,
  AgentTxLine,
  CustomerRef,
  PendingCashOutView,
  Result,
  WithdrawQuote,
} from "../ports.js";
import { transferReference } from "../../core/ledger/ids.js";

export type AgentsCore = Pick<
  Agents,
  | "findByMsisdn"
  | "findByStore"
  | "quoteCashIn"
  | "cashIn"
  | "quoteWithdraw"
  | "withdraw"
  | "startCashOut"
  | "pendingCashOuts"
  | "atNumber"
  | "approveCashOut"
  | "declineCashOut"
  | "floatBalance"
  | "todaysTransactions"
  | "commissionEarned"
>;

const CHANNEL = "ussd" as const;

/** An agent's cash-in or cash-out as the core takes it: the request id names the transfer, the PIN is the agent's. */
function agentCashRequest(input: { requestId: string; agent: AgentRef; customerQuery: string; customerId?: string; amountMinor: bigint; pin: string }) {
  const confirmed = input.customerId !== undefined ? { customerId: input.customerId } : {};
  return { id: input.requestId, agentId: input.agent.id, customerQuery: input.customerQuery, ...confirmed, amountMinor: input.amountMinor, agentPin: input.pin, channel: CHANNEL };
}

function refused(r: AgentRefusal): { ok: false; code: string; remainingMinor?: bigint; until?: Date | null } {
  return { ok: false, code: r.code, ...(r.availableMinor !== undefined ? { remainingMinor: r.availableMinor } : {}), ...(r.until !== undefined ? { until: r.until } : {}) };
}

function outcomeOf(r: AgentRefusal): AgentOutcome {
  const { code, ...rest } = refused(r);
  return { code, reference: "", ...rest };
}

function receipt(r: CashReceipt, maskedName?: string): AgentOutcome {
  return { code: "ok", reference: transferReference(r.transferId), amountMinor: r.amountMinor, feeMinor: r.feeMinor, maskedName: maskedName ?? r.maskedName };
}

export class CoreAgentsPort implements AgentsPort {
  constructor(
    private readonly agents: AgentsCore,
    private readonly pins: Pick<PinService, "verifyPin">,
    private readonly ledger: Pick<Ledger, "getAccount" | "getTransfer">,
  ) {}

  async atNumber(msisdn: string, institutionId: string): Promise<{ agent: AgentRef | null; awaitingCashOut: string[] }> {
    const { agent, awaitingCashOut } = await this.agents.atNumber(msisdn, institutionId);
    return { agent: agent && agent.status !== "closed" ? await this.toRef(agent) : null, awaitingCashOut };
  }

  async findForWithdrawal(customer: CustomerRef, agentNumber: string, storeNumber: string): Promise<AgentQuoteResult<{ agentName: string }>> {
    // The same rule as the core's withdrawal: both numbers must name the one active agent.
    const [byNumber, byStore] = await Promise.all([
      this.agents.findByMsisdn(agentNumber, customer.institutionId),
      this.agents.findByStore(storeNumber, customer.institutionId),
    ]);
    if (!byNumber && !byStore) return { ok: false, code: "agent_not_found" };
    if (!byNumber || !byStore || byNumber.id !== byStore.id) return { ok: false, code: "agent_store_mismatch" };
    if (byNumber.status !== "active") return { ok: false, code: "agent_unavailable" };
    if (byNumber.msisdn === customer.msisdn) return { ok: false, code: "self_transaction" };
    return { ok: true, value: { agentName: maskDisplayName(byNumber.name) } };
  }

  async quoteWithdraw(customer: CustomerRef, agentNumber: string, storeNumber: string, amountMinor: bigint): Promise<AgentQuoteResult<WithdrawQuote>> {
    const q = await this.agents.quoteWithdraw(customer.id, agentNumber, storeNumber, amountMinor);
    if (!q.ok) return refused(q);
    return { ok: true, value: { agentName: maskDisplayName(q.agentName), feeMinor: q.feeMinor, totalMinor: q.totalMinor } };
  }

  async withdraw(input: { requestId: string; customer: CustomerRef; agentNumber: string; storeNumber: string; amountMinor: bigint; quotedFeeMinor?: bigint; pin: string }): Promise<AgentOutcome> {
    const r = await this.agents.withdraw({
      id: input.requestId,
      customerId: input.customer.id,
      agentNumber: input.agentNumber,
      storeNumber: input.storeNumber,
      amountMinor: input.amountMinor,
      customerPin: input.pin,
      channel: CHANNEL,
      quotedFeeMinor: input.quotedFeeMinor,
    });
    return r.ok ? receipt(r) : outcomeOf(r);
  }

  async pendingCashOuts(customer: CustomerRef): Promise<PendingCashOutView[]> {
    const pending = await this.agents.pendingCashOuts(customer.id);
    return pending.map((p) => ({
      pendingId: p.pendingId,
      agentName: maskDisplayName(p.agentName),
      storeNumber: p.storeNumber,
      amountMinor: p.amountMinor,
      feeMinor: p.feeMinor,
      expiresAt: p.expiresAt,
    }));
  }

  async approveCashOut(input: { pendingId: string; customer: CustomerRef; pin: string }): Promise<AgentOutcome> {
    const r = await this.agents.approveCashOut({ pendingId: input.pendingId, customerId: input.customer.id, customerPin: input.pin, channel: CHANNEL });
    return r.ok ? receipt(r) : outcomeOf(r);
  }

  async declineCashOut(input: { pendingId: string; customer: CustomerRef }): Promise<AgentOutcome> {
    const r = await this.agents.declineCashOut({ pendingId: input.pendingId, customerId: input.customer.id });
    return r.ok ? { code: "ok", reference: transferReference(r.pendingId) } : outcomeOf(r);
  }

  async quoteCashIn(agent: AgentRef, customer: { query: string; customerId: string }, amountMinor: bigint): Promise<AgentQuoteResult<AgentCashQuote>> {
    const q = await this.agents.quoteCashIn(agent.id, customer.query, amountMinor);
    if (!q.ok) return refused(q);
    return { ok: true, value: { maskedName: q.maskedName, feeMinor: q.feeMinor, commissionMinor: q.commissionMinor } };
  }

  async cashIn(input: { requestId: string; agent: AgentRef; customerQuery: string; amountMinor: bigint; quotedFeeMinor?: bigint; pin: string }): Promise<AgentOutcome> {
    const r = await this.agents.cashIn({ ...agentCashRequest(input), quotedFeeMinor: input.quotedFeeMinor });
    return r.ok ? receipt(r) : outcomeOf(r);
  }

  /**
   * The core quotes a cash-out only as the customer's withdrawal at this agent: the same fee
   * schedule (cash_out), the same agent limits and checks, asked by the agent (so nothing of the
   * customer's usage is checked or told).
   */
  async quoteCashOut(agent: AgentRef, customer: { query: string; customerId: string }, amountMinor: bigint): Promise<AgentQuoteResult<AgentCashQuote>> {
    const q = await this.agents.quoteWithdraw(customer.customerId, agent.msisdn, agent.storeNumber, amountMinor, "agent", "agent");
    if (!q.ok) return refused(q);
    return { ok: true, value: { feeMinor: q.feeMinor, commissionMinor: 0n } };
  }

  async startCashOut(input: { requestId: string; agent: AgentRef; customerQuery: string; amountMinor: bigint; pin: string }): Promise<AgentOutcome> {
    const r = await this.agents.startCashOut(agentCashRequest(input));
    if (!r.ok) return outcomeOf(r);
    return { code: "ok", reference: transferReference(r.pending.pendingId), amountMinor: r.pending.amountMinor, feeMinor: r.pending.feeMinor, cashOutState: r.pending.state };
  }

  async verifyPin(agent: AgentRef, pin: string): Promise<Result<null>> {
    const r = await this.pins.verifyPin({ actor: { type: "agent", id: agent.id }, channel: CHANNEL, subjectId: agent.id, pin });
    if (r.ok) return { ok: true, value: null };
    return r.code === "pin_locked" ? { ok: false, code: r.code, until: r.lockedUntil } : { ok: false, code: r.code };
  }

  async floatBalance(agent: AgentRef): Promise<{ availableMinor: bigint; currency: string }> {
    const r = await this.agents.floatBalance(agent.id);
    if (!r.ok) throw new Error(`agents: float balance refused (${r.code})`);
    return { availableMinor: r.balanceMinor, currency: r.currency };
  }

  async todaysTransactions(agent: AgentRef, limit: number): Promise<{ count: number; lines: AgentTxLine[] }> {
    const r = await this.agents.todaysTransactions(agent.id, limit);
    if (!r.ok) throw new Error(`agents: today's transactions refused (${r.code})`);
    const lines = await Promise.all(
      r.transactions.map(async (t) => ({ direction: t.direction, amountMinor: t.amountMinor, at: t.createdAt, reference: transferReference(await this.namedId(t)) })),
    );
    return { count: r.count, lines };
  }

  /**
   * The id a movement's receipts name it by: a posted hold (an approved cash-out) by its hold's,
   * as the agent's receipt, the customer's approval and mini-statement and the SMS notices do; the
   * post's own id is one nobody was told.
   */
  private async namedId(t: { transferId: string; kind: string }): Promise<string> {
    if (t.kind !== "post") return t.transferId;
    return (await this.ledger.getTransfer(t.transferId))?.pendingId ?? t.transferId;
  }

  async commissionEarned(agent: AgentRef): Promise<{ balanceMinor: bigint; currency: string }> {
    const r = await this.agents.commissionEarned(agent.id);
    if (!r.ok) throw new Error(`agents: commission refused (${r.code})`);
    return { balanceMinor: r.balanceMinor, currency: r.currency };
  }

  private async toRef(agent: Agent): Promise<AgentRef> {
    const float = await this.ledger.getAccount(agent.floatAccountId);
    if (!float) throw new Error("agents: an agent's float account is missing");
    return { id: agent.id, institutionId: agent.institutionId, msisdn: agent.msisdn, storeNumber: agent.storeNumber, currency: float.currency, active: agent.status === "active" };
  }
}
