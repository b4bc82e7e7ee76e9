import { ApiKeyService } from "../../core/access/api-key-service.js";
import type { ApiKeyStore } from "../../core/access/ports.js";
import type { ApiKey, Role } from "../../core/access/types.js";
import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { appendAuditEntries } from "./audit-store.js";
import { date, iso } from "./policy-rows.js";
import type { SqlDb } from "./sql.js";

interface KeyRow {
  id: string;
  institution_id: string | null;
  role: string;
  name: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = `id, institution_id, role, name, key_prefix, created_at, revoked_at`;

const toKey = (r: KeyRow): ApiKey => ({
  id: r.id,
  institutionId: r.institution_id,
  role: r.role as Role,
  name: r.name,
  prefix: r.key_prefix,
  createdAt: date(r.created_at),
  revokedAt: r.revoked_at === null ? null : date(r.revoked_at),
});

export class SqlApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: SqlDb) {}

  async findActiveByHash(hash: string): Promise<ApiKey | null> {
    const result = await this.db.query<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hash]);
    return result.rows[0] ? toKey(result.rows[0]) : null;
  }

  async insert(key: ApiKey, hash: string, audit: AuditEntryInput[], maxActive: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Counted in the insert itself: two creations at once may each see one below the cap, which
      // lets it be passed by a key or two, never by thousands.
      const inserted = await tx.query(
        `INSERT INTO api_keys (id, institution_id, role, name, key_prefix, key_hash, created_at)
         SELECT $1::uuid, $2::uuid, $3, $4, $5, $6, $7::timestamptz
         WHERE (SELECT count(*) FROM api_keys WHERE institution_id IS NOT DISTINCT FROM $2::uuid AND revoked_at IS NULL) < $8`,
        [key.id, key.institutionId, key.role, key.name, key.prefix, hash, iso(key.createdAt), maxActive],
      );
      if (inserted.rowCount === 0) return false;
      await appendAuditEntries(tx, audit, key.createdAt);
      return true;
    });
  }

  async list(institutionId: string | null): Promise<ApiKey[]> {
    const result = await this.db.query<KeyRow>(
      `SELECT ${COLUMNS} FROM api_keys WHERE institution_id IS NOT DISTINCT FROM $1::uuid
       ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC LIMIT 1000`,
      [institutionId],
    );
    return result.rows.map(toKey);
  }

  async revoke(institutionId: string | null, keyId: string, now: Date, audit: (before: ApiKey) => AuditEntryInput[]): Promise<ApiKey | null> {
    return this.db.transaction(async (tx) => {
      const found = await tx.query<KeyRow>(
        `SELECT ${COLUMNS} FROM api_keys WHERE id = $1::uuid AND institution_id IS NOT DISTINCT FROM $2::uuid FOR UPDATE`,
        [keyId, institutionId],
      );
      const before = found.rows[0] ? toKey(found.rows[0]) : null;
      // Revoking twice is harmless and leaves the first revocation's time and audit entry.
      if (!before || before.revokedAt !== null) return before;
      await tx.query(`UPDATE api_keys SET revoked_at = $2::timestamptz WHERE id = $1::uuid`, [keyId, iso(now)]);
      await appendAuditEntries(tx, audit(before), now);
      return before;
    });
  }
}

/**
 * Creates a platform operator key and returns its secret, for `fingate admin create-platform-key`:
 * the way to bootstrap the admin API without FINGATE_PLATFORM_API_KEY. Print the secret once.
 */
export async function createPlatformKey(db: SqlDb, name = "bootstrap"): Promise<{ id: string; secret: string }> {
  const result = await new ApiKeyService({ store: new SqlApiKeyStore(db) }).create(null, null, "platform", name);
  if (!result.ok) throw new Error(`platform key not created: ${result.code}`);
  return { id: result.key.id, secret: result.secret };
}
