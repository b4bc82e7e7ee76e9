import { ask, at, jump, option, withNotice, type Flow } from "../engine/steps.js";
import { msg, type FlowId } from "../engine/types.js";

const CHOICES: Record<string, FlowId> = { "1": "send", "2": "balance", "3": "statement", "4": "change_pin", "5": "language", "6": "account" };

export const MAIN_OPTIONS = [
  option("1", "main.send"),
  option("2", "main.balance"),
  option("3", "main.statement"),
  option("4", "main.change_pin"),
  option("5", "main.language"),
  option("6", "main.account"),
];

export const mainMenu: Flow = {
  id: "main",
  async start(state) {
    return ask(at(state, "main", "choose"), [msg("main.title")], MAIN_OPTIONS);
  },
  steps: {
    async choose(state, input, ctx) {
      // Own properties only: "toString" typed on a keypad-less client must not reach the prototype.
      const flow = Object.hasOwn(CHOICES, input) ? CHOICES[input] : undefined;
      if (flow) return jump(state, flow);
      return withNotice(await mainMenu.start(state, ctx), msg("err.invalid_choice"));
    },
  },
};
