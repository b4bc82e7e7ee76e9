/** Registration for an unknown number: name, language, PIN twice → a tier-0 wallet. */
import { normalizeMsisdn } from "../../core/directory/msisdn.js";
import { parseDisplayName } from "../../core/directory/names.js";
import { ask, at, end, option, withNotice, type Flow } from "../engine/steps.js";
import { MENU_LANGUAGES, msg, type CustomerRef, type Language } from "../engine/types.js";
import type { MenuContext, Result } from "../ports.js";
import { refusalMessage } from "../refusals.js";
import { askPin, newPinProblem, samePin, sealContext } from "./pins.js";

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
      if (!parsed.ok || [...name].length < NAME_MIN_CHARS) {
        const why = !parsed.ok && parsed.code === "display_name_reserved" ? "err.name_reserved" : "err.name_invalid";
        return ask(state, [msg(why), msg("reg.ask_name")]);
      }
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
      const sealed = ctx.sealer.seal(input, sealContext(ctx, "reg"));
      return askPin(at(state, "register", "confirm", { ...state.data, pin: sealed }), msg("reg.confirm_pin"));
    },
    async confirm(state, input, ctx) {
      const { pin: sealed, ...rest } = state.data;
      const first = sealed ? ctx.sealer.open(sealed, sealContext(ctx, "reg")) : null;
      if (first === null || !samePin(first, input)) {
        return askPin(at(state, "register", "pin", rest), msg("reg.ask_pin"), refusalMessage("pin_mismatch"));
      }
      const cleared = at(state, "register", "done", {});
      const registered = await registeredCustomer(ctx, rest.name ?? "", (rest.lang as Language | undefined) ?? state.lang);
      if (!registered.ok) return end(cleared, [refusalMessage(registered)]);
      const customer = registered.value;
      // A customer registered by an earlier try of this step (its PIN then failed to be set) gets
      // the PIN now; one who has a PIN is refused it (`pin_already_set`), as already registered.
      const pinSet = await ctx.pins.setPin(customer, first);
      if (!pinSet.ok && pinSet.code === "pin_already_set") return end(cleared, [refusalMessage({ code: "already_registered" })]);
      if (!pinSet.ok) return end(cleared, [refusalMessage(pinSet)]);
      return end({ ...cleared, customer, lang: customer.language }, [msg("reg.done", { name: customer.displayName })]);
    },
  },
};

/**
 * A self-registered customer whose PIN was never set (registration's PIN write failed and the
 * session was not resumed) chooses it on their next dial, twice, as registration would have had
 * them do. setPin refuses to overwrite a PIN set meanwhile (pin_already_set), so this can only
 * ever give a first PIN.
 */
export const firstPin: Flow = {
  id: "first_pin",
  async start(state) {
    return askPin(at(state, "first_pin", "pin", {}), msg("reg.ask_pin"), msg("reg.finish_pin"));
  },
  steps: {
    async pin(state, input, ctx) {
      const problem = newPinProblem(input, ctx);
      if (problem) return askPin(state, msg("reg.ask_pin"), refusalMessage(problem));
      const sealed = ctx.sealer.seal(input, sealContext(ctx, "reg"));
      return askPin(at(state, "first_pin", "confirm", { pin: sealed }), msg("reg.confirm_pin"));
    },
    async confirm(state, input, ctx) {
      const sealed = state.data.pin;
      const first = sealed ? ctx.sealer.open(sealed, sealContext(ctx, "reg")) : null;
      if (first === null || !samePin(first, input)) return askPin(at(state, "first_pin", "pin", {}), msg("reg.ask_pin"), refusalMessage("pin_mismatch"));
      const cleared = at(state, "first_pin", "done", {});
      const customer = state.customer;
      if (!customer) return end(cleared, [refusalMessage({ code: "unavailable" })]);
      const pinSet = await ctx.pins.setPin(customer, first);
      // Set meanwhile (the bank, another session): theirs stands; the caller uses that one.
      if (!pinSet.ok && pinSet.code !== "pin_already_set") return end(cleared, [refusalMessage(pinSet)]);
      const { awaitingFirstPin: _done, ...ready } = customer;
      return end({ ...cleared, customer: ready }, [msg("reg.done", { name: customer.displayName })]);
    },
  },
};

/**
 * The customer this step registers, or the one an earlier try of it registered: that try may
 * have failed between the registration and the PIN, and its retry (or the session resumed) must
 * be able to finish the job, or the number would stay a customer without a PIN.
 */
async function registeredCustomer(ctx: MenuContext, displayName: string, language: Language): Promise<Result<CustomerRef>> {
  const registered = await ctx.directory.register({ institutionId: ctx.institutionId, msisdn: ctx.msisdn, displayName, language });
  if (registered.ok || registered.code !== "already_registered") return registered;
  // Only this bank's active customer: a number is unique across banks, and a blocked customer's
  // PIN is the bank's business.
  const existing = await ctx.directory.findByMsisdn(ctx.msisdn, ctx.institutionId);
  return existing && existing.institutionId === ctx.institutionId && existing.active ? { ok: true, value: existing } : registered;
}
