/**
 * The agent serving a customer at the counter, over the agent's own PIN:
 *   cash-in:  customer number → masked name with the amount prompt → summary and PIN → receipt
 *   cash-out: customer number → masked name with the amount prompt → summary and PIN → "the
 *             customer must approve on their phone" (the core holds the amount until then)
 * Nothing moves before the PIN step, whose request id is fixed before it (money.ts).
 */
import { ask, at, end, withNotice, type Flow, type Step } from "../engine/steps.js";
import { money, msg, type FlowId, type Message, type MenuState, type StepResult } from "../engine/types.js";
import type { AgentCashQuote, AgentOutcome, AgentQuoteResult, AgentRef, CustomerQuery, MenuContext } from "../ports.js";
import { refusalMessage } from "../refusals.js";
import { agentOf, agentsPortOf } from "./agent-menu.js";
import { attempt, isScreen, outcomeRefused, quoteRefused, quotedFee, readAmount, requestIdFor } from "./money.js";
import { askPinUnder } from "./pins.js";

interface CashKind {
  id: FlowId;
  /** Message key prefix: ci (cash-in) or cx (agent cash-out). */
  keys: "ci" | "cx";
  quote(ctx: MenuContext, agent: AgentRef, customer: CustomerQuery, amountMinor: bigint): Promise<AgentQuoteResult<AgentCashQuote>>;
  run(ctx: MenuContext, input: { requestId: string; agent: AgentRef; customerQuery: string; customerId?: string; amountMinor: bigint; quotedFeeMinor?: bigint; pin: string }): Promise<AgentOutcome>;
}

const PROMPT = msg("ag.ask_pin");

function cashFlow(kind: CashKind): Flow {
  const askCustomer = (state: MenuState, notice?: Message) => withNotice(ask(at(state, kind.id, "customer"), [msg(`${kind.keys}.ask_customer`)]), notice);
  const askAmount = (state: MenuState, notice?: Message) =>
    withNotice(ask(state, [msg(`${kind.keys}.ask_amount`, { name: state.data.name ?? "", currency: agentOf(state).currency })]), notice);

  function summary(state: MenuState): Message[] {
    const currency = agentOf(state).currency;
    const lines = [msg(`${kind.keys}.confirm`, { amount: money(BigInt(state.data.amount ?? "0"), currency), name: state.data.name ?? "" })];
    const fee = BigInt(state.data.fee ?? "0");
    // The customer's fee is worth saying to the agent who hands over (or takes) the cash; a
    // cash-in's comes out of the deposit, so the customer receives less than the cash given.
    if (kind.keys === "cx" && fee > 0n) lines.push(msg("cx.fee", { fee: money(fee, currency) }));
    if (kind.keys === "ci" && fee > 0n) lines.push(msg("ci.fee", { fee: money(fee, currency), net: money(BigInt(state.data.amount ?? "0") - fee, currency) }));
    return lines;
  }

  async function takeCustomer(state: MenuState, input: string, ctx: MenuContext, amount?: string): Promise<StepResult> {
    const agent = agentOf(state); // agents' sessions only: anything else is a bug, and the hop answers "unavailable"
    const query = input.trim();
    const found = await ctx.directory.lookupPayee(query, ctx.institutionId, { actorType: "agent", id: agent.id });
    // Unknown, blocked or closed alike: "no customer found" (a cash-out's customer is not paid).
    if (!found.ok) return askCustomer(state, refusalMessage(found.code === "payee_not_found" ? "customer_not_found" : found));
    // An agent's number may also be a customer's: serving oneself would only move money in a circle.
    if (state.customer && found.value.customerId === state.customer.id) return askCustomer(state, refusalMessage("self_transaction"));
    const next = at(state, kind.id, "amount", { query, cid: found.value.customerId, name: found.value.maskedName });
    return amount === undefined ? askAmount(next) : takeAmount(next, amount, ctx);
  }

  async function takeAmount(state: MenuState, input: string, ctx: MenuContext): Promise<StepResult> {
    const agent = agentOf(state);
    const again = (notice: Message) => askAmount(state, notice);
    const read = readAmount(input, agent.currency, state.lang, again);
    if ("screen" in read) return read.screen;
    const quote = await kind.quote(ctx, agent, { query: state.data.query ?? "", customerId: state.data.cid ?? "" }, read.amountMinor);
    if (!quote.ok) return quoteRefused(state, quote, agent.currency, again);
    const next = at(state, kind.id, "pin", {
      ...state.data,
      name: quote.value.maskedName ?? state.data.name ?? "",
      amount: read.amountMinor.toString(),
      fee: quote.value.feeMinor.toString(),
      tx: requestIdFor(state, ctx),
    });
    return askPinUnder(next, summary(next), PROMPT);
  }

  const pin: Step = async (state, input, ctx) => {
    const agent = agentOf(state);
    const amountMinor = BigInt(state.data.amount ?? "0");
    const requestId = requestIdFor(state, ctx);
    // The customer the agent was shown (cid): the money is theirs even if the query names someone else by now.
    const confirmed = state.data.cid ? { customerId: state.data.cid } : {};
    const outcome = await attempt(state, () => kind.run(ctx, { requestId, agent, customerQuery: state.data.query ?? "", ...confirmed, amountMinor, quotedFeeMinor: quotedFee(state), pin: input }));
    if (isScreen(outcome)) return outcome;
    const refused = outcomeRefused(state, outcome, PROMPT, agent.currency);
    if (refused) return refused;
    const params = { amount: money(amountMinor, agent.currency), name: state.data.name ?? "", ref: outcome.reference };
    return end(state, [msg(receiptKey(kind, outcome), params)]);
  };

  return {
    id: kind.id,
    async start(state, ctx, prefill) {
      const [customer, amount] = prefill ?? [];
      if (customer) return takeCustomer(state, customer, ctx, amount);
      return askCustomer(state);
    },
    steps: { customer: (state, input, ctx) => takeCustomer(state, input, ctx), amount: takeAmount, pin },
  };
}

/**
 * A cash-out retried after it was decided (a resumed session's PIN hop, a lost session record)
 * says what became of it: "hand over the cash" only when the customer approved it.
 */
function receiptKey(kind: CashKind, outcome: AgentOutcome): string {
  const decided = outcome.cashOutState;
  if (kind.keys !== "cx" || decided === undefined || decided === "pending") return `${kind.keys}.receipt`;
  return decided === "refused" ? "cx.cancelled" : `cx.${decided}`;
}

export const agentCashIn = cashFlow({
  id: "agent_cash_in",
  keys: "ci",
  quote: (ctx, agent, customer, amount) => agentsPortOf(ctx).quoteCashIn(agent, customer, amount),
  run: (ctx, input) => agentsPortOf(ctx).cashIn(input),
});

export const agentCashOut = cashFlow({
  id: "agent_cash_out",
  keys: "cx",
  quote: (ctx, agent, customer, amount) => agentsPortOf(ctx).quoteCashOut(agent, customer, amount),
  run: (ctx, input) => agentsPortOf(ctx).startCashOut(input),
});

