import type { Language } from "../directory/types.js";

/** An institution (bank or e-money issuer) as the ledger's institutions table holds it. */
export interface Institution {
  id: string;
  /** Short lower-case handle, e.g. "kcb-ke": unique, used in logs and on statements. */
  code: string;
  name: string;
  /** ISO 4217; every account of the institution holds this currency. */
  currency: string;
  /** IANA zone in which its days and months (limits, reports) begin. */
  timezone: string;
  /** The language of its customers' menus and messages until they choose their own. */
  language: Language;
  /**
   * Minor units of its currency to one unit of the security levels' default limits (the most a bank
   * may allow): 100 (a shilling) unless the platform set another when it created the institution.
   */
  limitUnitMinor: bigint;
  createdAt: Date;
}

// The same rules as the CHECK constraints of the ledger migration.
export const INSTITUTION_CODE_RE = /^[a-z0-9][a-z0-9-]{1,39}$/;
export const CURRENCY_RE = /^[A-Z]{3}$/;
export const MAX_INSTITUTION_NAME_CHARS = 100;

/** One field of a request that cannot be accepted, and why: the edge turns these into a 400's details. */
export interface FieldProblem {
  path: (string | number)[];
  message: string;
}
