import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { Language } from "../directory/types.js";
import type { Account } from "../ledger/types.js";
import type { Institution } from "./types.js";

export interface InstitutionStore {
  /**
   * Writes the institution, its audit entries and its system accounts in one transaction: a
   * failure part way writes none of them. False when the id or the code is taken (nothing written).
   */
  insert(institution: Institution, audit: AuditEntryInput[], accounts: Account[]): Promise<boolean>;
  /** Sets its default language, with the audit entry in the same transaction; false when there is no such institution. */
  setLanguage(id: string, language: Language, audit: AuditEntryInput[]): Promise<boolean>;
  /** Sets its limit unit (Institution.limitUnitMinor), audited likewise; false when there is no such institution. */
  setLimitUnit(id: string, limitUnitMinor: bigint, audit: AuditEntryInput[]): Promise<boolean>;
  get(id: string): Promise<Institution | null>;
  /**
   * Whether the database's own time zone list has this zone: reports turn local days into instants
   * there, and its list and the runtime's (Intl) differ (Intl takes names tzdata dropped).
   */
  knowsTimeZone(timeZone: string): Promise<boolean>;
  /** Ordered by code; at most limit rows after the code `after`. */
  list(limit: number, after?: string): Promise<Institution[]>;
}
