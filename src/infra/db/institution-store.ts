import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { Language } from "../../core/directory/types.js";
import type { InstitutionStore } from "../../core/institutions/ports.js";
import type { Institution } from "../../core/institutions/types.js";
import type { Account } from "../../core/ledger/types.js";
import { appendAuditEntries } from "./audit-store.js";
import { insertAccounts } from "./ledger-store.js";
import { date, iso, uniqueViolation } from "./policy-rows.js";
import type { SqlDb } from "./sql.js";

interface InstitutionRow {
  id: string;
  code: string;
  name: string;
  currency: string;
  timezone: string;
  language: Language;
  limit_unit_minor: string;
  created_at: Date;
}

const COLUMNS = `id, code, name, currency, timezone, language, limit_unit_minor::text AS limit_unit_minor, created_at`;

const toInstitution = (r: InstitutionRow): Institution => ({
  id: r.id,
  code: r.code,
  name: r.name,
  currency: r.currency,
  timezone: r.timezone,
  language: r.language,
  limitUnitMinor: BigInt(r.limit_unit_minor),
  createdAt: date(r.created_at),
});

const KNOWN_ZONES = new Set<string>();
const MAX_KNOWN_ZONES = 2_000;

/** The ledger's institutions table, as the platform operator manages it. */
export class SqlInstitutionStore implements InstitutionStore {
  constructor(private readonly db: SqlDb) {}

  async insert(i: Institution, audit: AuditEntryInput[], accounts: Account[]): Promise<boolean> {
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO institutions (id, code, name, currency, timezone, language, limit_unit_minor, created_at)
           VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::bigint, $8::timestamptz)`,
          [i.id, i.code, i.name, i.currency, i.timezone, i.language, i.limitUnitMinor.toString(), iso(i.createdAt)],
        );
        if (accounts.length > 0) await insertAccounts(tx, accounts);
        await appendAuditEntries(tx, audit, i.createdAt);
      });
      return true;
    } catch (error) {
      if (uniqueViolation(error) !== null) return false;
      throw error;
    }
  }

  /**
   * As AT TIME ZONE reads names: without regard to case. A zone found is remembered (the database's
   * list only grows between releases), so each report asks the list once per zone and process.
   */
  async knowsTimeZone(timeZone: string): Promise<boolean> {
    if (KNOWN_ZONES.has(timeZone)) return true;
    const result = await this.db.query<{ known: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE lower(name) = lower($1)) AS known`, [timeZone]);
    const known = result.rows[0]?.known === true;
    if (known && KNOWN_ZONES.size < MAX_KNOWN_ZONES) KNOWN_ZONES.add(timeZone);
    return known;
  }

  async setLanguage(id: string, language: Language, audit: AuditEntryInput[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query(`UPDATE institutions SET language = $2 WHERE id = $1::uuid`, [id, language]);
      if (result.rowCount === 0) return false;
      await appendAuditEntries(tx, audit, new Date());
      return true;
    });
  }

  async setLimitUnit(id: string, limitUnitMinor: bigint, audit: AuditEntryInput[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query(`UPDATE institutions SET limit_unit_minor = $2::bigint WHERE id = $1::uuid`, [id, limitUnitMinor.toString()]);
      if (result.rowCount === 0) return false;
      await appendAuditEntries(tx, audit, new Date());
      return true;
    });
  }

  async get(id: string): Promise<Institution | null> {
    const result = await this.db.query<InstitutionRow>(`SELECT ${COLUMNS} FROM institutions WHERE id = $1::uuid`, [id]);
    return result.rows[0] ? toInstitution(result.rows[0]) : null;
  }

  async list(limit: number, after?: string): Promise<Institution[]> {
    const result = await this.db.query<InstitutionRow>(
      `SELECT ${COLUMNS} FROM institutions WHERE ($1::text IS NULL OR code > $1) ORDER BY code LIMIT $2`,
      [after ?? null, limit],
    );
    return result.rows.map(toInstitution);
  }
}
