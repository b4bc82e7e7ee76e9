/**
 * Pure decisions over a customer's profile, loaded with the customer's row locked. Each returns
 * either a refusal code or the changes to write and the value to answer with. No I/O here.
 */
import { lookalikeSkeleton, type ParsedAlias } from "./aliases.js";
import type { AliasHolder, CustomerPatch, Decision, DirectoryChange } from "./ports.js";
import {
  ALIAS_QUARANTINE_MS,
  MAX_ALIASES_PER_CUSTOMER,
  MAX_ALIAS_NAMES_PER_CUSTOMER,
  MAX_INSTRUMENTS_PER_CUSTOMER,
  type ActionContext,
  type Alias,
  type Customer,
  type CustomerProfile,
  type DirectoryCode,
  type Instrument,
  type ReleasedAlias,
} from "./types.js";

const refused = (code: DirectoryCode): Decision<never> => ({ ok: false, code });
const decided = <T>(value: T, changes: DirectoryChange[] = []): Decision<T> => ({ ok: true, value, changes });

/** owner: the customer, or staff acting for them. admin: bank staff, operators and the system only. */
export type Authority = "owner" | "admin";

/**
 * Whether ctx may act on this customer. A bank user sees only its own institution's customers,
 * and is told `customer_not_found` for others so that ids of other banks' customers leak nothing.
 */
export function authorize(ctx: ActionContext, customer: Customer, authority: Authority): DirectoryCode | null {
  if (ctx.actorType === "bank_user") return ctx.institutionId === customer.institutionId ? null : "customer_not_found";
  if (ctx.actorType === "operator" || ctx.actorType === "system") return null;
  if (authority === "owner" && ctx.actorType === "customer" && ctx.actorId === customer.id) return null;
  return "not_permitted";
}

/** Wraps a decision with the checks every customer command starts with. */
export function guarded<T>(
  ctx: ActionContext,
  authority: Authority,
  decide: (profile: CustomerProfile) => Decision<T>,
): (profile: CustomerProfile | null) => Decision<T> {
  return (profile) => {
    if (profile === null) return refused("customer_not_found");
    const denied = authorize(ctx, profile.customer, authority);
    return denied ? refused(denied) : decide(profile);
  };
}

function requireActive(customer: Customer): DirectoryCode | null {
  if (customer.status === "closed") return "customer_closed";
  return customer.status === "active" ? null : "customer_not_active";
}

/**
 * Whether the rows a claim collides with include one of the claimant's own, released and still in
 * quarantine: the claim then takes it back (the store's FREE_RELEASED deletes it), adding no name.
 * Read from the holders rather than the profile, whose list of released rows the store may cut at
 * MAX_ALIAS_NAMES_PER_CUSTOMER (the most recent): a customer holding more from before the cap
 * could not otherwise take back their oldest. Read unlocked, yet safe: should that row be gone by
 * the claim's lock (taken back by another claim of theirs, or by anyone once its quarantine ended),
 * the row that replaced it has the same look-alike skeleton, and the unique index refuses the insert.
 */
export function ownInQuarantine(holders: AliasHolder[], customerId: string, now: Date): boolean {
  const cutoff = quarantineCutoff(now).getTime();
  return holders.some((h) => h.customerId === customerId && h.releasedAt !== null && h.releasedAt.getTime() > cutoff);
}

/**
 * Claiming an alias one already holds succeeds again without a write, so a retry is harmless.
 * At most MAX_ALIASES_PER_CUSTOMER active, and MAX_ALIAS_NAMES_PER_CUSTOMER names counting those
 * the customer released still in quarantine (`alias_quarantine_limit_reached`), unless the claim
 * takes back one of those (the write frees it: no name is added; `takesBackOwn`, from
 * ownInQuarantine, says so when the profile's list of released rows, cut by the store, does not
 * reach that one). Decided on the profile read under the customer's row lock, so concurrent
 * claims of one customer cannot pass either limit.
 */
export function decideClaimAlias(profile: CustomerProfile, parsed: ParsedAlias, now: Date, takesBackOwn = false): Decision<Alias> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  const held = profile.aliases.find((a) => a.aliasKey === parsed.key);
  if (held) return decided(held);
  if (profile.aliases.length >= MAX_ALIASES_PER_CUSTOMER) return refused("alias_limit_reached");
  const cutoff = quarantineCutoff(now).getTime();
  const quarantined = profile.releasedAliases.filter((r) => r.releasedAt.getTime() > cutoff);
  const takesBack = takesBackOwn || quarantined.some((r) => freedByClaimOf(r, parsed.key));
  if (!takesBack && profile.aliases.length + quarantined.length >= MAX_ALIAS_NAMES_PER_CUSTOMER) return refused("alias_quarantine_limit_reached");
  const alias: Alias = { alias: parsed.alias, aliasKey: parsed.key, customerId: profile.customer.id, createdAt: now };
  return decided(alias, [{ type: "add_alias", alias, freeReleasedBefore: quarantineCutoff(now) }]);
}

/**
 * Whether the rows a claim collides with (read before the claim, unlocked) leave it free: the
 * same alias (key or separator skeleton) held by anyone is `alias_taken`, a look-alike of it
 * ("j0hn" beside "john") `alias_too_similar`. The claimant's own alias of that very key is no
 * obstacle (a retry). A claim racing past this check still meets the unique indexes: alias_taken.
 */
