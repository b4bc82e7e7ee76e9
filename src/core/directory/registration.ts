import { isUuid } from "../ledger/ids.js";
import { AccountFlags } from "../ledger/types.js";
import type { AuditPayload } from "./audit.js";
import { maskMsisdn } from "./masking.js";
import { normalizeMsisdn } from "./msisdn.js";
import { parseDisplayName } from "./names.js";
import { UniqueViolation, type DirectoryLedger, type DirectoryStore } from "./ports.js";
import {
  isLanguage,
  PRIMARY_WALLET_ALIAS,
  ok,
  refuse,
  type ActionContext,
  type Customer,
  type DirectoryCode,
  type Instrument,
  type Language,
  type Outcome,
} from "./types.js";

export interface RegisterInput {
  institutionId: string;
  /** In any accepted form; national numbers use the institution's default country. */
  msisdn: string;
  displayName: string;
  language?: string;
}

export interface RegistrationDeps {
  store: DirectoryStore;
  ledger: DirectoryLedger;
  now: () => Date;
  newId: () => string;
}

interface Registration {
  result: Outcome<Customer>;
  payload: AuditPayload;
}

/**
 * Load → decide → open the wallet → commit. Everything that can refuse is checked before the
 * wallet account is opened. Two registrations of one number racing past the check both open an
 * account, and the unique index on msisdn lets exactly one customer row in; the loser's account
 * stays empty and unreferenced (its owner_ref names a customer that does not exist). The ledger
 * cannot join the directory's transaction, and one stray empty account is the cheaper failure.
 */
export async function registerCustomer(deps: RegistrationDeps, ctx: ActionContext, input: RegisterInput): Promise<Registration> {
  const payload: AuditPayload = {};
  const refused = (code: DirectoryCode): Registration => ({ result: refuse(code), payload });
  if (!isUuid(input.institutionId)) return refused("institution_not_found");
  payload.institutionId = input.institutionId;
  if (ctx.actorType === "bank_user" && ctx.institutionId !== input.institutionId) return refused("not_permitted");
  const name = parseDisplayName(input.displayName);
  if (!name.ok) return refused(name.code);
  const language = input.language ?? "en";
  if (!isLanguage(language)) return refused("invalid_language");
  const institution = await deps.store.getInstitution(input.institutionId);
  if (!institution) return refused("institution_not_found");
  const msisdn = normalizeMsisdn(input.msisdn, institution.defaultCountry);
  if (!msisdn.ok) return refused(msisdn.code);
  payload.msisdn = maskMsisdn(msisdn.value);
  if (await deps.store.findCustomerByMsisdn(msisdn.value)) return refused("already_registered");

  const customer: Customer = {
    id: deps.newId(),
    institutionId: institution.id,
    msisdn: msisdn.value,
    displayName: name.value,
    language: language as Language,
    kycTier: 0,
    status: "active",
    walletAccountId: deps.newId(),
    createdAt: deps.now(),
    // Registering themselves, customers choose their PIN right after (USSD registration); should
    // that write fail, they choose it on their next dial. The bank's registrations set or reset
    // the PIN by the bank's own process: never offered to whoever holds the SIM.
    ...(ctx.actorType === "customer" ? { awaitingFirstPin: true } : {}),
  };
  const wallet: Instrument = {
    id: deps.newId(),
    customerId: customer.id,
    kind: "wallet",
    alias: PRIMARY_WALLET_ALIAS,
    accountId: customer.walletAccountId,
    externalRefLast4: null,
    isDefault: true,
    createdAt: customer.createdAt,
  };
  await deps.ledger.createAccount({
    id: customer.walletAccountId,
    institutionId: institution.id,
    currency: institution.currency,
    kind: "customer_wallet",
    ownerRef: customer.id,
    flags: AccountFlags.debitsMustNotExceedCredits,
  });
  try {
    await deps.store.insertCustomer(customer, wallet);
  } catch (error) {
    if (error instanceof UniqueViolation && error.rule === "msisdn") return refused("already_registered");
    throw error;
  }
  Object.assign(payload, { language: customer.language, walletAccountId: customer.walletAccountId });
  return { result: ok(customer), payload };
}
