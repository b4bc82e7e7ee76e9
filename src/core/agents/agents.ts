import { isUuid } from "../ledger/ids.js";
import type { Transfer } from "../ledger/types.js";
import { periodKeys } from "../limits/periods.js";
import type { LimitChannel } from "../limits/types.js";
import { cashIn, quoteCashIn } from "./cash-in.js";
import { approveCashOut, cashOutStatus, declineCashOut, pendingCashOuts, startCashOut } from "./cash-out.js";
import { moveFloat } from "./float.js";
import { AgentKit, type AgentsDeps } from "./kit.js";
import { auditEntry, limitsJson, onboard, resolveLimits, STORE_NUMBER_RE } from "./onboarding.js";
import type { AgentPage, NumberRoles } from "./ports.js";
import { refuse } from "./refusals.js";
import { reverseCashIn } from "./reversal.js";
import {
  AGENT_STATUSES,
  type Agent,
  type AgentActor,
  type AgentLimits,
  type AgentResult,
  type AgentStatus,
  type AgentTransaction,
  type ApproveCashOutInput,
  type CashInInput,
  type CashQuote,
  type CashReceipt,
  type FloatMovementInput,
  type FloatReceipt,
  type OnboardInput,
  type PendingCashOut,
  type Reversal,
  type ReverseCashInInput,
  type StartCashOutInput,
  type WithdrawInput,
  type WithdrawQuote,
} from "./types.js";
import { quoteWithdraw, withdraw } from "./withdraw.js";

export type { AgentsDeps } from "./kit.js";

const MAX_LIST = 100;
const MAX_TODAY = 50;
/** Today's movements are read back a ledger page (its largest) at a time, at most TODAY_PAGES of them (5,000 a day). */
const TODAY_PAGE = 100;
const TODAY_PAGES = 50;

/** A single transfer or a posted hold: what reached or left the float (a hold or its void did not). */
const movedMoney = (t: Transfer): boolean => t.kind === "single" || t.kind === "post";

function asMovement(t: Transfer, floatAccountId: string): AgentTransaction {
  const direction = t.creditAccountId === floatAccountId ? ("in" as const) : ("out" as const);
  return { transferId: t.id, code: t.code, direction, amountMinor: t.amountMinor, kind: t.kind, createdAt: t.createdAt };
}

/**
 * Business correspondents: onboarding by the bank, float, cash-in, cash-out (customer- or
 * agent-initiated), commission and reversal. Every method answers with a result object; business
 * refusals are never thrown. Money moves only through the ledger, in linked groups whose ids
 * derive from the caller's request id, so a retry never moves money twice.
 */
export class Agents {
  private readonly kit: AgentKit;

  constructor(deps: AgentsDeps) {
    this.kit = new AgentKit(deps);
  }

  // --- the bank's side --------------------------------------------------------------------

  onboard(input: OnboardInput): Promise<AgentResult<{ agent: Agent }>> {
    return onboard(this.kit, input);
  }

  async setStatus(agentId: string, status: AgentStatus, actor: AgentActor, institutionId?: string): Promise<AgentResult<{ agent: Agent }>> {
    if (!AGENT_STATUSES.includes(status)) return refuse("invalid_input", { problems: [{ path: ["status"], message: AGENT_STATUSES.join(", ") }] });
    if (status === "closed") return this.close(agentId, actor, institutionId);
    return this.update(agentId, institutionId, { status }, actor, "agents.status.set", (before) => ({ before: before.status, after: status }));
  }

  async setLimits(agentId: string, limits: Partial<AgentLimits>, actor: AgentActor, institutionId?: string): Promise<AgentResult<{ agent: Agent }>> {
    const current = isUuid(agentId) ? await this.kit.deps.store.get(agentId) : null;
    if (!current || (institutionId !== undefined && current.institutionId !== institutionId)) return refuse("agent_not_found");
    const resolved = resolveLimits(limits, current.limits);
    if (Array.isArray(resolved)) return refuse("invalid_input", { problems: resolved });
    return this.update(agentId, institutionId, { limits: resolved }, actor, "agents.limits.set", (before) => ({ before: limitsJson(before.limits), after: limitsJson(resolved) }));
  }

