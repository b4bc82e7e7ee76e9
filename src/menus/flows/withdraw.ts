/**
 * Withdraw cash at an agent (customer-initiated): agent number → store number (both must name the
 * same agent, so money never goes to the wrong shop) → amount → fee and total with the PIN prompt →
 * receipt. No money moves before the PIN step; its request id is fixed before it (money.ts).
 */
import { ask, at, end, withNotice, type Flow } from "../engine/steps.js";
import { money, msg, type Message, type MenuState, type StepResult } from "../engine/types.js";
import type { AgentsPort, MenuContext } from "../ports.js";
import { refusalMessage } from "../refusals.js";
import { attempt, isScreen, outcomeRefused, quoteRefused, quotedFee, readAmount, requestIdFor } from "./money.js";
import { mainMenu } from "./main-menu.js";
import { askPinUnder } from "./pins.js";

const PROMPT = msg("wd.ask_pin");
// Refusals at the store step that mean the agent number itself was wrong: ask for it again.
const WRONG_AGENT = new Set(["agent_not_found", "invalid_msisdn", "not_a_mobile_number", "agent_store_mismatch"]);

function customerOf(state: MenuState) {
  if (!state.customer) throw new Error("menu: withdraw started without a customer");
  return state.customer;
}

function agentsOf(ctx: MenuContext): AgentsPort {
  if (!ctx.agents) throw new Error("menu: withdraw without the agents port");
  return ctx.agents;
}

/**
 * The customer's words for a refusal: the agent's float is not theirs, so its limit is said as the
 * agent's ("this agent cannot take that amount"), not as the agent's own screen says it.
 */
function forCustomer<R extends { code: string }>(refusal: R): R {
  return refusal.code === "float_limit_exceeded" ? { ...refusal, code: "agent_float_limit" } : refusal;
}

const askAgent = (state: MenuState, notice?: Message) => withNotice(ask(at(state, "withdraw", "agent"), [msg("wd.ask_agent")]), notice);

function askAmount(state: MenuState, notice?: Message): StepResult {
  const c = customerOf(state);
  return withNotice(ask(state, [msg("wd.ask_amount", { name: state.data.agentName ?? "", store: state.data.store ?? "", currency: c.currency })]), notice);
}

export function withdrawSummary(state: MenuState): Message[] {
  const currency = customerOf(state).currency;
  const amount = BigInt(state.data.amount ?? "0");
  const fee = BigInt(state.data.fee ?? "0");
  const name = state.data.agentName ?? "";
  return [msg("wd.confirm", { amount: money(amount, currency), name, store: state.data.store ?? "", fee: money(fee, currency), total: money(amount + fee, currency) })];
}

export const withdraw: Flow = {
  id: "withdraw",
  async start(state, ctx) {
    // Not offered without the agents port (a dial shortcut can still name it): the main menu.
    if (!ctx.agents) return mainMenu.start(state, ctx);
    return askAgent(state);
  },
  steps: {
    async agent(state, input) {
      const agentNo = input.trim();
      if (!/^\+?\d{6,15}$/.test(agentNo)) return askAgent(state, msg("err.agent_number_invalid"));
      return ask(at(state, "withdraw", "store", { agentNo }), [msg("wd.ask_store")]);
    },
    async store(state, input, ctx) {
      const store = input.trim();
      // Store numbers are 4-12 digits (src/core/agents).
      if (!/^\d{4,12}$/.test(store)) return withNotice(ask(state, [msg("wd.ask_store")]), msg("err.store_invalid"));
      const found = await agentsOf(ctx).findForWithdrawal(customerOf(state), state.data.agentNo ?? "", store);
      if (!found.ok) {
        if (WRONG_AGENT.has(found.code)) return askAgent(state, refusalMessage(found.code));
        return end(state, [refusalMessage({ code: found.code, until: found.until ?? null })]);
      }
      return askAmount(at(state, "withdraw", "amount", { ...state.data, store, agentName: found.value.agentName }));
    },
    async amount(state, input, ctx) {
      const customer = customerOf(state);
      const again = (notice: Message) => askAmount(state, notice);
      const read = readAmount(input, customer.currency, state.lang, again);
      if ("screen" in read) return read.screen;
      const quote = await agentsOf(ctx).quoteWithdraw(customer, state.data.agentNo ?? "", state.data.store ?? "", read.amountMinor);
      if (!quote.ok) return quoteRefused(state, forCustomer(quote), customer.currency, again);
      const swap = await ctx.simSwap.checkOutgoing(customer.msisdn, quote.value.totalMinor);
      if (!swap.ok) return end(state, [refusalMessage(swap)]);
      const { agentName } = quote.value;
      const next = at(state, "withdraw", "pin", { ...state.data, agentName, amount: read.amountMinor.toString(), fee: quote.value.feeMinor.toString(), tx: requestIdFor(state, ctx) });
      return askPinUnder(next, withdrawSummary(next), PROMPT);
    },
    async pin(state, input, ctx) {
      const customer = customerOf(state);
      const amountMinor = BigInt(state.data.amount ?? "0");
      const outcome = await attempt(state, () =>
        agentsOf(ctx).withdraw({
          requestId: requestIdFor(state, ctx),
          customer,
          agentNumber: state.data.agentNo ?? "",
          storeNumber: state.data.store ?? "",
          amountMinor,
          quotedFeeMinor: quotedFee(state),
          pin: input,
        }),
      );
      if (isScreen(outcome)) return outcome;
      const refused = outcomeRefused(state, forCustomer(outcome), PROMPT, customer.currency);
      if (refused) return refused;
      const fee = money(outcome.feeMinor ?? BigInt(state.data.fee ?? "0"), customer.currency);
      return end(state, [msg("wd.receipt", { amount: money(amountMinor, customer.currency), name: state.data.agentName ?? "", fee, ref: outcome.reference })]);
    },
  },
};
