import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { ApiKey } from "./types.js";

/** Persistence for API keys. Writes commit their audit entries in the same transaction. */
export interface ApiKeyStore {
  /** The key with this hash unless it was revoked. */
  findActiveByHash(hash: string): Promise<ApiKey | null>;
  /** Inserts the key unless its institution (null: the platform) already has maxActive unrevoked keys: false then. */
  insert(key: ApiKey, hash: string, audit: AuditEntryInput[], maxActive: number): Promise<boolean>;
  /** An institution's keys (null: the platform's), unrevoked ones first, each part newest first. */
  list(institutionId: string | null): Promise<ApiKey[]>;
  /**
   * Marks the key revoked if it belongs to institutionId (null: a platform key) and is not revoked
   * yet. Returns the key as it was, or null when there is no such key.
   */
  revoke(institutionId: string | null, keyId: string, now: Date, audit: (before: ApiKey) => AuditEntryInput[]): Promise<ApiKey | null>;
}
