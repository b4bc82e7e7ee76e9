import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { ApiKey } from "./types.js";

/** Persistence for API keys. Writes commit their audit entries in the same transaction. */
export interface ApiKeyStore {
  /** The key with this hash unless it was revoked. */
  findActiveByHash(hash: string): Promise<ApiKey | null>;
  insert(key: ApiKey, hash: string, audit: AuditEntryInput[]): Promise<void>;
  /** An institution's keys (null: the platform's), newest first, revoked ones included. */
  list(institutionId: string | null): Promise<ApiKey[]>;
  /**
   * Marks the key revoked if it belongs to institutionId (null: a platform key) and is not revoked
   * yet. Returns the key as it was, or null when there is no such key.
   */
  revoke(institutionId: string | null, keyId: string, now: Date, audit: (before: ApiKey) => AuditEntryInput[]): Promise<ApiKey | null>;
}
