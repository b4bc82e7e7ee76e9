import { isUuid } from "../ledger/ids.js";
import { parseHeldPseudonym } from "./aliases.js";
import { maskDisplayName } from "./masking.js";
import { normalizeMsisdn } from "./msisdn.js";
import type { DirectoryStore, PayeeRecord } from "./ports.js";
import { ok, refuse, type ActionContext, type Customer, type Outcome, type Payee } from "./types.js";

export interface LookupOptions {
  /**
   * The payer's institution: its default country reads numbers written without a country code,
   * and only its customers are found (a payment to another institution's wallet would need an
   * interbank settlement leg, which this ledger does not have).
   */
  institutionId?: string;
  /**
   * Who is about to pay (a payer, an agent): a payee found blocked or closed is then written to
   * the audit log, with its status (Directory.resolvePayee), since what the asker hears must not
   * tell it from an unknown number (payee_not_found, at the payments and agents services).
   */
  asker?: ActionContext;
}

// A pseudonym starts with a letter, so anything starting with a digit, "+" or "(" is a number.
const NUMBER_LIKE_RE = /^\s*[0-9+(]/;

/**
 * A payee as a payment needs it: what Directory.lookupPayee answers, the customer's directory record as read
 * (for the payee's receipt: never shown to the payer), and the accounts of their other wallets,
 * whose holdings count towards the customer's balance cap (TransferLimits.payeeHoldingAccountIds).
 */
export interface ResolvedPayee {
  payee: Payee;
  customer: Customer;
  otherWalletAccountIds: string[];
}

/**
 * Resolves "0712 345 678", "+254712345678" or "mama.jane" to the payee's receiving account and a
 * masked name, with what a payment needs besides (ResolvedPayee). Malformed input gets the code of
 * the rule it breaks, so a confirmation screen can say "check the number" rather than "not found";
 * a reserved word is simply not found. A blocked or closed customer is payee_unavailable, after
 * onUnavailable (Directory's audit of the asker): the services facing a payer answer it as
 * payee_not_found. Through Directory only, so that no caller skips that audit.
 */
export async function resolvePayee(
  store: DirectoryStore,
  query: unknown,
  options: LookupOptions,
  onUnavailable?: (customer: Customer) => Promise<void>,
): Promise<Outcome<ResolvedPayee>> {
  if (typeof query !== "string") return refuse("payee_not_found");
  let record: PayeeRecord | null;
  if (NUMBER_LIKE_RE.test(query)) {
    const institution = options.institutionId && isUuid(options.institutionId) ? await store.getInstitution(options.institutionId) : null;
    const msisdn = normalizeMsisdn(query, institution?.defaultCountry);
    if (!msisdn.ok) return msisdn;
    record = await store.findPayeeByMsisdn(msisdn.value);
  } else {
    const alias = parseHeldPseudonym(query);
    if (!alias.ok) return refuse(alias.code);
    record = await store.findPayeeByAlias(alias.value.key);
  }
  if (!record) return refuse("payee_not_found");
  const { customer } = record;
  if (options.institutionId !== undefined && customer.institutionId !== options.institutionId) return refuse("payee_not_found");
  if (customer.status !== "active") {
    await onUnavailable?.(customer);
    return refuse("payee_unavailable");
  }
  const payee = { customerId: customer.id, institutionId: customer.institutionId, accountId: record.defaultAccountId, maskedName: maskDisplayName(customer.displayName) };
  // Never the receiving account itself (the store's fallback to the primary wallet, should the
  // customer have no default instrument, could otherwise list it twice).
  const otherWalletAccountIds = record.otherWalletAccountIds.filter((id) => id !== record.defaultAccountId);
  return ok({ payee, customer, otherWalletAccountIds });
}
