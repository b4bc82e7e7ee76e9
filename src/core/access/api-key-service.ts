import type { AuditEntryInput } from "../audit/audit-entry.js";
import { isUuid, uuidv7 } from "../ledger/ids.js";
import { hashApiKey, MIN_CONFIGURED_KEY_CHARS, newApiKeySecret, plausibleApiKey, sameSecret } from "./api-keys.js";
import type { ApiKeyStore } from "./ports.js";
import { actorOf, INSTITUTION_ROLES, type ApiKey, type InstitutionRole, type Principal } from "./types.js";

export interface ApiKeyServiceDeps {
  store: ApiKeyStore;
  /** FINGATE_PLATFORM_API_KEY, if set: a platform key that lives only in the environment. */
  platformKey?: string;
  now?: () => Date;
  /** Unrevoked keys an institution (or the platform) may hold at once; DEFAULT_MAX_ACTIVE_KEYS. */
  maxActiveKeys?: number;
}

export type CreateKeyResult = { ok: true; key: ApiKey; secret: string } | { ok: false; code: "invalid_role" | "invalid_name" | "too_many_api_keys" };

const MAX_NAME_CHARS = 64;

/**
 * A bank needs a key per system or person, not thousands: unbounded, a leaked admin key could mint
 * keys faster than they are revoked, and the list (1,000 rows) would no longer show them all.
 */
export const DEFAULT_MAX_ACTIVE_KEYS = 100;

/** Issues, authenticates and revokes API keys. Secrets are returned once and never stored. */
export class ApiKeyService {
  private readonly store: ApiKeyStore;
  private readonly platformKey: string | undefined;
  private readonly now: () => Date;
  private readonly maxActiveKeys: number;

  constructor(deps: ApiKeyServiceDeps) {
    if (deps.platformKey !== undefined && deps.platformKey.length < MIN_CONFIGURED_KEY_CHARS) {
      throw new Error(`FINGATE_PLATFORM_API_KEY must be at least ${MIN_CONFIGURED_KEY_CHARS} characters`);
    }
    this.store = deps.store;
    this.platformKey = deps.platformKey;
    this.now = deps.now ?? (() => new Date());
    this.maxActiveKeys = deps.maxActiveKeys ?? DEFAULT_MAX_ACTIVE_KEYS;
  }

  /** The principal behind a bearer token, or null for an unknown or revoked key. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!plausibleApiKey(token)) return null;
    if (this.platformKey !== undefined && sameSecret(token, this.platformKey)) {
      return { keyId: "env", role: "platform", institutionId: null };
    }
    const key = await this.store.findActiveByHash(hashApiKey(token));
    return key ? { keyId: key.id, role: key.role, institutionId: key.institutionId } : null;
  }

  /** A bank's key (institutionId set, role admin/operator/auditor) or a platform key (null, "platform"). */
  async create(by: Principal | null, institutionId: string | null, role: string, name: string): Promise<CreateKeyResult> {
    const validRole = institutionId === null ? role === "platform" : (INSTITUTION_ROLES as readonly string[]).includes(role);
    if (!validRole) return { ok: false, code: "invalid_role" };
    const trimmed = typeof name === "string" ? name.trim() : "";
    if (trimmed.length === 0 || trimmed.length > MAX_NAME_CHARS) return { ok: false, code: "invalid_name" };
    const fresh = newApiKeySecret();
    const key: ApiKey = {
      id: uuidv7(),
      institutionId,
      role: role as InstitutionRole | "platform",
      name: trimmed,
      prefix: fresh.prefix,
      createdAt: this.now(),
      revokedAt: null,
    };
    const inserted = await this.store.insert(key, fresh.hash, [keyEntry(by, "admin.api_key.create", key, null, describe(key))], this.maxActiveKeys);
    return inserted ? { ok: true, key, secret: fresh.secret } : { ok: false, code: "too_many_api_keys" };
  }

  list(institutionId: string | null): Promise<ApiKey[]> {
    return this.store.list(institutionId);
  }

  /** Revoking takes effect on the next request: keys are looked up on every call, not cached. */
  async revoke(by: Principal, institutionId: string | null, keyId: string): Promise<ApiKey | null> {
    if (!isUuid(keyId)) return null;
    const now = this.now();
    const before = await this.store.revoke(institutionId, keyId, now, (b) => [
      keyEntry(by, "admin.api_key.revoke", b, describe(b), { ...describe(b), revokedAt: now }),
    ]);
    return before ? { ...before, revokedAt: before.revokedAt ?? now } : null;
  }
}

function describe(key: ApiKey): Record<string, unknown> {
  return { id: key.id, role: key.role, name: key.name, prefix: key.prefix, revokedAt: key.revokedAt };
}

function keyEntry(by: Principal | null, action: string, key: ApiKey, before: unknown, after: unknown): AuditEntryInput {
  const actor = by ? actorOf(by) : { actorType: "system" as const, actorId: "cli" };
  return {
    ...actor,
    action,
    channel: by ? "admin" : "system",
    outcome: "ok",
    subject: key.institutionId ?? "platform",
    payload: { keyId: key.id, before, after },
  };
}
