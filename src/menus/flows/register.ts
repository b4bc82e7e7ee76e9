/** Registration for an unknown number: name, language, PIN twice → a tier-0 wallet. */
import { normalizeMsisdn } from "../../core/directory/msisdn.js";
import { parseDisplayName } from "../../core/directory/names.js";
import { ask, at, end, option, withNotice, type Flow } from "../engine/steps.js";
import { MENU_LANGUAGES, msg, type Language } from "../engine/types.js";
import { refusalMessage } from "../refusals.js";
import { askPin, newPinProblem, samePin } from "./pins.js";

// One letter is a valid display name to the directory, but not a name to register by.
const NAME_MIN_CHARS = 2;

export const LANGUAGE_OPTIONS = MENU_LANGUAGES.map((lang, i) => option(String(i + 1), `lang.name_${lang}`));

export function languageOf(input: string): Language | undefined {
  const index = Number(input) - 1;
  return /^[1-9]$/.test(input) ? MENU_LANGUAGES[index] : undefined;
}

export const register: Flow = {
  id: "register",
  async start(state, ctx) {
    // The directory registers mobile numbers only: a caller it would refuse is told so now, not
    // after typing a name and a PIN twice.
    if (!normalizeMsisdn(ctx.msisdn).ok) return end(state, [msg("reg.number_unsupported")]);
    return ask(at(state, "register", "name"), [msg("reg.welcome"), msg("reg.ask_name")]);
  },
  steps: {
    async name(state, input) {
      // The directory's own rule, here at the step: a name it would refuse is refused before the
      // caller chooses a language and types the PIN twice.
      const parsed = parseDisplayName(input);
      const name = parsed.ok ? parsed.value : "";
      if (!parsed.ok || [...name].length < NAME_MIN_CHARS) return ask(state, [msg("err.name_invalid"), msg("reg.ask_name")]);
      return ask(at(state, "register", "language", { name }), [msg("reg.ask_language")], LANGUAGE_OPTIONS);
    },
    async language(state, input) {
      const lang = languageOf(input);
      if (!lang) return withNotice(ask(state, [msg("reg.ask_language")], LANGUAGE_OPTIONS), msg("err.invalid_choice"));
      const next = at({ ...state, lang }, "register", "pin", { ...state.data, lang });
      return askPin(next, msg("reg.ask_pin", { min: 4 }));
    },
    async pin(state, input, ctx) {
      const problem = newPinProblem(input, ctx);
      if (problem) return askPin(state, msg("reg.ask_pin"), refusalMessage(problem));
      const sealed = ctx.sealer.seal(input, `${ctx.sessionId}:reg`);
      return askPin(at(state, "register", "confirm", { ...state.data, pin: sealed }), msg("reg.confirm_pin"));
    },
    async confirm(state, input, ctx) {
      const { pin: sealed, ...rest } = state.data;
      const first = sealed ? ctx.sealer.open(sealed, `${ctx.sessionId}:reg`) : null;
      if (first === null || !samePin(first, input)) {
        return askPin(at(state, "register", "pin", rest), msg("reg.ask_pin"), refusalMessage("pin_mismatch"));
      }
      const cleared = at(state, "register", "done", {});
      const registered = await ctx.directory.register({
        institutionId: ctx.institutionId,
        msisdn: ctx.msisdn,
        displayName: rest.name ?? "",
        language: (rest.lang as Language | undefined) ?? state.lang,
      });
      if (!registered.ok) return end(cleared, [refusalMessage(registered)]);
      const customer = registered.value;
      const pinSet = await ctx.pins.setPin(customer, first);
      if (!pinSet.ok) return end(cleared, [refusalMessage(pinSet)]);
      return end({ ...cleared, customer, lang: customer.language }, [msg("reg.done", { name: customer.displayName })]);
    },
  },
};
