/**
 * The agent menu, offered when the caller's number is an agent's. Its numbering is also the agent's
 * dial-string shortcuts'. The reports (float, today's transactions, commission) ask the agent's PIN
 * first: a phone left on the counter must not show the shop's money.
 */
import { ask, at, end, jump, option, withNotice, type Flow } from "../engine/steps.js";
import { money, msg, type FlowId, type Message, type MenuState } from "../engine/types.js";
import type { AgentRef, AgentsPort, MenuContext } from "../ports.js";
import { afterPinRefusal, askPin } from "./pins.js";

export const AGENT_CHOICES: Readonly<Record<string, FlowId>> = Object.freeze({
  "1": "agent_cash_in",
  "2": "agent_cash_out",
  "3": "agent_float",
  "4": "agent_today",
  "5": "agent_commission",
});
/** Shown only when the agent's number is also a customer's. */
const PERSONAL = "6";

const OPTIONS = [
  option("1", "ag.cash_in"),
  option("2", "ag.cash_out"),
  option("3", "ag.float"),
  option("4", "ag.today"),
  option("5", "ag.commission"),
];

export function agentOf(state: MenuState): AgentRef {
  if (!state.agent) throw new Error("menu: an agent flow without an agent");
  return state.agent;
}

export function agentsPortOf(ctx: MenuContext): AgentsPort {
  if (!ctx.agents) throw new Error("menu: an agent flow without the agents port");
  return ctx.agents;
}

function menuOptions(state: MenuState) {
  return state.customer ? [...OPTIONS, option(PERSONAL, "ag.personal")] : OPTIONS;
}

export const agentMenu: Flow = {
  id: "agent",
  async start(state) {
    return ask(at(state, "agent", "choose"), [msg("ag.title")], menuOptions(state));
  },
  steps: {
    async choose(state, input, ctx) {
      const flow = Object.hasOwn(AGENT_CHOICES, input) ? AGENT_CHOICES[input] : undefined;
      if (flow) return jump(state, flow);
      if (input === PERSONAL && state.customer) {
        // The personal menu: the session stops being an agent's (home is the main menu from now on).
        // As on any dial: a self-registered customer without a PIN chooses it first (else every PIN
        // they type is wrong), then a cash-out another agent started for this customer comes first.
        const { agent: _dropped, ...personal } = state;
        return jump({ ...personal, lang: state.customer.language }, state.customer.awaitingFirstPin ? "first_pin" : "approve");
      }
      return withNotice(await agentMenu.start(state, ctx), msg("err.invalid_choice"));
    },
  },
};

/** A report behind the agent's PIN: ask, verify, show, end. */
function report(id: FlowId, show: (agent: AgentRef, ctx: MenuContext) => Promise<Message[]>): Flow {
  return {
    id,
    async start(state) {
      agentOf(state); // agents' sessions only
      return askPin(at(state, id, "pin"), msg("ag.ask_pin"));
    },
    steps: {
      async pin(state, input, ctx) {
        const agent = agentOf(state);
        const verified = await agentsPortOf(ctx).verifyPin(agent, input);
        if (!verified.ok) return afterPinRefusal(state, verified, msg("ag.ask_pin"));
        return end(state, await show(agent, ctx));
      },
    },
  };
}

export const agentFloat = report("agent_float", async (agent, ctx) => {
  const { availableMinor, currency } = await agentsPortOf(ctx).floatBalance(agent);
  return [msg("ag.float_result", { amount: money(availableMinor, currency) })];
});

export const agentToday = report("agent_today", async (agent, ctx) => {
  const { count, lines } = await agentsPortOf(ctx).todaysTransactions(agent, ctx.limits.statementRows);
  if (count === 0) return [msg("ag.today_empty")];
  return [
    msg("ag.today_title", { count }),
    ...lines.slice(0, ctx.limits.statementRows).map((row) =>
      msg(row.direction === "in" ? "ag.tx_in" : "ag.tx_out", {
        amount: money(row.amountMinor, agent.currency),
        date: { kind: "date", iso: row.at.toISOString() },
        ref: row.reference,
      }),
    ),
  ];
});

export const agentCommission = report("agent_commission", async (agent, ctx) => {
  const { balanceMinor, currency } = await agentsPortOf(ctx).commissionEarned(agent);
  return [msg("ag.commission_result", { amount: money(balanceMinor, currency) })];
});
