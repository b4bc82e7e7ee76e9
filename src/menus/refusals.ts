/**
 * The one table from business refusal codes (core, payments, PIN service) to menu messages.
 * Anything not listed gets a generic message; the code itself is never shown.
 */
import { money, msg, type Message } from "./engine/types.js";
import type { Refusal } from "./ports.js";

const TABLE: Record<string, string> = {
  insufficient_funds: "err.insufficient_funds",
  exceeds_credits: "err.insufficient_funds",
  pin_wrong: "err.pin_wrong",
  pin_locked: "err.pin_locked",
  pin_invalid: "err.pin_format",
  pin_weak: "err.pin_weak",
  pin_unchanged: "err.pin_unchanged",
  pin_mismatch: "err.pin_mismatch",
  sim_swap_cooling: "err.sim_swap_cooling",
  pin_change_cooling: "err.pin_change_cooling",
  // Unknown, blocked or closed: one message that says neither (the bank's audit log tells them apart).
  payee_not_found: "err.payee_cannot_pay",
  payee_unavailable: "err.payee_cannot_pay",
  invalid_msisdn: "err.payee_invalid",
  not_a_mobile_number: "err.payee_invalid",
  self_payment: "err.self_payment",
  invalid_amount: "err.invalid_amount",
  amount_too_large: "err.invalid_amount",
  limit_exceeded: "err.limit_exceeded",
  per_transaction_exceeded: "err.limit_exceeded",
  daily_count_exceeded: "err.limit_count",
  daily_amount_exceeded: "err.limit_exceeded",
  monthly_amount_exceeded: "err.limit_exceeded",
  balance_limit_exceeded: "err.payee_limit",
  amount_outside_fee_bands: "err.invalid_amount",
  payer_unavailable: "err.account_frozen",
  payer_not_found: "err.account_frozen",
  currency_mismatch: "err.payee_cannot_pay",
  account_frozen: "err.account_frozen",
  debit_account_frozen: "err.account_frozen",
  credit_account_frozen: "err.payee_cannot_pay",
  customer_not_active: "err.account_frozen",
  already_registered: "err.already_registered",
  alias_taken: "err.alias_taken",
  alias_reserved: "err.alias_taken",
  alias_too_similar: "err.alias_too_similar",
  alias_cooling: "err.alias_cooling",
  alias_limit_reached: "err.alias_limit",
  alias_quarantine_limit_reached: "err.alias_quarantine_limit",
  instrument_not_found: "err.invalid_choice",
  display_name_required: "err.name_invalid",
  display_name_too_long: "err.name_invalid",
  display_name_invalid_characters: "err.name_invalid",
  display_name_mixed_scripts: "err.name_invalid",
  display_name_reserved: "err.name_reserved",
  // Agents (src/core/agents): cash-in, cash-out, withdrawal at an agent.
  customer_not_found: "err.payee_not_found",
  customer_unavailable: "err.customer_unavailable",
  invalid_store_number: "err.store_invalid",
  agent_not_found: "err.agent_not_found",
  agent_unavailable: "err.agent_unavailable",
  bank_account_unavailable: "err.unavailable",
  agent_store_mismatch: "err.agent_store_mismatch",
  self_transaction: "err.self_transaction",
  insufficient_float: "err.insufficient_float",
  float_limit_exceeded: "err.float_limit",
  // The same limit as a customer withdrawing hears it (flows/withdraw.ts).
  agent_float_limit: "err.agent_float_limit",
  fee_changed: "err.fee_changed",
  too_many_pending: "err.too_many_pending",
  cash_outs_declined: "err.cash_outs_declined",
  pending_not_found: "err.cash_out_expired",
  pending_expired: "err.cash_out_expired",
  pending_already_approved: "err.cash_out_decided",
  pending_already_declined: "err.cash_out_decided",
};

export const REFUSAL_KEYS: readonly string[] = [
  ...new Set([...Object.values(TABLE), "err.generic", "err.limit_remaining", "err.limit_remaining_amount", "err.limit_reached", "err.limit_reached_month", "err.limit_reached_now", "err.limit_none", "err.limit_over"]),
];

export interface RefusalExtras {
  currency?: string;
  /** The largest amount every limit lets through now (the core's availableMinor). */
  remainingMinor?: bigint;
  /** The customer is sending money: "you can still send …"; otherwise the wording fits any amount. */
  sending?: boolean;
}

/** Refusals after which the customer may correct the amount and try again. */
export const AMOUNT_REFUSALS: ReadonlySet<string> = new Set([
  "invalid_amount",
  "amount_outside_fee_bands",
  "limit_exceeded",
  "per_transaction_exceeded",
  "daily_amount_exceeded",
  "monthly_amount_exceeded",
  "balance_limit_exceeded",
  "float_limit_exceeded",
  "agent_float_limit",
]);

/**
 * Whether the customer may type another amount after this refusal: not when a limit leaves
 * nothing at all (every amount would be refused until the stage cap ends the session).
 */
export function mayCorrectAmount(code: string, remainingMinor?: bigint): boolean {
  return AMOUNT_REFUSALS.has(code) && !(remainingMinor !== undefined && remainingMinor <= 0n && LIMIT_CODES.has(code));
}

const LIMIT_CODES: ReadonlySet<string> = new Set(["limit_exceeded", "per_transaction_exceeded", "daily_amount_exceeded", "monthly_amount_exceeded"]);

/**
 * Which message says that a limit leaves nothing. Only a payer's own daily or monthly amount names
 * its period; a per-payment refusal with nothing left does not say which limit binds, and outside
 * send money the limit may be someone else's (an agent's float, or the customer's on an agent's
 * screen), so those say only that no amount is allowed now.
 */
function nothingLeft(code: string, sending: boolean): string {
  if (!sending) return "err.limit_none";
  if (code === "daily_amount_exceeded") return "err.limit_reached";
  return code === "monthly_amount_exceeded" ? "err.limit_reached_month" : "err.limit_reached_now";
}

export function refusalMessage(refusal: Pick<Refusal, "code" | "until"> | string, extras: RefusalExtras = {}): Message {
  const code = typeof refusal === "string" ? refusal : refusal.code;
  const listed = Object.hasOwn(TABLE, code) ? TABLE[code] : undefined;
  const key = listed ?? (code.startsWith("alias_") ? "err.alias_invalid" : "err.generic");
  if (key === "err.limit_exceeded" && extras.remainingMinor !== undefined && extras.currency) {
    if (extras.remainingMinor <= 0n) return msg(nothingLeft(code, extras.sending === true));
    // "You can still send X today" only fits a day's or month's remainder: a per-payment maximum
    // is not what is left today (two such payments may well fit), so it is "the most allowed now".
    const today = extras.sending === true && code !== "per_transaction_exceeded";
    return msg(today ? "err.limit_remaining" : "err.limit_remaining_amount", { remaining: money(extras.remainingMinor, extras.currency) });
  }
  // Without an amount (a retried refusal, or a limit that is not the reader's: the customer's on an
  // agent's screen) and outside send money, the limit may be anyone's: "your limit" would mislead.
  if (key === "err.limit_exceeded" && !extras.sending) return msg("err.limit_over");
  const until = typeof refusal === "string" ? undefined : refusal.until;
  if (until && (key === "err.pin_locked" || key === "err.sim_swap_cooling" || key === "err.pin_change_cooling")) {
    return msg(`${key}_until`, { until: { kind: "date", iso: until.toISOString() } });
  }
  return msg(key);
}
