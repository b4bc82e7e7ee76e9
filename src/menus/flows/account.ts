/** My account: pseudonyms (list, claim) and payment instruments (choose the default). */
import { ask, at, end, option, withNotice, type Flow } from "../engine/steps.js";
import { msg, type MenuState, type StepResult } from "../engine/types.js";
import { refusalMessage } from "../refusals.js";
import { chosenInstrument, instrumentOptions, offeredInstruments, offeredTails, type InstrumentChoice } from "./instrument-choices.js";

const MENU = [option("1", "acct.aliases"), option("2", "acct.claim"), option("3", "acct.instruments")];
const ALIAS_RETRY_CODES = new Set(["alias_taken", "alias_reserved"]);
const ALIAS_LIMIT_CODES = new Set(["alias_limit_reached", "alias_quarantine_limit_reached"]);

function customerOf(state: MenuState) {
  if (!state.customer) throw new Error("menu: account flow without a customer");
  return state.customer;
}

/** The default-account list: every instrument, remembered by its id's tail. */
function askInstrument(state: MenuState, instruments: InstrumentChoice[]): StepResult {
  const listed = offeredInstruments(instruments);
  return ask(at(state, "account", "instrument", { offered: offeredTails(listed) }), [msg("acct.instruments_title")], instrumentOptions(listed));
}

export const account: Flow = {
  id: "account",
  async start(state) {
    return ask(at(state, "account", "choose"), [msg("acct.title")], MENU);
  },
  steps: {
    async choose(state, input, ctx) {
      const customer = customerOf(state);
      if (input === "2") return ask(at(state, "account", "claim"), [msg("acct.ask_alias")]);
      if (input !== "1" && input !== "3") return withNotice(ask(state, [msg("acct.title")], MENU), msg("err.invalid_choice"));
      const holdings = await ctx.directory.holdings(customer);
      if (input === "1") {
        if (holdings.aliases.length === 0) return end(state, [msg("acct.no_aliases")]);
        return end(state, [msg("acct.alias_list", { aliases: holdings.aliases.join(", ") })]);
      }
      return askInstrument(state, holdings.instruments);
    },
    async claim(state, input, ctx) {
      const claimed = await ctx.directory.claimAlias(customerOf(state), input.trim());
      if (claimed.ok) return end(state, [msg("acct.alias_claimed", { alias: claimed.value })]);
      // At a limit the session ends (at the quarantine one a name of the customer's own in quarantine
      // is still theirs to take back, which the message says; another session may).
      const invalid = claimed.code.startsWith("alias_") && !ALIAS_LIMIT_CODES.has(claimed.code);
      if (invalid || ALIAS_RETRY_CODES.has(claimed.code)) return withNotice(ask(state, [msg("acct.ask_alias")]), refusalMessage(claimed));
      return end(state, [refusalMessage(claimed)]);
    },
    async instrument(state, input, ctx) {
      const customer = customerOf(state);
      // `ids` (whole ids, which match as tails too): a session saved before the list kept tails.
      const { instruments } = await ctx.directory.holdings(customer);
      const chosen = chosenInstrument(state.data.offered ?? state.data.ids, input, instruments);
      // A slip of the keypad is corrected on the list, read afresh, as send money's source list does.
      if (!chosen) return withNotice(askInstrument(state, instruments), msg("err.invalid_choice"));
      const set = await ctx.directory.setDefaultInstrument(customer, chosen.id);
      if (!set.ok) return end(state, [refusalMessage(set)]);
      return end(state, [msg("acct.default_set", { name: set.value })]);
    },
  },
};
