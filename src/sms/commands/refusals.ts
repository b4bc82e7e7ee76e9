/** The one table from payment and PIN refusal codes to SMS reply keys (under reply.err). */

const TABLE: Record<string, string> = {
  pin_wrong: "pin_wrong",
  pin_invalid: "pin_invalid",
  pin_locked: "pin_locked",
  insufficient_funds: "insufficient_funds",
  exceeds_credits: "insufficient_funds",
  limit_exceeded: "limit",
  per_transaction_exceeded: "limit",
  daily_amount_exceeded: "limit",
  monthly_amount_exceeded: "limit",
  daily_count_exceeded: "limit",
  balance_limit_exceeded: "payee_limit",
  // Unknown, blocked or closed: one reply that says neither (the bank's audit log tells them apart).
  payee_not_found: "payee_cannot_pay",
  payee_unavailable: "payee_cannot_pay",
  currency_mismatch: "payee_cannot_pay",
  invalid_amount: "invalid_amount",
  amount_outside_fee_bands: "invalid_amount",
  self_payment: "self_payment",
  sim_swap_cooling: "sim_swap",
  payer_unavailable: "account_frozen",
  payer_not_found: "account_frozen",
};

export function refusalKey(code: string): string {
  return `err.${Object.hasOwn(TABLE, code) ? TABLE[code] : "generic"}`;
}
