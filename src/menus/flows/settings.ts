/** Change PIN and language. */
import { ask, at, end, withNotice, type Flow } from "../engine/steps.js";
import { msg, type MenuState } from "../engine/types.js";
import { refusalMessage } from "../refusals.js";
import { afterPinRefusal, askPin, newPinProblem, samePin, sealContext } from "./pins.js";
import { LANGUAGE_OPTIONS, languageOf } from "./register.js";

function customerOf(state: MenuState) {
  if (!state.customer) throw new Error("menu: a settings flow started without a customer");
  return state.customer;
}

/**
 * New PIN, the new PIN again, then the current PIN last: the current PIN is checked in the very
 * step that receives it, and the new one is kept only sealed until then.
 */
export const changePin: Flow = {
  id: "change_pin",
  async start(state) {
    return askPin(at(state, "change_pin", "new"), msg("cp.ask_new"));
  },
  steps: {
    async new(state, input, ctx) {
      const problem = newPinProblem(input, ctx);
      if (problem) return askPin(state, msg("cp.ask_new"), refusalMessage(problem));
      return askPin(at(state, "change_pin", "confirm", { pin: ctx.sealer.seal(input, sealContext(ctx, "cp")) }), msg("cp.confirm_new"));
    },
    async confirm(state, input, ctx) {
      const first = state.data.pin ? ctx.sealer.open(state.data.pin, sealContext(ctx, "cp")) : null;
      if (first === null || !samePin(first, input)) return askPin(at(state, "change_pin", "new"), msg("cp.ask_new"), refusalMessage("pin_mismatch"));
      return askPin(at(state, "change_pin", "old", state.data), msg("cp.ask_old"));
    },
    async old(state, input, ctx) {
      const newPin = state.data.pin ? ctx.sealer.open(state.data.pin, sealContext(ctx, "cp")) : null;
      if (newPin === null) return askPin(at(state, "change_pin", "new"), msg("cp.ask_new"));
      const changed = await ctx.pins.changePin(customerOf(state), input, newPin);
      if (changed.ok) return end(at(state, "change_pin", "done"), [msg("cp.done")]);
      if (changed.code === "pin_unchanged" || changed.code === "pin_weak") {
        return askPin(at(state, "change_pin", "new"), msg("cp.ask_new"), refusalMessage(changed));
      }
      return afterPinRefusal(state, changed, msg("cp.ask_old"));
    },
  },
};

export const language: Flow = {
  id: "language",
  async start(state) {
    return ask(at(state, "language", "choose"), [msg("lang.ask")], LANGUAGE_OPTIONS);
  },
  steps: {
    async choose(state, input, ctx) {
      const lang = languageOf(input);
      if (!lang) return withNotice(ask(state, [msg("lang.ask")], LANGUAGE_OPTIONS), msg("err.invalid_choice"));
      const customer = customerOf(state);
      const set = await ctx.directory.setLanguage(customer, lang);
      if (!set.ok) return end(state, [refusalMessage(set)]);
      return end({ ...state, lang, customer: { ...customer, language: lang } }, [msg("lang.done")]);
    },
  },
};