export function aliasConflict(holders: AliasHolder[], customerId: string, key: string, now: Date): DirectoryCode | null {
  const held = holders.filter((h) => h.releasedAt === null && !(h.customerId === customerId && h.aliasKey === key));
  if (held.some((h) => h.sameSkeleton)) return "alias_taken";
  if (held.length > 0) return "alias_too_similar";
  // Released by someone else and still in quarantine (ALIAS_QUARANTINE_DAYS): theirs alone to take back.
  const cutoff = quarantineCutoff(now).getTime();
  return holders.some((h) => h.releasedAt !== null && h.customerId !== customerId && h.releasedAt.getTime() > cutoff) ? "alias_cooling" : null;
}

/**
 * Whether claiming `key` deletes this released row of the claimant's (the store's FREE_RELEASED:
 * the same key, separator skeleton or look-alike skeleton; lookalikeSkeleton is the SQL fold's copy).
 */
function freedByClaimOf(released: ReleasedAlias, key: string): boolean {
  return released.aliasKey === key || released.aliasSkeleton === key.replace(/[._-]/g, "") || released.aliasLookalike === lookalikeSkeleton(key);
}

/** Aliases released at or before this moment are out of quarantine: anyone may claim them. */
export const quarantineCutoff = (now: Date): Date => new Date(now.getTime() - ALIAS_QUARANTINE_MS);

/** A closed customer keeps its aliases, so nobody else can take over a name payers still use. */
export function decideReleaseAlias(profile: CustomerProfile, aliasKey: string, now: Date): Decision<Alias> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  const held = profile.aliases.find((a) => a.aliasKey === aliasKey);
  return held ? decided(held, [{ type: "release_alias", aliasKey, at: now }]) : refused("alias_not_found");
}

/** The instrument's ids (and its ledger account) are chosen before deciding, so a retry of the same plan decides the same. */
export function decideAddInstrument(profile: CustomerProfile, planned: Instrument, makeDefault: boolean): Decision<Instrument> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  if (profile.instruments.length >= MAX_INSTRUMENTS_PER_CUSTOMER) return refused("instrument_limit_reached");
  if (profile.instruments.some((i) => i.alias === planned.alias)) return refused("instrument_alias_taken");
  const instrument = { ...planned, customerId: profile.customer.id, isDefault: makeDefault };
  const changes: DirectoryChange[] = [{ type: "add_instrument", instrument: { ...instrument, isDefault: false } }];
  if (makeDefault) changes.push({ type: "set_default_instrument", instrumentId: instrument.id });
  return decided(instrument, changes);
}

export function decideRenameInstrument(profile: CustomerProfile, ref: string, alias: string): Decision<Instrument> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  const instrument = findInstrument(profile, ref);
  if (!instrument) return refused("instrument_not_found");
  if (instrument.alias === alias) return decided(instrument);
  if (profile.instruments.some((i) => i.alias === alias)) return refused("instrument_alias_taken");
  return decided({ ...instrument, alias }, [{ type: "rename_instrument", instrumentId: instrument.id, alias }]);
}

export function decideSetDefaultInstrument(profile: CustomerProfile, ref: string): Decision<Instrument> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  const instrument = findInstrument(profile, ref);
  if (!instrument) return refused("instrument_not_found");
  if (instrument.isDefault) return decided(instrument);
  return decided({ ...instrument, isDefault: true }, [{ type: "set_default_instrument", instrumentId: instrument.id }]);
}

/**
 * The primary wallet stays for the customer's lifetime (fees, refunds and cash-in land there), and
 * the default instrument stays until another is made default: a payee always has an account.
 */
export function decideRemoveInstrument(profile: CustomerProfile, ref: string): Decision<Instrument> {
  const inactive = requireActive(profile.customer);
  if (inactive) return refused(inactive);
  const instrument = findInstrument(profile, ref);
  if (!instrument) return refused("instrument_not_found");
  if (profile.instruments.length <= 1) return refused("cannot_remove_last_instrument");
  if (instrument.isDefault) return refused("cannot_remove_default_instrument");
  if (instrument.accountId === profile.customer.walletAccountId) return refused("cannot_remove_primary_wallet");
  return decided(instrument, [{ type: "remove_instrument", instrumentId: instrument.id }]);
}

/** Closing is final: a closed customer's number and aliases stay reserved to it. */
export function decideUpdateCustomer(profile: CustomerProfile, patch: CustomerPatch): Decision<Customer> {
  const { customer } = profile;
  if (customer.status === "closed") return refused("customer_closed");
  const changed = (Object.keys(patch) as (keyof CustomerPatch)[]).some((key) => patch[key] !== customer[key]);
  const updated = { ...customer, ...patch };
  return changed ? decided(updated, [{ type: "update_customer", patch }]) : decided(customer);
}

/** By id, or by alias as a customer would type it ("Salary" finds "salary"). */
export function findInstrument(profile: CustomerProfile, ref: string): Instrument | undefined {
  const key = ref.toLowerCase();
  return profile.instruments.find((i) => i.id === ref || i.alias === key);
}
