/** A customer's instruments as a screen of numbered choices: my account's default, send money's source. */
import { MAX_INSTRUMENTS_PER_CUSTOMER } from "../../core/directory/types.js";
import { msg, type Message } from "../engine/types.js";
import type { Holdings } from "../ports.js";

export type InstrumentChoice = Holdings["instruments"][number];

/**
 * Every instrument the directory allows a customer is offered: "10" is a two-digit choice, which
 * clashes with none of the pager's ("0" Back, "98" More) or the home shortcut ("00").
 */
const MAX_CHOICES = MAX_INSTRUMENTS_PER_CUSTOMER;

/** The instruments offered, in the order given. */
export function offeredInstruments(instruments: InstrumentChoice[]): InstrumentChoice[] {
  return instruments.slice(0, MAX_CHOICES);
}

/** "1. wallet (default)", "2. savings" … */
export function instrumentOptions(offered: InstrumentChoice[]): Array<{ choice: string; label: Message }> {
  return offered.map((i, n) => ({ choice: String(n + 1), label: msg(i.isDefault ? "acct.instrument_default" : "acct.instrument", { name: i.alias }) }));
}

/** The 0-based position a typed choice ("1" … "10") names in a list of `count`, if it names one. */
export function chosenPosition(input: string, count: number): number | undefined {
  if (!/^[1-9][0-9]?$/.test(input)) return undefined;
  const position = Number(input) - 1;
  return position < Math.min(count, MAX_CHOICES) ? position : undefined;
}

// An id's random tail names it among one customer's instruments (48 bits), and ten of them fit
// the menu state's field limit where ten full ids would not.
const TAIL = 12;

/** What the state keeps of a list shown: its instruments' tails, in order. */
export function offeredTails(offered: InstrumentChoice[]): string {
  return offered.map((i) => i.id.slice(-TAIL)).join(",");
}

/** The instrument a choice of the list shown names, if it is still the customer's (`fresh` is a new read). */
export function chosenInstrument(tails: string | undefined, input: string, fresh: InstrumentChoice[]): InstrumentChoice | undefined {
  const offered = (tails ?? "").split(",").filter((tail) => tail.length > 0);
  const position = chosenPosition(input, offered.length);
  if (position === undefined) return undefined;
  const matching = fresh.filter((i) => i.id.endsWith(offered[position]!));
  return matching.length === 1 ? matching[0] : undefined;
}
