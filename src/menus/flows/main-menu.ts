/**
 * The customer's main menu. Its numbering is also the dial-string shortcuts' (*384*1# is option 1),
 * so the two never disagree: the engine reads MAIN_CHOICES for both.
 */
import { ask, at, jump, option, withNotice, type Flow } from "../engine/steps.js";
import { msg, type FlowId } from "../engine/types.js";
import type { MenuContext } from "../ports.js";

export const MAIN_CHOICES: Readonly<Record<string, FlowId>> = Object.freeze({
  "1": "balance",
  "2": "send",
  "3": "statement",
  "4": "withdraw",
  "5": "change_pin",
  "6": "account",
  "7": "language",
});

export const MAIN_OPTIONS = [
  option("1", "main.balance"),
  option("2", "main.send"),
  option("3", "main.statement"),
  option("4", "main.withdraw"),
  option("5", "main.change_pin"),
  option("6", "main.account"),
  option("7", "main.language"),
];

// A gateway built without the agents port offers no cash withdrawal; the other numbers stay as they are.
const WITHOUT_AGENTS = MAIN_OPTIONS.filter((o) => MAIN_CHOICES[o.choice] !== "withdraw");

/** Whether this gateway offers the flow (cash withdrawal needs the agents port). */
export function offered(flow: FlowId, ctx: MenuContext): boolean {
  return flow !== "withdraw" || ctx.agents !== undefined;
}

export const mainMenu: Flow = {
  id: "main",
  async start(state, ctx) {
    return ask(at(state, "main", "choose"), [msg("main.title")], ctx.agents ? MAIN_OPTIONS : WITHOUT_AGENTS);
  },
  steps: {
    async choose(state, input, ctx) {
      // Own properties only: "toString" typed on a keypad-less client must not reach the prototype.
      const flow = Object.hasOwn(MAIN_CHOICES, input) ? MAIN_CHOICES[input] : undefined;
      if (flow && offered(flow, ctx)) return jump(state, flow);
      return withNotice(await mainMenu.start(state, ctx), msg("err.invalid_choice"));
    },
  },
};