  /**
   * A closed agent can no longer be paid out: its float and commission must be emptied first. The
   * check and the close are one step under the ledger's locks on both accounts (AgentStore.close),
   * which closes them in the ledger too: a withdrawal or approval racing the close either posts
   * first (and the close is refused, agent_has_balance) or is refused by the ledger afterwards
   * (agent_unavailable), whatever agent status it read. Checked apart from the write, a withdrawal
   * that read "active" could post between the two and leave float on a closed agent, which no
   * float withdrawal may then take out. The agent's device keys are revoked with the close: a
   * closed agent's devices read nothing, and a reopened agent gets new keys from its bank.
   */
  private async close(agentId: string, actor: AgentActor, institutionId?: string): Promise<AgentResult<{ agent: Agent }>> {
    const current = await this.get(agentId);
    if (!current || (institutionId !== undefined && current.institutionId !== institutionId)) return refuse("agent_not_found");
    const closed = await this.kit.deps.store.close(agentId, this.kit.now(), (before, revokedKeyIds) => [
      auditEntry(actor, "agents.status.set", agentId, { before: before.status, after: "closed", ...(revokedKeyIds.length > 0 ? { revokedDeviceKeyIds: revokedKeyIds } : {}) }),
    ]);
    if (closed.outcome === "has_balance") return refuse("agent_has_balance");
    return closed.outcome === "closed" ? { ok: true, agent: closed.agent } : refuse("agent_not_found");
  }

  private async update(
    agentId: string,
    institutionId: string | undefined,
    patch: { status?: AgentStatus; limits?: AgentLimits },
    actor: AgentActor,
    action: string,
    payload: (before: Agent) => Record<string, unknown>,
  ): Promise<AgentResult<{ agent: Agent }>> {
    const current = isUuid(agentId) ? await this.kit.deps.store.get(agentId) : null;
    if (!current || (institutionId !== undefined && current.institutionId !== institutionId)) return refuse("agent_not_found");
    const agent = await this.kit.deps.store.update(agentId, patch, this.kit.now(), (before) => [auditEntry(actor, action, agentId, payload(before))]);
    return agent ? { ok: true, agent } : refuse("agent_not_found");
  }

  topUpFloat(input: FloatMovementInput): Promise<AgentResult<FloatReceipt>> {
    return moveFloat(this.kit, "top_up", input);
  }

  withdrawFloat(input: FloatMovementInput): Promise<AgentResult<FloatReceipt>> {
    return moveFloat(this.kit, "withdraw", input);
  }

  reverseCashIn(input: ReverseCashInInput): Promise<AgentResult<Reversal>> {
    return reverseCashIn(this.kit, input);
  }

  list(institutionId: string, page: Partial<AgentPage> = {}): Promise<Agent[]> {
    if (!isUuid(institutionId)) return Promise.resolve([]);
    const limit = Math.min(Math.max(1, Math.trunc(page.limit ?? 50)), MAX_LIST);
    return this.kit.deps.store.list(institutionId, { limit, afterId: page.afterId && isUuid(page.afterId) ? page.afterId : undefined });
  }

  // --- look-ups ---------------------------------------------------------------------------

  get(agentId: string): Promise<Agent | null> {
    return isUuid(agentId) ? this.kit.deps.store.get(agentId) : Promise.resolve(null);
  }

  /** The agent behind a number (any accepted form) in an institution; null when none. */
  async findByMsisdn(msisdn: string, institutionId: string): Promise<Agent | null> {
    const e164 = await this.e164(msisdn, institutionId);
    return e164 ? this.kit.deps.store.findByMsisdn(e164, institutionId) : null;
  }

  /** A number as typed, in E.164 as the institution reads it; null for an unknown institution or a non-number. */
  private async e164(msisdn: string, institutionId: string): Promise<string | null> {
    return isUuid(institutionId) ? this.kit.msisdn(msisdn, institutionId) : null;
  }

  findByStore(storeNumber: string, institutionId: string): Promise<Agent | null> {
    if (!isUuid(institutionId) || typeof storeNumber !== "string" || !STORE_NUMBER_RE.test(storeNumber.trim())) return Promise.resolve(null);
    return this.kit.deps.store.findByStore(storeNumber.trim(), institutionId);
  }

  // --- cash-in and cash-out ---------------------------------------------------------------

  /** The customer an agent typed, as the agent may see them: a masked name. */
  async lookupCustomer(agentId: string, customerQuery: string): Promise<AgentResult<{ maskedName: string }>> {
    const found = await this.kit.activeAgent(agentId);
    if ("code" in found) return found;
    const party = await this.kit.customerByQuery(found.agent, customerQuery);
    return "code" in party ? party : { ok: true, maskedName: party.maskedName };
  }

  quoteCashIn(agentId: string, customerQuery: string, amountMinor: bigint): Promise<AgentResult<CashQuote>> {
    return quoteCashIn(this.kit, agentId, customerQuery, amountMinor);
  }

  cashIn(input: CashInInput): Promise<AgentResult<CashReceipt>> {
    return cashIn(this.kit, input);
  }

  /** asker "agent": the quote of an agent's cash-out request, which says nothing of the customer's usage (see quoteWithdraw). */
  quoteWithdraw(
    customerId: string, agentMsisdnOrNumber: string, storeNumber: string, amountMinor: bigint, channel: LimitChannel = "ussd", asker: "customer" | "agent" = "customer",
  ): Promise<AgentResult<WithdrawQuote>> {
    return quoteWithdraw(this.kit, customerId, agentMsisdnOrNumber, storeNumber, amountMinor, channel, asker);
  }

