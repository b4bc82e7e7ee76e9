import { hashApiKey, newApiKeySecret, plausibleApiKey } from "../access/api-keys.js";
import type { AuditEntryInput } from "../audit/audit-entry.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import type { AgentStore } from "./ports.js";
import type { Agent, AgentActor } from "./types.js";

/** A point-of-sale device's key, as listed: the secret itself is shown once, at issue. */
export interface AgentDeviceKey {
  id: string;
  agentId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Port: device keys by SHA-256 of the secret. Writes commit their audit entries with them. */
/**
 * "closed": the agent was closed by the time its row was locked (a close commits between the
 * issue's read of the agent and its insert): its keys were revoked by that close, and a key written
 * after it would come back to life if the agent were reopened.
 */
export type KeyInsertOutcome = "inserted" | "too_many" | "closed";

export interface AgentDeviceKeyStore {
  /**
   * Inserts the key unless the agent already has maxActive keys not revoked (false), counted under
   * a lock on the agent so that concurrent issues cannot both pass the count; nor when the agent,
   * read under that lock, is closed.
   */
  insert(key: AgentDeviceKey, hash: string, audit: AuditEntryInput[], maxActive: number): Promise<KeyInsertOutcome>;
  findActiveByHash(hash: string): Promise<AgentDeviceKey | null>;
  /** Every key not revoked, then the most recently revoked ones: 100 in all at most. */
  list(agentId: string): Promise<AgentDeviceKey[]>;
  /** Marks the agent's key revoked; the key as it was, or null when the agent has no such key. */
  revoke(agentId: string, keyId: string, now: Date, audit: AuditEntryInput[]): Promise<AgentDeviceKey | null>;
}

const MAX_NAME_CHARS = 64;
/** An agent runs a shop, not a fleet: a bound on keys keeps a leaked admin key from minting thousands. */
export const MAX_ACTIVE_KEYS_PER_AGENT = 10;

export type IssueKeyResult =
  | { ok: true; key: AgentDeviceKey; secret: string }
  | { ok: false; code: "agent_not_found" | "agent_unavailable" | "invalid_name" | "too_many_keys" };

/**
 * Keys that authenticate an agent's point-of-sale app on /agent/v1, issued and revoked by the
 * agent's bank. Same secret format and hashing as the admin API keys (256-bit secrets, SHA-256).
 */
export class AgentDeviceKeys {
  constructor(
    private readonly deps: { keys: AgentDeviceKeyStore; agents: Pick<AgentStore, "get">; now?: () => Date },
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async agentOf(agentId: string, institutionId: string): Promise<Agent | null> {
    const agent = isUuid(agentId) ? await this.deps.agents.get(agentId) : null;
    return agent && agent.institutionId === institutionId ? agent : null;
  }

  async issue(agentId: string, institutionId: string, name: unknown, actor: AgentActor): Promise<IssueKeyResult> {
    const agent = await this.agentOf(agentId, institutionId);
    if (!agent) return { ok: false, code: "agent_not_found" };
    if (agent.status === "closed") return { ok: false, code: "agent_unavailable" };
    const trimmed = typeof name === "string" ? name.trim() : "";
    if (trimmed.length === 0 || trimmed.length > MAX_NAME_CHARS) return { ok: false, code: "invalid_name" };
    const fresh = newApiKeySecret();
    const key: AgentDeviceKey = { id: uuidv7(), agentId: agent.id, name: trimmed, prefix: fresh.prefix, createdAt: this.now(), revokedAt: null };
    const inserted = await this.deps.keys.insert(key, fresh.hash, [entry(actor, "agents.device_key.issue", agent.id, key)], MAX_ACTIVE_KEYS_PER_AGENT);
    if (inserted === "closed") return { ok: false, code: "agent_unavailable" };
    return inserted === "inserted" ? { ok: true, key, secret: fresh.secret } : { ok: false, code: "too_many_keys" };
  }

  async list(agentId: string, institutionId: string): Promise<AgentDeviceKey[] | null> {
    const agent = await this.agentOf(agentId, institutionId);
    return agent ? this.deps.keys.list(agent.id) : null;
  }

  async revoke(agentId: string, institutionId: string, keyId: string, actor: AgentActor): Promise<AgentDeviceKey | null> {
    const agent = await this.agentOf(agentId, institutionId);
    if (!agent || !isUuid(keyId)) return null;
    const now = this.now();
    const revoked = await this.deps.keys.revoke(agent.id, keyId, now, [entry(actor, "agents.device_key.revoke", agent.id, { id: keyId })]);
    return revoked ? { ...revoked, revokedAt: revoked.revokedAt ?? now } : null;
  }

  /**
   * The agent behind a device key, active or suspended (the caller decides what a suspended agent
   * may do); null for a closed agent. Closing revokes the agent's keys (AgentStore.close), and a
   * key issued while the close ran, its issue having read the agent before it, is refused here:
   * a closed agent's device reads nothing (no float, no statement, no customer's state).
   */
  async authenticate(token: string): Promise<Agent | null> {
    if (!plausibleApiKey(token)) return null;
    const key = await this.deps.keys.findActiveByHash(hashApiKey(token));
    const agent = key ? await this.deps.agents.get(key.agentId) : null;
    return agent && agent.status !== "closed" ? agent : null;
  }
}

function entry(actor: AgentActor, action: string, agentId: string, key: Pick<AgentDeviceKey, "id"> & Partial<AgentDeviceKey>): AuditEntryInput {
  return { actorType: actor.type, actorId: actor.id, action, channel: "admin", outcome: "ok", subject: agentId, payload: { keyId: key.id, name: key.name, prefix: key.prefix } };
}
