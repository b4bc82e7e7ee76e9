/** Pieces the money flows share: amounts typed against a quote, outcomes that end a PIN step. */
import { derivedUuid } from "../../core/ledger/ids.js";
import { currencyDigits, parseAmount } from "../engine/amounts.js";
import { end } from "../engine/steps.js";
import { msg, type Language, type Message, type MenuState, type StepResult } from "../engine/types.js";
import type { AgentOutcome, AgentQuoteResult, MenuContext } from "../ports.js";
import { mayCorrectAmount, refusalMessage } from "../refusals.js";
import { afterPinRefusal } from "./pins.js";

/** The steps whose PIN hop moves (or holds) money: past the hop budget they answer "check your balance". */
export const MONEY_STEPS: ReadonlySet<string> = new Set(["send:pin", "withdraw:pin", "approve:pin", "agent_cash_in:pin", "agent_cash_out:pin"]);

export function movesMoney(state: Pick<MenuState, "flow" | "step"> | null | undefined): boolean {
  return state ? MONEY_STEPS.has(`${state.flow}:${state.step}`) : false;
}

/**
 * The other steps that change something: a registration, a PIN, the language, a pseudonym, the
 * default instrument, a declined cash-out. Past the hop budget the change may still be made, so
 * they answer that the outcome is unknown, never that nothing happened.
 */
export const WRITING_STEPS: ReadonlySet<string> = new Set([
  "register:confirm",
  "first_pin:confirm",
  "change_pin:old",
  "language:choose",
  "account:claim",
  "account:instrument",
  "approve:choose",
]);

export function writesState(state: Pick<MenuState, "flow" | "step"> | null | undefined): boolean {
  return state ? WRITING_STEPS.has(`${state.flow}:${state.step}`) : false;
}

/**
 * The id of the one transfer a session's flow may post, fixed before its PIN step and carried in
 * the state: a retried or resumed PIN hop submits the same id, so the core posts it at most once.
 */
export function requestIdFor(state: MenuState, ctx: MenuContext): string {
  return state.data.tx ?? derivedUuid(`fingate:menu:${state.flow}:${ctx.sessionId}`);
}

/** The fee the PIN screen showed (kept by the amount step), for the core to hold the payment to it. */
export function quotedFee(state: MenuState): bigint | undefined {
  return state.data.fee === undefined ? undefined : BigInt(state.data.fee);
}

/**
 * Why a typed amount was refused, with how many decimals the currency takes; a currency without
 * any (XOF, UGX) is told so, not "with at most 0 decimals".
 */
export function invalidAmountNotice(currency: string): Message {
  const digits = currencyDigits(currency);
  return digits === 0 ? msg("err.invalid_amount_whole") : msg("err.invalid_amount_hint", { digits });
}

/** The amount typed (read as the language's screens write amounts), or the "type it again" screen. */
export function readAmount(input: string, currency: string, language: Language, askAgain: (notice: Message) => StepResult): { amountMinor: bigint } | { screen: StepResult } {
  const amountMinor = parseAmount(input, currency, language);
  if (amountMinor === null) return { screen: askAgain(invalidAmountNotice(currency)) };
  return { amountMinor };
}

/** A refused quote: the amount may be corrected (limits, bands), anything else ends the session. */
export function quoteRefused(state: MenuState, refusal: Exclude<AgentQuoteResult<unknown>, { ok: true }>, currency: string, askAgain: (notice: Message) => StepResult): StepResult {
  const notice = refusalMessage({ code: refusal.code, until: refusal.until ?? null }, { currency, remainingMinor: refusal.remainingMinor });
  return mayCorrectAmount(refusal.code, refusal.remainingMinor) ? askAgain(notice) : end(state, [notice]);
}

/** The screen after a PIN step whose core call did not succeed; null when it did. */
export function outcomeRefused(state: MenuState, outcome: AgentOutcome, prompt: Message, currency: string): StepResult | null {
  if (outcome.code === "ok") return null;
  if (outcome.code === "pin_wrong" || outcome.code === "pin_invalid" || outcome.code === "pin_locked") {
    return afterPinRefusal(state, { code: outcome.code, until: outcome.until ?? null }, prompt);
  }
  return end(state, [refusalMessage({ code: outcome.code, until: outcome.until ?? null }, { currency, remainingMinor: outcome.remainingMinor })]);
}

/** Runs the core call of a PIN step; a throw means the outcome is unknown (the same id retried tells). */
export async function attempt(state: MenuState, call: () => Promise<AgentOutcome>): Promise<AgentOutcome | StepResult> {
  try {
    return await call();
  } catch {
    return end(state, [msg("err.payment_unknown")]);
  }
}

export function isScreen(value: AgentOutcome | StepResult): value is StepResult {
  return "reply" in value;
}

