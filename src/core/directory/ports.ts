import type { Account, NewAccount } from "../ledger/types.js";
import type {
  Alias,
  Customer,
  CustomerProfile,
  CustomerStatus,
  DirectoryCode,
  InstitutionProfile,
  Instrument,
  KycTier,
  Language,
} from "./types.js";

/** Which unique rule a write broke. Concurrent writers racing for one name end here. */
export type UniqueRule = "msisdn" | "alias" | "instrument_alias" | "default_instrument";

/**
 * Thrown by a store when a unique index refused a write (a race lost to a concurrent writer). The
 * service turns it into a refusal such as `alias_taken`; any other store error is an outage.
 */
export class UniqueViolation extends Error {
  constructor(readonly rule: UniqueRule) {
    super(`unique rule violated: ${rule}`);
    this.name = "UniqueViolation";
  }
}

export interface CustomerPatch {
  displayName?: string;
  language?: Language;
  kycTier?: KycTier;
  status?: CustomerStatus;
}

/** One write that a decision asks the store to make, in order, in the customer's transaction. */
export type DirectoryChange =
  | { type: "update_customer"; patch: CustomerPatch }
  /**
   * Before the insert, released rows in its way are deleted: the claimant's own, and anyone's
   * released at or before `freeReleasedBefore` (its quarantine over).
   */
  | { type: "add_alias"; alias: Alias; freeReleasedBefore: Date }
  /** Kept, marked released at `at`: held for its owner during the quarantine, never a payee. */
  | { type: "release_alias"; aliasKey: string; at: Date }
  | { type: "add_instrument"; instrument: Instrument }
  | { type: "rename_instrument"; instrumentId: string; alias: string }
  | { type: "set_default_instrument"; instrumentId: string }
  | { type: "remove_instrument"; instrumentId: string };

export type Decision<T> = { ok: true; value: T; changes: DirectoryChange[] } | { ok: false; code: DirectoryCode };

/**
 * An alias row that stands in the way of a claim: the same key, the same separator skeleton
 * ("mama_jane" for "mama.jane") or the same look-alike skeleton ("j0hn" for "john").
 */
export interface AliasHolder {
  aliasKey: string;
  customerId: string;
  /** The same key or separator skeleton: the same alias spelled otherwise, not only a look-alike. */
  sameSkeleton: boolean;
  /** When customerId released it (they are then its previous owner); null while it is held. */
  releasedAt: Date | null;
}

/** A payee as stored: the customer and the account of their default instrument. */
export interface PayeeRecord {
  customer: Customer;
  defaultAccountId: string;
  /**
   * The accounts of the customer's other wallet instruments (not defaultAccountId), oldest first:
   * a payment counts what they hold towards the customer's balance cap, read in the same query.
   */
  otherWalletAccountIds: string[];
}

/** Persistence for the directory, implemented in src/infra. */
export interface DirectoryStore {
  getInstitution(institutionId: string): Promise<InstitutionProfile | null>;
  setDefaultCountry(institutionId: string, country: string): Promise<void>;
  /** Inserts the customer with its primary wallet instrument; UniqueViolation("msisdn") if taken. */
  insertCustomer(customer: Customer, wallet: Instrument): Promise<void>;
  getCustomer(customerId: string): Promise<Customer | null>;
  findCustomerByMsisdn(msisdn: string): Promise<Customer | null>;
  /** Unlocked read of everything about a customer, for answers and for pre-checks. */
  loadProfile(customerId: string): Promise<CustomerProfile | null>;
  /** A customer's instruments alone, in the profile's order (oldest first): a payment's reads. */
  listInstruments(customerId: string): Promise<Instrument[]>;
  /**
   * In one transaction: lock the customer's row, load the profile, call decide, apply its changes
   * in order. Throws UniqueViolation when a change breaks a unique rule (nothing is written).
   */
  updateCustomer<T>(customerId: string, decide: (profile: CustomerProfile | null) => Decision<T>): Promise<Decision<T>>;
  findPayeeByMsisdn(msisdn: string): Promise<PayeeRecord | null>;
  findPayeeByAlias(aliasKey: string): Promise<PayeeRecord | null>;
  /** The alias rows (any customer's) a claim of this key would collide with (AliasHolder). */
  findAliasHolders(aliasKey: string): Promise<AliasHolder[]>;
}

/** The part of the ledger the directory needs; the Ledger facade satisfies it as it is. */
export interface DirectoryLedger {
  createAccount(input: NewAccount): Promise<Account>;
  getAccount(id: string): Promise<Account | null>;
}
