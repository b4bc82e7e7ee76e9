/**
 * A cash-out an agent started for this customer: offered first when the customer dials (agent's
 * name masked, store, amount, fee) → 1 approve with the PIN, 2 decline, 3 later (the main menu).
 * The amount is already held on the wallet by the core; approving posts it, declining voids it.
 */
import { ask, at, end, jump, option, withNotice, type Flow } from "../engine/steps.js";
import { money, msg, type Message, type MenuState } from "../engine/types.js";
import type { AgentsPort, MenuContext } from "../ports.js";
import { attempt, isScreen, outcomeRefused } from "./money.js";
import { askPin } from "./pins.js";

const OPTIONS = [option("1", "co.opt_approve"), option("2", "co.opt_decline"), option("3", "co.opt_later")];
const PROMPT = msg("co.ask_pin");

function customerOf(state: MenuState) {
  if (!state.customer) throw new Error("menu: cash-out approval without a customer");
  return state.customer;
}

function agentsOf(ctx: MenuContext): AgentsPort {
  if (!ctx.agents) throw new Error("menu: cash-out approval without the agents port");
  return ctx.agents;
}

function offerLines(state: MenuState): Message[] {
  const currency = customerOf(state).currency;
  const amount = BigInt(state.data.amount ?? "0");
  const fee = BigInt(state.data.fee ?? "0");
  return [
    msg("co.offer", { name: state.data.agentName ?? "", store: state.data.store ?? "", amount: money(amount, currency) }),
    msg("send.fee", { fee: money(fee, currency), total: money(amount + fee, currency) }),
  ];
}

export const approve: Flow = {
  id: "approve",
  async start(state, ctx) {
    const [first] = ctx.agents ? await ctx.agents.pendingCashOuts(customerOf(state)) : [];
    if (!first) return jump(state, "main");
    const next = at(state, "approve", "choose", {
      id: first.pendingId,
      agentName: first.agentName,
      store: first.storeNumber,
      amount: first.amountMinor.toString(),
      fee: first.feeMinor.toString(),
    });
    return ask(next, offerLines(next), OPTIONS);
  },
  steps: {
    async choose(state, input, ctx) {
      if (input === "1") return askPin(at(state, "approve", "pin", state.data), PROMPT);
      if (input === "3") return jump(at(state, "approve", "later", {}), "main");
      if (input !== "2") return withNotice(ask(state, offerLines(state), OPTIONS), msg("err.invalid_choice"));
      const outcome = await attempt(state, () => agentsOf(ctx).declineCashOut({ pendingId: state.data.id ?? "", customer: customerOf(state) }));
      if (isScreen(outcome)) return outcome;
      return outcomeRefused(state, outcome, PROMPT, customerOf(state).currency) ?? end(state, [msg("co.declined")]);
    },
    async pin(state, input, ctx) {
      const customer = customerOf(state);
      const outcome = await attempt(state, () => agentsOf(ctx).approveCashOut({ pendingId: state.data.id ?? "", customer, pin: input }));
      if (isScreen(outcome)) return outcome;
      const refused = outcomeRefused(state, outcome, PROMPT, customer.currency);
      if (refused) return refused;
      const amount = money(outcome.amountMinor ?? BigInt(state.data.amount ?? "0"), customer.currency);
      return end(state, [msg("co.approved", { amount, name: state.data.agentName ?? "", ref: outcome.reference })]);
    },
  },
};
