/** Who acted. "system" covers the gateway's own jobs (expiry sweeps, session metering). */
export const ACTOR_TYPES = ["customer", "agent", "bank_user", "operator", "telco", "system"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const CHANNELS = ["ussd", "sms", "ivr", "agent", "api", "admin", "system"] as const;
export type Channel = (typeof CHANNELS)[number];

export const AUDIT_OUTCOMES = ["ok", "refused", "error"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * One action for the tamper-evident audit log. The payload must already be redacted: no PIN,
 * no secret, no full card number. The log adds the time, sequence and hash chain.
 */
export interface AuditEntryInput {
  actorType: ActorType;
  actorId: string;
  action: string;
  channel: Channel;
  outcome: AuditOutcome;
  /** What the action was about, e.g. a customer id, an account id or an alias. */
  subject?: string;
  payload?: Record<string, unknown>;
}

/** Port: appends entries to the chain. Implementations must keep the chain linear under concurrency. */
export interface AuditLog {
  append(entries: AuditEntryInput[]): Promise<void>;
}

/** The prev_hash of the first entry: 64 zeros, i.e. "nothing came before". */
export const GENESIS_HASH = "0".repeat(64);

/** One stored link of the chain, as written and as read back for verification. */
export interface AuditRecord {
  /** 1, 2, 3 … with no gaps: assigned under the chain-head lock, so a missing number is a deleted row. */
  seq: bigint;
  occurredAt: Date;
  actorType: ActorType;
  actorId: string;
  action: string;
  channel: Channel;
  outcome: AuditOutcome;
  subject: string | null;
  /** Redacted and normalized to plain JSON values, exactly as stored (jsonb) and hashed. */
  payload: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The chain's head: the last entry's seq and hash (0 and GENESIS_HASH when empty). */
export interface AuditHead {
  lastSeq: bigint;
  lastHash: string;
}

/** The first link verification found broken, named by its seq. */
export interface BrokenLink {
  seq: bigint;
  reason: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Entries whose hash and link were checked. */
  checked: number;
  firstBroken?: BrokenLink;
}
