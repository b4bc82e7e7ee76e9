import type { ActorType, AuditEntryInput } from "../audit/audit-entry.js";
import type { Notice } from "../notices/types.js";

/**
 * Port: a memory-hard PIN hash (Argon2id in src/infra). hash() salts each call; verify() reads the
 * parameters from the encoded hash, so hashes made under older parameters still verify.
 */
export interface PinHasher {
  hash(pin: string): Promise<string>;
  verify(encoded: string, pin: string): Promise<boolean>;
}

export interface PinCredential {
  subjectId: string;
  msisdn: string;
  pinHash: string;
  failedAttempts: number;
  /** Set when the PIN locked; cleared by a right PIN after an expired lock, a change, reset or unlock. */
  lockedAt: Date | null;
  /** When a timed lock ends; null with lockedAt set means until the bank unlocks. */
  lockedUntil: Date | null;
  pinSetAt: Date;
}

export interface LockRule {
  maxAttempts: number;
  lockMinutes: number;
}

/**
 * The outcome of counting an attempt before checking it. Counting first, atomically, is what keeps
 * concurrent guesses honest: ten parallel wrong PINs with maxAttempts 3 get three hash checks and
 * seven pin_locked, never ten checks.
 */
export type AttemptReservation =
  | { kind: "unknown" }
  | { kind: "locked"; lockedUntil: Date | null }
  | {
      kind: "counted";
      pinHash: string;
      msisdn: string;
      /** Including this attempt. */
      failedAttempts: number;
      lockedNow: boolean;
      lockedUntil: Date | null;
    };

/**
 * Persistence for PIN credentials. Each write takes the audit entries describing it and commits
 * them in the same transaction, so a change and its audit trail exist together or not at all.
 */
export interface PinStore {
  find(subjectId: string): Promise<PinCredential | null>;
  /** False when the subject already has a credential (nothing written). */
  insert(credential: PinCredential, now: Date, audit: AuditEntryInput[]): Promise<boolean>;
  /** Counts one attempt, locking when it reaches rule.maxAttempts; an expired lock starts afresh. */
  countAttempt(subjectId: string, now: Date, rule: LockRule): Promise<AttemptReservation>;
  /** A counted attempt was right: clear the counter and any lock, unless the hash changed since. */
  settleSuccess(subjectId: string, pinHash: string, now: Date, audit: AuditEntryInput[]): Promise<boolean>;
  /**
   * New hash, counter and lock cleared. expectedHash guards a change against a concurrent one
   * (null: replace whatever is there, for an admin reset). False when nothing matched. `notices`
   * (the subscriber's "your PIN was changed" SMS) go to the outbox in the same transaction.
   */
  replaceHash(subjectId: string, expectedHash: string | null, newHash: string, now: Date, audit: AuditEntryInput[], notices?: Notice[]): Promise<boolean>;
  /** Clears counter and lock. null when the subject has no credential. */
  unlock(subjectId: string, now: Date, audit: AuditEntryInput[]): Promise<{ wasLocked: boolean } | null>;
}

export type SimSwapKind = "sim_swap" | "number_recycled";

export interface SimSwapEvent {
  id: string;
  msisdn: string;
  kind: SimSwapKind;
  /** When the swap happened, as the reporter says; the cooling period runs from here. */
  occurredAt: Date;
  reportedAt: Date;
  reporterType: ActorType;
  reporterId: string;
}

export interface SimSwapStore {
  record(event: SimSwapEvent, audit: AuditEntryInput[]): Promise<void>;
  /** The event for msisdn with the latest occurredAt, or null. */
  latest(msisdn: string): Promise<SimSwapEvent | null>;
}