  withdraw(input: WithdrawInput): Promise<AgentResult<CashReceipt>> {
    return withdraw(this.kit, input);
  }

  startCashOut(input: StartCashOutInput): Promise<AgentResult<{ pending: PendingCashOut; replayed: boolean }>> {
    return startCashOut(this.kit, input);
  }

  /** A cash-out by its pending id, for the agent polling it (or null). */
  cashOutStatus(pendingId: string): Promise<PendingCashOut | null> {
    return cashOutStatus(this.kit, pendingId);
  }

  /**
   * What a dial from this number (any accepted form) opens: the institution's agent behind it, and
   * who behind it has a cash-out awaiting approval. Asked by number, in one read, so that a dial can
   * ask it beside who is calling instead of after.
   */
  async atNumber(msisdn: string, institutionId: string): Promise<NumberRoles> {
    const e164 = await this.e164(msisdn, institutionId);
    return e164 ? this.kit.deps.store.atNumber(e164, institutionId, this.kit.now()) : { agent: null, awaitingCashOut: [] };
  }

  /** What awaits the customer's approval now (expired ones left out). */
  pendingCashOuts(customerId: string): Promise<PendingCashOut[]> {
    return pendingCashOuts(this.kit, customerId);
  }

  approveCashOut(input: ApproveCashOutInput): Promise<AgentResult<CashReceipt>> {
    return approveCashOut(this.kit, input);
  }

  declineCashOut(input: { pendingId: string; customerId: string }): Promise<AgentResult<{ pendingId: string }>> {
    return declineCashOut(this.kit, input);
  }

  // --- the agent's own figures ------------------------------------------------------------

  async floatBalance(agentId: string): Promise<AgentResult<{ balanceMinor: bigint; currency: string }>> {
    const agent = await this.get(agentId);
    const institution = agent ? await this.kit.deps.institutions.get(agent.institutionId) : null;
    if (!agent || !institution) return refuse("agent_not_found");
    return { ok: true, balanceMinor: await this.kit.balance(agent.floatAccountId), currency: institution.currency };
  }

  /**
   * The float's movements since the start of the agent's local day, newest first (holds and their
   * voids left out: they moved nothing), at most `limit` of them, and how many there were today.
   */
  async todaysTransactions(agentId: string, limit = 10): Promise<AgentResult<{ transactions: AgentTransaction[]; count: number }>> {
    const agent = await this.get(agentId);
    const institution = agent ? await this.kit.deps.institutions.get(agent.institutionId) : null;
    if (!agent || !institution) return refuse("agent_not_found");
    const today = periodKeys(this.kit.now(), institution.timezone).dayKey;
    const isToday = (t: Transfer) => periodKeys(t.createdAt, institution.timezone).dayKey === today;
    const n = Math.min(Math.max(1, Math.trunc(Number.isFinite(limit) ? limit : 10)), MAX_TODAY);
    const transactions: AgentTransaction[] = [];
    let count = 0;
    // A busy agent's day holds more than one page, holds and their voids among them: read back
    // a page at a time to the first movement of another day (bounded), counting as it goes.
    let beforeSeq: bigint | undefined;
    for (let page = 0; page < TODAY_PAGES; page++) {
      const transfers = await this.kit.deps.ledger.listAccountTransfers(agent.floatAccountId, { limit: TODAY_PAGE, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
      const ofToday = transfers.filter(isToday);
      for (const t of ofToday.filter(movedMoney)) {
        count++;
        if (transactions.length < n) transactions.push(asMovement(t, agent.floatAccountId));
      }
      const last = transfers.at(-1);
      if (ofToday.length < transfers.length || transfers.length < TODAY_PAGE || last?.seq === undefined) break;
      beforeSeq = last.seq;
    }
    return { ok: true, transactions, count };
  }

  /** The float's history, newest first, one page at a time (beforeSeq from the previous page's last). */
  async statement(agentId: string, page: { limit?: number; beforeSeq?: bigint } = {}): Promise<AgentResult<{ agent: Agent; transfers: Transfer[] }>> {
    const agent = await this.get(agentId);
    if (!agent) return refuse("agent_not_found");
    const transfers = await this.kit.deps.ledger.listAccountTransfers(agent.floatAccountId, { limit: page.limit ?? 50, beforeSeq: page.beforeSeq });
    return { ok: true, agent, transfers };
  }

  /** The commission account's balance: earned and not yet paid out. */
  async commissionEarned(agentId: string): Promise<AgentResult<{ balanceMinor: bigint; currency: string }>> {
    const agent = await this.get(agentId);
    const institution = agent ? await this.kit.deps.institutions.get(agent.institutionId) : null;
    if (!agent || !institution) return refuse("agent_not_found");
    return { ok: true, balanceMinor: await this.kit.balance(agent.commissionAccountId), currency: institution.currency };
  }
}
