/**
 * The customer's main menu. Its numbering is also the dial-string shortcuts' (*384*1# is option 1),
 * so the two never disagree: the engine reads MAIN_CHOICES for both.
 */
import { ask, at, jump, option, withNotice, type Flow } from "../engine/steps.js";
import { msg, type FlowId } from "../engine/types.js";

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

export const mainMenu: Flow = {
  id: "main",
  async start(state) {
    return ask(at(state, "main", "choose"), [msg("main.title")], MAIN_OPTIONS);
  },
  steps: {
    async choose(state, input, ctx) {
      // Own properties only: "toString" typed on a keypad-less client must not reach the prototype.
      const flow = Object.hasOwn(MAIN_CHOICES, input) ? MAIN_CHOICES[input] : undefined;
      if (flow) return jump(state, flow);
      return withNotice(await mainMenu.start(state, ctx), msg("err.invalid_choice"));
    },
  },
};
