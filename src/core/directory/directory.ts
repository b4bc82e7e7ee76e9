import type { AuditLog } from "../audit/audit-entry.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import { parseHeldPseudonym, parseInstrumentAlias, parsePseudonym, type ParsedAlias } from "./aliases.js";
import { recordAction, type AuditPayload } from "./audit.js";
import {
  aliasConflict,
  authorize,
  decideAddInstrument,
  decideClaimAlias,
  decideReleaseAlias,
  decideRemoveInstrument,
  decideRenameInstrument,
  decideSetDefaultInstrument,
  decideUpdateCustomer,
  findInstrument,
  guarded,
  ownInQuarantine,
  type Authority,
} from "./decide.js";
import { accountFor, externalRefLast4, isInstrumentKind } from "./instruments.js";
import { resolvePayee, type LookupOptions, type ResolvedPayee } from "./lookup.js";
import { isCountryCode, normalizeMsisdn } from "./msisdn.js";
import { UniqueViolation, type CustomerPatch, type Decision, type DirectoryLedger, type DirectoryStore } from "./ports.js";
import { registerCustomer, type RegisterInput } from "./registration.js";
import {
  CUSTOMER_STATUSES,
  KYC_TIERS,
  isLanguage,
  ok,
  refuse,
  type ActionContext,
  type Alias,
  type Customer,
  type CustomerProfile,
  type CustomerStatus,
  type DirectoryCode,
  type InstitutionProfile,
  type Instrument,
  type KycTier,
  type Language,
  type MsisdnCode,
  type Outcome,
  type Payee,
} from "./types.js";

export interface DirectoryDeps {
  store: DirectoryStore;
  ledger: DirectoryLedger;
  audit: AuditLog;
  now?: () => Date;
  newId?: () => string;
}

export interface AddInstrumentInput {
  kind: string;
  alias: string;
  /** Card number, bank account number, mobile-money number…; only its last four characters are kept. */
  externalRef?: string;
  makeDefault?: boolean;
}

/** A pseudonym free to claim, and whether the claim takes back one of the claimant's own in quarantine. */
type FreeAlias = ParsedAlias & { takesBackOwn: boolean };

// Instrument references (an id or an alias) longer than this cannot exist.
const MAX_REF_LENGTH = 64;

/**
 * The directory's use cases: customers, pseudonyms, payment instruments and payee lookup. Every
 * state-changing call takes the acting context, answers refusals as values, and appends one audit
 * entry whatever its outcome. Reads are not audited.
 */
