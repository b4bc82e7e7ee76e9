import type { AgentDeviceKey, AgentDeviceKeyStore, KeyInsertOutcome } from "../../core/agents/device-keys.js";
import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { appendAuditEntries } from "./audit-store.js";
import { date, iso } from "./policy-rows.js";
import type { SqlDb } from "./sql.js";

interface KeyRow {
  id: string;
  agent_id: string;
  name: string;
  key_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = `id, agent_id, name, key_prefix, created_at, revoked_at`;

const toKey = (r: KeyRow): AgentDeviceKey => ({
  id: r.id,
  agentId: r.agent_id,
  name: r.name,
  prefix: r.key_prefix,
  createdAt: date(r.created_at),
  revokedAt: r.revoked_at === null ? null : date(r.revoked_at),
});

export class SqlAgentDeviceKeyStore implements AgentDeviceKeyStore {
  constructor(private readonly db: SqlDb) {}

  async insert(key: AgentDeviceKey, hash: string, audit: AuditEntryInput[], maxActive: number): Promise<KeyInsertOutcome> {
    return this.db.transaction(async (tx) => {
      // The agent's row, locked: issues for one agent take their turns, so each counts the one
      // before, and a close (which takes the same lock) is either seen here or sees this key.
      const agent = await tx.query<{ status: string }>(`SELECT status FROM agents WHERE id = $1::uuid FOR UPDATE`, [key.agentId]);
      if (agent.rows[0]?.status === "closed") return "closed";
      const active = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM agent_device_keys WHERE agent_id = $1::uuid AND revoked_at IS NULL`, [key.agentId]);
      if ((active.rows[0]?.n ?? 0) >= maxActive) return "too_many";
      await tx.query(
        `INSERT INTO agent_device_keys (id, agent_id, name, key_prefix, key_hash, created_at) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::timestamptz)`,
        [key.id, key.agentId, key.name, key.prefix, hash, iso(key.createdAt)],
      );
      await appendAuditEntries(tx, audit, key.createdAt);
      return "inserted";
    });
  }

  async findActiveByHash(hash: string): Promise<AgentDeviceKey | null> {
    const result = await this.db.query<KeyRow>(`SELECT ${COLUMNS} FROM agent_device_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hash]);
    return result.rows[0] ? toKey(result.rows[0]) : null;
  }

  async list(agentId: string): Promise<AgentDeviceKey[]> {
    const result = await this.db.query<KeyRow>(`SELECT ${COLUMNS} FROM agent_device_keys WHERE agent_id = $1::uuid ORDER BY revoked_at IS NULL DESC, created_at DESC, id DESC LIMIT 100`, [agentId]);
    return result.rows.map(toKey);
  }

  async revoke(agentId: string, keyId: string, now: Date, audit: AuditEntryInput[]): Promise<AgentDeviceKey | null> {
    return this.db.transaction(async (tx) => {
      const found = await tx.query<KeyRow>(`SELECT ${COLUMNS} FROM agent_device_keys WHERE id = $1::uuid AND agent_id = $2::uuid FOR UPDATE`, [keyId, agentId]);
      const row = found.rows[0];
      if (!row) return null;
      if (row.revoked_at === null) {
        await tx.query(`UPDATE agent_device_keys SET revoked_at = $2::timestamptz WHERE id = $1::uuid`, [keyId, iso(now)]);
        await appendAuditEntries(tx, audit, now);
      }
      return toKey(row);
    });
  }
}
