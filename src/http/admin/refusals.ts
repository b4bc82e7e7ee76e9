/**
 * The one table that turns refusal codes into HTTP statuses for the admin API. Services answer
 * with codes (values, not exceptions); routes pass them here unchanged. A code missing from this
 * table is a compile error, not a 500 at run time.
 */
export const REFUSALS = {
  // Requests
  invalid_request: [400, "the request is invalid; see details"],
  unauthenticated: [401, "a valid API key is required: Authorization: Bearer <key>"],
  forbidden: [403, "this API key's role may not do this"],
  not_found: [404, "no such resource"],
  not_configured: [501, "this gateway runs without the service this endpoint needs"],
  // Audit
  audit_chain_unverified: [409, "the audit chains do not verify, so no anchor is taken: one would vouch for the break (the platform operator's verify names where)"],
  // Institutions and keys
  institution_not_found: [404, "no such institution"],
  institution_code_taken: [409, "an institution with this code exists"],
  api_key_not_found: [404, "no such API key"],
  too_many_api_keys: [409, "the institution holds as many unrevoked API keys as it may (100): revoke one first"],
  // Fees
  fee_schedule_not_found: [404, "no fee schedule for this type: payments of this type are free"],
  amount_outside_fee_bands: [422, "the amount lies outside every band of the fee schedule"],
  // Telcos and tariffs
  telco_not_found: [404, "no such telco"],
  telco_code_taken: [409, "a telco with this code exists"],
  telco_identifier_taken: [409, "a network code or SMPP link id is already assigned to a telco"],
  tariff_plan_not_found: [404, "no such tariff plan"],
  effective_from_taken: [409, "the telco already has a plan taking effect at this time"],
  effective_from_past: [409, "a plan cannot start before it is created: sessions under way keep the price they started under; start it now or later"],
  effective_from_billed: [409, "sessions from this time on were already billed under another plan: start the plan later"],
  plan_in_use: [409, "metered sessions refer to this plan; add a new plan instead"],
  plan_in_effect: [409, "the plan has taken effect: sessions under way are priced by it; only its name may change, add a new plan instead"],
  time_zone_unknown: [409, "the institution's time zone is not one the database knows, so its days cannot be reported"],
  // Customers (directory)
  customer_not_found: [404, "no such customer"],
  customer_closed: [409, "the customer is closed"],
  customer_has_balance: [409, "the customer's wallets still hold or reserve money: pay it out before closing"],
  customer_not_active: [409, "the customer is not active"],
  not_permitted: [403, "not permitted"],
  invalid_kyc_tier: [400, "invalid KYC tier"],
  invalid_status: [400, "invalid status"],
  // PINs and SIM swaps (auth)
  pin_not_set: [404, "the customer has no PIN"],
  pin_already_set: [409, "the customer set a PIN meanwhile: look again before resetting it"],
  pin_invalid: [400, "the new PIN is not 4 to 6 digits"],
  pin_weak: [422, "the new PIN is too easy to guess"],
  sim_swap_cooling: [409, "the SIM changed recently: PIN resets wait until the cooling period ends"],
  not_authorized: [403, "not authorized"],
  invalid_msisdn: [400, "invalid phone number"],
  invalid_time: [400, "the time lies in the future"],
  // Agents (business correspondents)
  agent_not_found: [404, "no such agent"],
  agent_exists: [409, "an agent with this number exists in the institution"],
  store_number_taken: [409, "another agent of the institution has this store number"],
  invalid_store_number: [400, "the store number must be 4 to 12 digits"],
  agent_unavailable: [409, "the agent is suspended or closed"],
  bank_account_unavailable: [409, "an account of the institution's own (settlement, fee income) is frozen or closed"],
  agent_has_balance: [409, "the agent still holds float or commission: withdraw it before closing"],
  insufficient_float: [422, "the agent's float cannot cover this"],
  float_limit_exceeded: [422, "this would take the agent's float above its ceiling"],
  request_id_reused: [409, "this request id was used for a different request"],
  transfer_not_found: [404, "no such transfer of this institution"],
  not_a_cash_in: [422, "the transfer is not a cash-in"],
  already_reversed: [409, "the cash-in has already been reversed"],
  customer_funds_spent: [422, "the customer has already spent the money: the cash-in cannot be reversed"],
  commission_paid_out: [422, "the agent's commission has been paid out: the cash-in cannot be reversed"],
  invalid_amount: [400, "the amount must be a positive number of minor units"],
  too_many_keys: [409, "the agent has as many active device keys as allowed; revoke one first"],
  device_key_not_found: [404, "no such device key"],
  per_transaction_exceeded: [422, "the amount exceeds the per-transaction limit"],
  daily_amount_exceeded: [422, "the daily limit would be exceeded"],
  // SMS links
  sms_link_not_found: [404, "no such SMS link"],
  sms_link_id_taken: [409, "an SMS link with this id exists"],
  weak_link_password: [400, "a server link's password must be 8 characters mixing three of lower case, upper case, digits and symbols"],
  sms_system_id_taken: [409, "another server link has this system_id"],
} as const satisfies Record<string, readonly [number, string]>;

export type RefusalCode = keyof typeof REFUSALS;

export function refusalStatus(code: RefusalCode): number {
  return REFUSALS[code][0];
}

export function refusalMessage(code: RefusalCode): string {
  return REFUSALS[code][1];
}

export function isRefusalCode(code: string): code is RefusalCode {
  return Object.hasOwn(REFUSALS, code);
}