export class Directory {
  private readonly store: DirectoryStore;
  private readonly ledger: DirectoryLedger;
  private readonly audit: AuditLog;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(deps: DirectoryDeps) {
    this.store = deps.store;
    this.ledger = deps.ledger;
    this.audit = deps.audit;
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => uuidv7());
  }

  /** Sets the country assumed for numbers written without a country code (bank staff, operators). */
  async setDefaultCountry(ctx: ActionContext, institutionId: string, country: string): Promise<Outcome<InstitutionProfile>> {
    const result = await this.configureCountry(ctx, institutionId, country);
    const payload = result.ok ? { country: result.value.defaultCountry } : {};
    await recordAction(this.audit, ctx, "directory.institution.set_default_country", result.ok ? institutionId : undefined, result, payload);
    return result;
  }

  private async configureCountry(ctx: ActionContext, institutionId: string, country: string): Promise<Outcome<InstitutionProfile>> {
    if (!isUuid(institutionId)) return refuse("institution_not_found");
    if (!["bank_user", "operator", "system"].includes(ctx.actorType)) return refuse("not_permitted");
    if (ctx.actorType === "bank_user" && ctx.institutionId !== institutionId) return refuse("not_permitted");
    if (!isCountryCode(country)) return refuse("invalid_country");
    const institution = await this.store.getInstitution(institutionId);
    if (!institution) return refuse("institution_not_found");
    await this.store.setDefaultCountry(institutionId, country);
    return ok({ ...institution, defaultCountry: country });
  }

  /** Registers a customer and opens their wallet. Registering a number twice answers `already_registered`. */
  async register(ctx: ActionContext, input: RegisterInput): Promise<Outcome<Customer>> {
    const { result, payload } = await registerCustomer(
      { store: this.store, ledger: this.ledger, now: this.now, newId: this.newId },
      ctx,
      input,
    );
    await recordAction(this.audit, ctx, "directory.customer.register", result.ok ? result.value.id : undefined, result, payload);
    return result;
  }

  getCustomer(customerId: string): Promise<Customer | null> {
    return isUuid(customerId) ? this.store.getCustomer(customerId) : Promise.resolve(null);
  }

  getProfile(customerId: string): Promise<CustomerProfile | null> {
    return isUuid(customerId) ? this.store.loadProfile(customerId) : Promise.resolve(null);
  }

  /** The customer's payment instruments (none for an id that is not a customer's). */
  listInstruments(customerId: string): Promise<Instrument[]> {
    return isUuid(customerId) ? this.store.listInstruments(customerId) : Promise.resolve([]);
  }

  /** The customer behind a number as a telco or a person writes it; national numbers need the institution. */
  async findCustomerByMsisdn(msisdn: string, institutionId?: string): Promise<Outcome<Customer>> {
    const institution = institutionId && isUuid(institutionId) ? await this.store.getInstitution(institutionId) : null;
    const normalized = normalizeMsisdn(msisdn, institution?.defaultCountry);
    if (!normalized.ok) return normalized;
    const customer = await this.store.findCustomerByMsisdn(normalized.value);
    return customer ? ok(customer) : refuse("customer_not_found");
  }

  /**
   * A number as a telco or a person writes it, in E.164: a national one ("0241…") is read with the
   * institution's default country (none set, or no institution: refused as invalid_msisdn). As
   * findCustomerByMsisdn reads it, which stays apart: it is on every hop, and is not made to wait
   * on one more call.
   */
  async normalizeMsisdn(msisdn: string, institutionId?: string): Promise<Outcome<string, MsisdnCode>> {
    const institution = institutionId && isUuid(institutionId) ? await this.store.getInstitution(institutionId) : null;
    return normalizeMsisdn(msisdn, institution?.defaultCountry);
  }

  /** Resolves a payee by number or pseudonym to the account that receives and a masked name. */
  async lookupPayee(query: string, options: LookupOptions = {}): Promise<Outcome<Payee>> {
    const found = await this.resolvePayee(query, options);
    return found.ok ? ok(found.value.payee) : found;
  }

  /**
   * lookupPayee with the payee's record as the lookup read it (a payment's receipt to the payee
   * needs their number and language) and their other wallets' accounts (for their balance cap).
   */
  resolvePayee(query: string, options: LookupOptions = {}): Promise<Outcome<ResolvedPayee>> {
    const asker = options.asker;
    return resolvePayee(this.store, query, options, asker && ((customer) => this.recordUnpayable(asker, customer)));
  }

  /**
   * Someone about to pay a blocked or closed customer: the bank's record of it (who tried, whom,
   * the payee's status), since the payer is told only what an unknown number gets.
   */
  private recordUnpayable(asker: ActionContext, customer: Customer): Promise<void> {
    return recordAction(this.audit, asker, "directory.payee.lookup", customer.id, refuse("payee_unavailable"), { status: customer.status });
  }

  async claimAlias(ctx: ActionContext, customerId: string, alias: string): Promise<Outcome<Alias>> {
    const parsed = await this.freeAlias(customerId, parsePseudonym(alias));
    return this.command(ctx, "directory.alias.claim", customerId, parsed, (value) =>
      guarded(ctx, "owner", (profile) => decideClaimAlias(profile, value, this.now(), value.takesBackOwn)),
      (value) => ({ alias: value.aliasKey }),
    );
  }

  /**
   * A parsed alias to claim, if no other alias stands in its way (decide.ts: aliasConflict): the
   * answer then says why (taken, a look-alike of one held, or released by another customer and
   * still in quarantine), where the unique indexes alone could only say "taken". Checked for valid
   * input and a customer id only. takesBackOwn: it would take back one of the claimant's own
   * released aliases still in quarantine (decide.ts: ownInQuarantine).
   */
  private async freeAlias(customerId: string, parsed: Outcome<ParsedAlias, DirectoryCode>): Promise<Outcome<FreeAlias, DirectoryCode>> {
    if (!parsed.ok || !isUuid(customerId)) return parsed.ok ? ok({ ...parsed.value, takesBackOwn: false }) : parsed;
    const holders = await this.store.findAliasHolders(parsed.value.key);
    const conflict = aliasConflict(holders, customerId, parsed.value.key, this.now());
    return conflict ? refuse(conflict) : ok({ ...parsed.value, takesBackOwn: ownInQuarantine(holders, customerId, this.now()) });
  }

  async releaseAlias(ctx: ActionContext, customerId: string, alias: string): Promise<Outcome<Alias>> {
    // Any alias held can be released, one claimed before its word was reserved too.
    const parsed = parseHeldPseudonym(alias);
    const key: Outcome<string> = parsed.ok ? ok(parsed.value.key) : refuse(parsed.code);
    return this.command(ctx, "directory.alias.release", customerId, key, (value) =>
      guarded(ctx, "owner", (profile) => decideReleaseAlias(profile, value, this.now())),
      (value) => ({ alias: value.aliasKey }),
    );
  }

  /** Adds a payment instrument with a ledger account of its own, opened in the institution's currency. */
  async addInstrument(ctx: ActionContext, customerId: string, input: AddInstrumentInput): Promise<Outcome<Instrument>> {
    const action = "directory.instrument.add";
    const planned = await this.planInstrument(ctx, customerId, input);
    if (!planned.ok) return this.refused(ctx, action, isUuid(customerId) ? customerId : undefined, planned.code);
    const { instrument, currency } = planned.value;
    const account = accountFor(instrument.kind);
    await this.ledger.createAccount({ id: instrument.accountId, institutionId: currency.institutionId, currency: currency.code, ownerRef: customerId, ...account });
    return this.command(ctx, action, customerId, ok(instrument), (value) =>
      guarded(ctx, "owner", (profile) => decideAddInstrument(profile, value, input.makeDefault === true)),
      instrumentPayload,
    );
  }

  /**
   * Checks everything that needs no lock before the ledger account is opened, so that a refusal
   * leaves no account behind. Only a race lost at commit can still leave an empty, unreferenced one.
   */
  private async planInstrument(
    ctx: ActionContext,
    customerId: string,
    input: AddInstrumentInput,
  ): Promise<Outcome<{ instrument: Instrument; currency: { institutionId: string; code: string } }>> {
    if (!isInstrumentKind(input.kind)) return refuse("invalid_instrument_kind");
    const alias = parseInstrumentAlias(input.alias);
    if (!alias.ok) return alias;
    const profile = isUuid(customerId) ? await this.store.loadProfile(customerId) : null;
    const institution = profile ? await this.store.getInstitution(profile.customer.institutionId) : null;
    if (!profile || !institution) return refuse("customer_not_found");
    const last4 = externalRefLast4(input.kind, input.externalRef, institution.defaultCountry);
    if (!last4.ok) return last4;
    const instrument: Instrument = {
      id: this.newId(),
      customerId,
      kind: input.kind,
      alias: alias.value,
      accountId: this.newId(),
      externalRefLast4: last4.value,
      isDefault: false,
      createdAt: this.now(),
    };
    const check = guarded(ctx, "owner", (p) => decideAddInstrument(p, instrument, input.makeDefault === true))(profile);
    if (!check.ok) return check;
    return ok({ instrument, currency: { institutionId: institution.id, code: institution.currency } });
  }

  async renameInstrument(ctx: ActionContext, customerId: string, instrumentRef: string, alias: string): Promise<Outcome<Instrument>> {
    const parsed = parseInstrumentAlias(alias);
    const input: Outcome<string> = refOk(instrumentRef) ? parsed : refuse("instrument_not_found");
    return this.command(ctx, "directory.instrument.rename", customerId, input, (value) =>
      guarded(ctx, "owner", (profile) => decideRenameInstrument(profile, instrumentRef, value)),
      instrumentPayload,
    );
  }

  async setDefaultInstrument(ctx: ActionContext, customerId: string, instrumentRef: string): Promise<Outcome<Instrument>> {
    const input: Outcome<string> = refOk(instrumentRef) ? ok(instrumentRef) : refuse("instrument_not_found");
    return this.command(ctx, "directory.instrument.set_default", customerId, input, (ref) =>
      guarded(ctx, "owner", (profile) => decideSetDefaultInstrument(profile, ref)),
      instrumentPayload,
    );
  }

  /**
   * Removes an instrument from the directory; its ledger account stays (ledger history is never
   * deleted). A wallet that still holds or reserves money cannot be removed, or the money would
   * become unreachable through the directory.
   */
  async removeInstrument(ctx: ActionContext, customerId: string, instrumentRef: string): Promise<Outcome<Instrument>> {
    const input: Outcome<string> = refOk(instrumentRef) ? await this.checkEmptyWallet(ctx, customerId, instrumentRef) : refuse("instrument_not_found");
    return this.command(ctx, "directory.instrument.remove", customerId, input, (ref) =>
      guarded(ctx, "owner", (profile) => decideRemoveInstrument(profile, ref)),
      instrumentPayload,
    );
  }

  private async checkEmptyWallet(ctx: ActionContext, customerId: string, instrumentRef: string): Promise<Outcome<string>> {
    const profile = await this.authorizedProfile(ctx, customerId, "owner");
    const instrument = profile ? findInstrument(profile, instrumentRef) : undefined;
    if (instrument?.kind !== "wallet") return ok(instrumentRef);
    return (await this.holdsMoney([instrument.accountId])) ? refuse("instrument_has_balance") : ok(instrumentRef);
  }

  /**
   * The profile whose balances a check may read: only for a caller the command would let act on
   * this customer. Anyone else learns nothing of the balances (the command refuses them, as
   * customer_not_found or not_permitted, without the check).
   */
  private async authorizedProfile(ctx: ActionContext, customerId: string, authority: Authority): Promise<CustomerProfile | null> {
    const profile = isUuid(customerId) ? await this.store.loadProfile(customerId) : null;
    return profile && authorize(ctx, profile.customer, authority) === null ? profile : null;
  }

  /** Whether any of these ledger accounts holds or reserves money (posted balance or a pending either way). */
  private async holdsMoney(accountIds: string[]): Promise<boolean> {
    const accounts = await Promise.all(accountIds.map((id) => this.ledger.getAccount(id)));
    return accounts.some((a) => a !== null && (a.creditsPosted !== a.debitsPosted || a.debitsPending > 0n || a.creditsPending > 0n));
  }

  /**
   * Closing is final, so a customer whose wallets still hold or reserve money cannot be closed:
   * the money would have no way out (the bank pays it out first). Not atomic with the close: a
   * payment whose payee was looked up before it can still land in a wallet just closed (the ledger
   * accounts stay open); the bank pays that out as it would any balance found later.
   */
  private async checkClosable(ctx: ActionContext, customerId: string): Promise<Outcome<CustomerStatus>> {
    const profile = await this.authorizedProfile(ctx, customerId, "admin");
    const wallets = (profile?.instruments ?? []).filter((i) => i.kind === "wallet").map((i) => i.accountId);
    return (await this.holdsMoney(wallets)) ? refuse("customer_has_balance") : ok("closed");
  }

  async setLanguage(ctx: ActionContext, customerId: string, language: string): Promise<Outcome<Customer>> {
    const input: Outcome<Language> = isLanguage(language) ? ok(language) : refuse("invalid_language");
    return this.updateCustomer(ctx, "directory.customer.set_language", customerId, "owner", input, (value) => ({ language: value }));
  }

  /** Bank staff only, after verifying the customer's identity. */
  async setKycTier(ctx: ActionContext, customerId: string, tier: number): Promise<Outcome<Customer>> {
    const input: Outcome<KycTier> = (KYC_TIERS as readonly number[]).includes(tier) ? ok(tier as KycTier) : refuse("invalid_kyc_tier");
    return this.updateCustomer(ctx, "directory.customer.set_kyc_tier", customerId, "admin", input, (value) => ({ kycTier: value }));
  }

  /** Bank staff only. Blocking is reversible; closing is final. */
  async setStatus(ctx: ActionContext, customerId: string, status: string): Promise<Outcome<Customer>> {
    const known = (CUSTOMER_STATUSES as readonly string[]).includes(status);
    const input: Outcome<CustomerStatus> = !known ? refuse("invalid_status") : status === "closed" ? await this.checkClosable(ctx, customerId) : ok(status as CustomerStatus);
    return this.updateCustomer(ctx, "directory.customer.set_status", customerId, "admin", input, (value) => ({ status: value }));
  }

  private updateCustomer<V>(
    ctx: ActionContext,
    action: string,
    customerId: string,
    authority: Authority,
    input: Outcome<V>,
    patchOf: (value: V) => CustomerPatch,
  ): Promise<Outcome<Customer>> {
    let before: Customer | undefined;
    return this.command(ctx, action, customerId, input, (value) =>
      guarded(ctx, authority, (profile) => {
        before = profile.customer;
        return decideUpdateCustomer(profile, patchOf(value));
      }),
      (after) => customerChange(before, after),
    );
  }

  /**
   * The shape of every customer command: a refused input is audited and answered at once; otherwise
   * the decision runs under the customer's row lock and a lost unique race becomes a refusal.
   */
  private async command<V, T>(
    ctx: ActionContext,
    action: string,
    customerId: string,
    input: Outcome<V>,
    decision: (value: V) => (profile: CustomerProfile | null) => Decision<T>,
    payloadOf: (value: T) => AuditPayload,
  ): Promise<Outcome<T>> {
    if (!isUuid(customerId)) return this.refused(ctx, action, undefined, "customer_not_found");
    if (!input.ok) return this.refused(ctx, action, customerId, input.code);
    const result = await this.commit(customerId, decision(input.value));
    await recordAction(this.audit, ctx, action, customerId, result, result.ok ? payloadOf(result.value) : {});
    return result;
  }

  private async commit<T>(customerId: string, decide: (profile: CustomerProfile | null) => Decision<T>): Promise<Outcome<T>> {
    try {
      const decision = await this.store.updateCustomer(customerId, decide);
      return decision.ok ? ok(decision.value) : refuse(decision.code);
    } catch (error) {
      if (!(error instanceof UniqueViolation)) throw error;
      if (error.rule === "alias") return refuse("alias_taken");
      if (error.rule === "instrument_alias") return refuse("instrument_alias_taken");
      throw error; // the customer's row lock makes any other conflict a bug, not a race
    }
  }

  private async refused(ctx: ActionContext, action: string, subject: string | undefined, code: DirectoryCode): Promise<Outcome<never>> {
    const result = refuse(code);
    await recordAction(this.audit, ctx, action, subject, result, {});
    return result;
  }
}

function refOk(ref: unknown): ref is string {
  return typeof ref === "string" && ref.length > 0 && ref.length <= MAX_REF_LENGTH;
}

function instrumentPayload(instrument: Instrument): AuditPayload {
  return {
    instrumentId: instrument.id,
    kind: instrument.kind,
    alias: instrument.alias,
    accountId: instrument.accountId,
    isDefault: instrument.isDefault,
    ...(instrument.externalRefLast4 ? { externalRefLast4: instrument.externalRefLast4 } : {}),
  };
}

function customerChange(before: Customer | undefined, after: Customer): AuditPayload {
  const fields = ["language", "kycTier", "status"] as const;
  const changed = fields.filter((f) => before !== undefined && before[f] !== after[f]);
  return Object.fromEntries(changed.map((f) => [f, { from: before![f], to: after[f] }]));
}
