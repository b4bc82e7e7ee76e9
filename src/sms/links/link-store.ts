/**
 * SMPP link configuration in the database (table sms_links). Every change is audited in the same
 * transaction with before and after (secrets left out), like the rest of the platform configuration.
 */
import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { appendAuditEntries } from "../../infra/db/audit-store.js";
import { foreignKeyViolation, uniqueViolation } from "../../infra/db/policy-rows.js";
import type { SqlDb, SqlExecutor } from "../../infra/db/sql.js";
import { publicConfig, type LinkConfig, type LinkStoreResult, type StoredLink, type UssdOptions } from "./types.js";

interface LinkRow {
  id: string;
  mode: "client" | "server";
  institution_id: string;
  enabled: boolean;
  system_id: string;
  password_hash: string | null;
  password_sealed: string | null;
  system_type: string;
  host: string | null;
  port: number | null;
  max_binds: number;
  throughput_per_s: number | null;
  short_codes: string[];
  msisdn_prefixes: string[];
  ip_allow_list: string[];
  ussd: UssdOptions | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** A row as written: secrets already hashed or sealed by the caller. */
export type LinkRecord = Omit<StoredLink, "createdAt" | "updatedAt">;

/** Who changed the configuration, for the audit entry. */
export interface LinkActor {
  actorType: AuditEntryInput["actorType"];
  actorId: string;
}

const COLUMNS = `id, mode, institution_id, enabled, system_id, password_hash, password_sealed, system_type, host, port,
  max_binds, throughput_per_s, short_codes, msisdn_prefixes, ussd, ip_allow_list, created_at, updated_at`;

function toLink(r: LinkRow): StoredLink {
  return {
    id: r.id,
    mode: r.mode,
    institutionId: r.institution_id,
    enabled: r.enabled,
    systemId: r.system_id,
    passwordHash: r.password_hash,
    passwordSealed: r.password_sealed,
    systemType: r.system_type,
    host: r.host,
    port: r.port,
    maxBinds: r.max_binds,
    throughputPerS: r.throughput_per_s,
    shortCodes: r.short_codes,
    msisdnPrefixes: r.msisdn_prefixes,
    ipAllowList: r.ip_allow_list,
    ussd: typeof r.ussd === "string" ? (JSON.parse(r.ussd) as UssdOptions) : r.ussd,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function values(l: LinkRecord): unknown[] {
  return [
    l.id,
    l.mode,
    l.institutionId,
    l.enabled,
    l.systemId,
    l.passwordHash,
    l.passwordSealed,
    l.systemType,
    l.host,
    l.port,
    l.maxBinds,
    l.throughputPerS,
    l.shortCodes,
    l.msisdnPrefixes,
    l.ussd === null ? null : JSON.stringify(l.ussd),
    l.ipAllowList,
  ];
}

function refusal(error: unknown): LinkStoreResult | null {
  const unique = uniqueViolation(error);
  if (unique === "sms_links_pkey") return { ok: false, code: "sms_link_id_taken" };
  if (unique !== null && unique.includes("system_id")) return { ok: false, code: "sms_system_id_taken" };
  if (foreignKeyViolation(error)) return { ok: false, code: "institution_not_found" };
  return null;
}

function audit(by: LinkActor, action: string, subject: string, before: LinkConfig | null, after: LinkConfig | null): AuditEntryInput {
  return { ...by, action, channel: "admin", outcome: "ok", subject, payload: { before, after } };
}

export class SqlLinkStore {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(): Promise<StoredLink[]> {
    const { rows } = await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM sms_links ORDER BY id`);
    return rows.map(toLink);
  }

  async get(id: string): Promise<StoredLink | null> {
    return getLink(this.db, id);
  }

  /** The enabled server account a telco binds with, or null. */
  async findServerAccount(systemId: string): Promise<StoredLink | null> {
    const { rows } = await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM sms_links WHERE mode = 'server' AND system_id = $1`, [systemId]);
    return rows[0] ? toLink(rows[0]) : null;
  }

  async create(by: LinkActor, record: LinkRecord): Promise<LinkStoreResult> {
    try {
      return await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<LinkRow>(
          `INSERT INTO sms_links (id, mode, institution_id, enabled, system_id, password_hash, password_sealed, system_type, host, port,
             max_binds, throughput_per_s, short_codes, msisdn_prefixes, ussd, ip_allow_list)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16) RETURNING ${COLUMNS}`,
          values(record),
        );
        const link = publicConfig(toLink(rows[0]!));
        await appendAuditEntries(tx, [audit(by, "sms_link.create", link.id, null, link)], this.clock());
        return { ok: true, link };
      });
    } catch (error) {
      const refused = refusal(error);
      if (refused) return refused;
      throw error;
    }
  }

  async update(by: LinkActor, record: LinkRecord): Promise<LinkStoreResult> {
    try {
      return await this.db.transaction(async (tx) => {
        const before = await getLink(tx, record.id, true);
        if (!before) return { ok: false, code: "sms_link_not_found" };
        const { rows } = await tx.query<LinkRow>(
          `UPDATE sms_links SET mode = $2, institution_id = $3, enabled = $4, system_id = $5, password_hash = $6, password_sealed = $7,
             system_type = $8, host = $9, port = $10, max_binds = $11, throughput_per_s = $12, short_codes = $13, msisdn_prefixes = $14,
             ussd = $15::jsonb, ip_allow_list = $16, updated_at = CURRENT_TIMESTAMP
           WHERE id = $1 RETURNING ${COLUMNS}`,
          values(record),
        );
        const link = publicConfig(toLink(rows[0]!));
        await appendAuditEntries(tx, [audit(by, "sms_link.update", link.id, publicConfig(before), link)], this.clock());
        return { ok: true, link };
      });
    } catch (error) {
      const refused = refusal(error);
      if (refused) return refused;
      throw error;
    }
  }

  async delete(by: LinkActor, id: string): Promise<LinkStoreResult> {
    return this.db.transaction(async (tx) => {
      const before = await getLink(tx, id, true);
      if (!before) return { ok: false, code: "sms_link_not_found" };
      await tx.query("DELETE FROM sms_links WHERE id = $1", [id]);
      const link = publicConfig(before);
      await appendAuditEntries(tx, [audit(by, "sms_link.delete", id, link, null)], this.clock());
      return { ok: true, link };
    });
  }
}

async function getLink(db: SqlExecutor, id: string, forUpdate = false): Promise<StoredLink | null> {
  const { rows } = await db.query<LinkRow>(`SELECT ${COLUMNS} FROM sms_links WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`, [id]);
  return rows[0] ? toLink(rows[0]) : null;
}
