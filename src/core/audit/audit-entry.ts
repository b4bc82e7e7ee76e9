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

/**
 * The log is two hash chains, each linear, each with gap-free seqs of its own: chain 2 holds the
 * attempts at a customer's PIN (`pin.verify`, the busiest entry after the ledger's, and
 * `pin.change`, which checks the old PIN), chain 1 everything else. An append to one never waits
 * for an append to the other; only time orders entries across chains.
 */
export const AUDIT_CHAINS = [1, 2] as const;
export type AuditChain = (typeof AUDIT_CHAINS)[number];

/** The chain an entry belongs to, by its action. */
export function chainOf(action: string): AuditChain {
  return action === "pin.verify" || action === "pin.change" ? 2 : 1;
}

/**
 * The prev_hash of a chain's first entry: chain 1's is GENESIS_HASH, chain 2's the SHA-256 of
 * "fingate audit chain 2" (in hex), so an entry moved from one chain to the other breaks a link.
 */
export function genesisHash(chain: AuditChain): string {
  return chain === 1 ? GENESIS_HASH : "2438ab87b6a311496e0a1fe85b57b8ec40d7af37902c7f4bb54ad9f9d64bf74e";
}

/** One stored link of the chain, as written and as read back for verification. */
export interface AuditRecord {
  /** The chain the entry is linked into (not part of its hash: the chain's genesis binds it). */
  chain?: AuditChain;
  /** 1, 2, 3 … with no gaps in its chain: assigned under the chain-head lock, so a missing number is a deleted row. */
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

/** The first link verification found broken, named by its chain and seq. */
export interface BrokenLink {
  chain?: AuditChain;
  seq: bigint;
  reason: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Entries whose hash and link were checked. */
  checked: number;
  firstBroken?: BrokenLink;
}
