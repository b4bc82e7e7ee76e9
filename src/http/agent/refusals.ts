import type { AgentCode } from "../../core/agents/types.js";

/**
 * The one table from refusal codes to HTTP statuses for the agent API. Every AgentCode is listed
 * (a missing one is a compile error), plus the API's own request codes.
 */
export const AGENT_API_REFUSALS = {
  invalid_request: [400, "the request is invalid; see details"],
  unauthenticated: [401, "a valid agent device key is required: Authorization: Bearer <key>"],
  not_found: [404, "no such resource"],
  invalid_input: [400, "the request is invalid; see details"],
  invalid_amount: [400, "the amount must be a positive number of minor units"],
  invalid_request_id: [400, "requestId must be a UUID"],
  invalid_msisdn: [400, "invalid phone number"],
  invalid_store_number: [400, "the store number must be 4 to 12 digits"],
  institution_not_found: [404, "no such institution"],
  agent_exists: [409, "an agent with this number exists"],
  store_number_taken: [409, "the store number is taken"],
  agent_not_found: [404, "no such agent"],
  agent_unavailable: [403, "this agent is suspended or closed"],
  agent_has_balance: [409, "the agent still holds float or commission"],
  agent_store_mismatch: [422, "the agent number and store number do not belong to the same agent"],
  customer_not_found: [404, "no customer with this number or name"],
  customer_unavailable: [409, "the customer's account is not active"],
  self_transaction: [422, "an agent cannot serve its own number"],
  amount_outside_fee_bands: [422, "the bank does not allow this amount"],
  sim_swap_cooling: [409, "the SIM changed recently: large amounts wait until the cooling period ends"],
  pin_wrong: [401, "wrong PIN"],
  pin_locked: [423, "the PIN is locked after too many wrong attempts"],
  pin_invalid: [400, "the PIN must be 4 to 6 digits"],
  insufficient_float: [422, "the float cannot cover this"],
  insufficient_funds: [422, "the customer's balance cannot cover this"],
  float_limit_exceeded: [422, "this would take the float above its ceiling"],
  too_many_pending: [409, "the customer already has the most cash-outs awaiting approval"],
  cash_outs_declined: [409, "the customer declined or ignored this agent's cash-outs too often today; they can withdraw from their own phone"],
  pending_not_found: [404, "no such cash-out"],
  pending_expired: [409, "the cash-out expired before the customer approved it"],
  pending_already_approved: [409, "the cash-out was already approved"],
  pending_already_declined: [409, "the customer declined the cash-out"],
  request_id_reused: [409, "this request id was used for a different request"],
  transfer_not_found: [404, "no such transfer"],
  not_a_cash_in: [422, "the transfer is not a cash-in"],
  already_reversed: [409, "already reversed"],
  customer_funds_spent: [422, "the customer has spent the money"],
  commission_paid_out: [422, "the commission has been paid out"],
  currency_mismatch: [422, "currencies differ"],
  per_transaction_exceeded: [422, "the amount exceeds the per-transaction limit"],
  daily_count_exceeded: [422, "the daily number of transactions is used up"],
  daily_amount_exceeded: [422, "the daily limit would be exceeded"],
  monthly_amount_exceeded: [422, "the monthly limit would be exceeded"],
  balance_limit_exceeded: [422, "the customer's wallet would exceed its balance limit"],
} as const satisfies Record<AgentCode | "invalid_request" | "unauthenticated" | "not_found", readonly [number, string]>;

export type AgentApiCode = keyof typeof AGENT_API_REFUSALS;
