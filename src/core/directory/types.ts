/** Directory vocabulary: customers, their pseudonyms and their payment instruments. */
import type { ActorType, Channel } from "../audit/audit-entry.js";

export const LANGUAGES = ["en", "sw", "fr", "hi"] as const;
export type Language = (typeof LANGUAGES)[number];
export const isLanguage = (value: unknown): value is Language => (LANGUAGES as readonly unknown[]).includes(value);

export const CUSTOMER_STATUSES = ["active", "blocked", "closed"] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];

/** 0 = self-registered by phone; higher tiers are set by the bank after verifying identity. */
export const KYC_TIERS = [0, 1, 2, 3] as const;
export type KycTier = (typeof KYC_TIERS)[number];

export const INSTRUMENT_KINDS = ["wallet", "bank_account", "card", "mobile_money", "e_money"] as const;
export type InstrumentKind = (typeof INSTRUMENT_KINDS)[number];

/** Limits, so that no customer can grow an unbounded list (TigerBeetle style: limit everything). */
export const MAX_ALIASES_PER_CUSTOMER = 5;
export const MAX_INSTRUMENTS_PER_CUSTOMER = 10;

/**
 * How long a released pseudonym stays held for the customer who released it: payers keep paying a
 * name long after its owner let it go (saved in a phone, painted on a kiosk, passed on by word of
 * mouth), and whoever claimed it next would be paid in its owner's place, a fraudster watching for
 * releases first of all. A month covers a monthly bill or school fee and a payer's next salary;
 * the previous owner may take it back at any time (a release by mistake), nobody else until then.
 */
export const ALIAS_QUARANTINE_DAYS = 30;
export const ALIAS_QUARANTINE_MS = ALIAS_QUARANTINE_DAYS * 24 * 60 * 60 * 1000;

/**
 * The most names a customer may hold at once, counting those they released that are still in
 * quarantine (held for them, refused to everyone else) beside their MAX_ALIASES_PER_CUSTOMER
 * active ones. Without it the quarantine had no bound: claim five, release them, claim five more,
 * and one customer kept any number of names from everyone else. Twice the active limit lets a
 * customer replace every one of their aliases once within a quarantine (a new business, a typo
 * in all of them) and no more. Taking back one's own name in quarantine adds no name, so it is
 * never refused by this cap (only by the active limit).
 */
export const MAX_ALIAS_NAMES_PER_CUSTOMER = 2 * MAX_ALIASES_PER_CUSTOMER;

/** The instrument opened at registration over the customer's wallet account. */
export const PRIMARY_WALLET_ALIAS = "wallet";

export interface Customer {
  id: string;
  institutionId: string;
  /** E.164, e.g. +254712345678. */
  msisdn: string;
  displayName: string;
  language: Language;
  kycTier: KycTier;
  status: CustomerStatus;
  /** The ledger account opened at registration; also the primary wallet instrument's account. */
  walletAccountId: string;
  createdAt: Date;
  /**
   * True for a customer who registered themselves and has no PIN yet (the PIN, written after the
   * registration, failed): they choose it when they next dial. Absent when false or not read.
   */
  awaitingFirstPin?: boolean;
}

export interface Alias {
  /** As the customer typed it (ASCII after NFKC), e.g. "Mama.Jane". */
  alias: string;
  /** Lower-cased: what uniqueness and lookups use, e.g. "mama.jane". */
  aliasKey: string;
  customerId: string;
  createdAt: Date;
}

export interface Instrument {
  id: string;
  customerId: string;
  kind: InstrumentKind;
  /** Short lower-case name chosen by the customer, unique per customer ("salary", "mpesa"). */
  alias: string;
  accountId: string;
  /** The last four characters of the external reference; null for wallets. Never more. */
  externalRefLast4: string | null;
  isDefault: boolean;
  createdAt: Date;
}

/** A customer with everything the directory holds about them. */
export interface CustomerProfile {
  customer: Customer;
  aliases: Alias[];
  instruments: Instrument[];
  /**
   * The aliases this customer released, most recently released first, that a claim may still have
   * to count against MAX_ALIAS_NAMES_PER_CUSTOMER (those whose quarantine is over are not
   * counted; the decision tells them apart by its own clock). The store may cut the list at
   * MAX_ALIAS_NAMES_PER_CUSTOMER rows: that many in quarantine already refuse any new name.
   */
  releasedAliases: ReleasedAlias[];
}

/** A released alias row of its previous owner, with the skeletons a claim frees it by. */
export interface ReleasedAlias {
  aliasKey: string;
  /** alias_skeleton and alias_lookalike as stored (NULL for an alias held before its rule). */
  aliasSkeleton: string | null;
  aliasLookalike: string | null;
  releasedAt: Date;
}

export interface InstitutionProfile {
  id: string;
  currency: string;
  /** ISO 3166-1 alpha-2 country assumed for numbers written without a country code; null if unset. */
  defaultCountry: string | null;
}

/** What a payer's confirmation screen may show about a payee. */
export interface Payee {
  customerId: string;
  institutionId: string;
  /** The ledger account of the payee's default instrument: where the money goes. */
  accountId: string;
  /** "JANE W***": enough to confirm, too little to harvest. */
  maskedName: string;
}

/** Who is acting, through which channel. A bank user is scoped to their institution. */
export interface ActionContext {
  actorType: ActorType;
  actorId: string;
  channel: Channel;
  institutionId?: string;
}

/** What can be wrong with a pseudonym or an instrument alias; codes prefix it with the field. */
export type HandleProblem =
  | "too_short"
  | "too_long"
  | "invisible_characters"
  | "not_ascii"
  | "invalid_characters"
  | "must_start_with_letter"
  | "repeated_separator"
  | "ends_with_separator"
  | "looks_like_phone_number";

export type AliasProblemCode = `alias_${HandleProblem}` | "alias_reserved";
export type InstrumentAliasProblemCode = `instrument_alias_${HandleProblem}`;
export type MsisdnCode = "invalid_msisdn" | "not_a_mobile_number";
export type DisplayNameCode =
  | "display_name_required"
  | "display_name_too_long"
  | "display_name_invalid_characters"
  | "display_name_mixed_scripts"
  | "display_name_reserved";
export type ExternalRefCode = "invalid_external_ref" | "invalid_card_number" | "external_ref_not_allowed" | MsisdnCode;

/** Every refusal the directory can answer with; the edge maps each to an HTTP status or a menu message. */
export type DirectoryCode =
  | MsisdnCode
  | DisplayNameCode
  | AliasProblemCode
  | InstrumentAliasProblemCode
  | ExternalRefCode
  | "invalid_language"
  | "invalid_kyc_tier"
  | "invalid_status"
  | "invalid_instrument_kind"
  | "invalid_country"
  | "institution_not_found"
  | "already_registered"
  | "customer_not_found"
  | "customer_not_active"
  | "customer_closed"
  | "not_permitted"
  | "alias_taken"
  | "alias_too_similar"
  | "alias_cooling"
  | "alias_limit_reached"
  | "alias_quarantine_limit_reached"
  | "alias_not_found"
  | "instrument_alias_taken"
  | "instrument_limit_reached"
  | "instrument_not_found"
  | "cannot_remove_default_instrument"
  | "cannot_remove_last_instrument"
  | "cannot_remove_primary_wallet"
  | "instrument_has_balance"
  | "customer_has_balance"
  | "payee_not_found"
  | "payee_unavailable";

export type Outcome<T, C extends string = DirectoryCode> = { ok: true; value: T } | { ok: false; code: C };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const refuse = <C extends string>(code: C): { ok: false; code: C } => ({ ok: false, code });
