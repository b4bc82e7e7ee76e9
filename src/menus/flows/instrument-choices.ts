/** A customer's instruments as a screen of numbered choices: my account's default, send money's source. */
import { msg, type Message } from "../engine/types.js";
import type { Holdings } from "../ports.js";

export type InstrumentChoice = Holdings["instruments"][number];

// One screen of single-digit choices (the directory allows 10 instruments per customer).
const MAX_CHOICES = 9;

/** The instruments offered, at most one screen of them, in the order given. */
export function offeredInstruments(instruments: InstrumentChoice[]): InstrumentChoice[] {
  return instruments.slice(0, MAX_CHOICES);
}

/** "1. wallet (default)", "2. savings" … */
export function instrumentOptions(offered: InstrumentChoice[]): Array<{ choice: string; label: Message }> {
  return offered.map((i, n) => ({ choice: String(n + 1), label: msg(i.isDefault ? "acct.instrument_default" : "acct.instrument", { name: i.alias }) }));
}
