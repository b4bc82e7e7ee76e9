import type { ActorType, AuditEntryInput } from "../audit/audit-entry.js";
import type { Notice } from "../notices/types.js";

/**
 * Port: one PIN verification scheme. `scheme` is stored with each credential, so that credentials
 * made under an older scheme still verify (and are re-keyed on their next success). hash() salts
 * each call and may bind the result to the subject (the keyed scheme does: a verifier copied to
 * another subject's row does not verify there); verify() reads its parameters from `encoded`.
 *
 * Implementations in src/infra/auth: HmacPinHasher (HMAC-SHA-256 under a key held outside the
 * database, the default) and Argon2PinHasher (memory-hard, FINGATE_PIN_SCHEME=argon2id).
 */
export interface PinHasher {
  readonly scheme: string;
  /**
   * A verify costs microseconds (the keyed scheme), so a PIN may be checked before its attempt is
   * counted (PinService's one-write verify): what counting first protects is a slow hash's CPU.
   */
  readonly fastVerify?: boolean;
  hash(pin: string, subjectId: string): Promise<string>;
  verify(encoded: string, pin: string, subjectId: string): Promise<boolean>;
}

/** What is stored for a PIN: the scheme that verifies it and its encoded verifier. */
export interface StoredPin {
  scheme: string;
  pinHash: string;
}

export interface PinCredential {
  subjectId: string;
  msisdn: string;
  pinHash: string;
  /** Which PinHasher verifies pinHash (PinHasher.scheme). */
  pinScheme: string;
  failedAttempts: number;
  /** Set when the PIN locked; cleared by a right PIN after an expired lock, a change, reset or unlock. */
  lockedAt: Date | null;
  /** When a timed lock ends; null with lockedAt set means until the bank unlocks. */
  lockedUntil: Date | null;
  /** Locks since the last right PIN (or change, reset, unlock). */
  lockCount: number;
  /**
   * Attempts ever counted, including the seen path's (never decreases): each counted
   * attempt carries its number, so that a right PIN forgives what was counted up to it and no more.
   */
  attemptSeq: number;
  pinSetAt: Date;
}

export interface LockRule {
  maxAttempts: number;
  lockMinutes: number;
  /** The lock that makes this many in a row lasts until the bank unlocks it. */
  maxTimedLocks: number;
}

/**
 * The outcome of counting an attempt before checking it. Counting first, atomically, is what keeps
 * concurrent guesses honest: ten parallel wrong PINs with maxAttempts 3 get three hash checks and
 * seven pin_locked, never ten checks. A fast hasher may check first instead (PinStore.settleSeen),
 * where a compare-and-set on the counter keeps the same count.
 */
export type AttemptReservation =
  | { kind: "unknown" }
  | {
      kind: "locked";
      lockedUntil: Date | null;
      /** When it locked (null: the lock was lifted between the count and the read). */
      lockedAt: Date | null;
      /** The counter that locked: its attempts are numbered attemptSeq - failedAttempts + 1 … attemptSeq. */
      failedAttempts: number;
      attemptSeq: number;
      /**
       * How many of those are known wrong (settleWrong, settleSeen), in any process: when all are,
       * no right PIN in flight can lift the lock. Absent: the store does not keep it.
       */
      wrongKnown?: number;
    }
  | {
      kind: "counted";
      pinHash: string;
      pinScheme: string;
      msisdn: string;
      /** Including this attempt. */
      failedAttempts: number;
      lockedNow: boolean;
      lockedUntil: Date | null;
      /** Locks since the last right PIN, including one this attempt set. */
      lockCount: number;
      /** This attempt's number (PinCredential.attemptSeq after it). */
      attemptSeq: number;
    };

/** A credential's counter as a process last wrote or read it, with the hash it counts for. */
export interface SeenCredential {
  pinHash: string;
  failedAttempts: number;
  lockCount: number;
  /** PinCredential.attemptSeq: a verify decided on this credential is attempt attemptSeq + 1. */
  attemptSeq: number;
}

/** What a verify decided on a SeenCredential writes: the counter and lock after it. */
export interface SeenOutcome {
  failedAttempts: number;
  lockedAt: Date | null;
  lockedUntil: Date | null;
  lockCount: number;
}

/**
 * Persistence for PIN credentials. Each write takes the audit entries describing it and commits
 * them in the same transaction, so a change and its audit trail exist together or not at all.
 */
export interface PinStore {
  find(subjectId: string): Promise<PinCredential | null>;
  /** False when the subject already has a credential (nothing written). */
  insert(credential: PinCredential, now: Date, audit: AuditEntryInput[], notices?: Notice[]): Promise<boolean>;
  /** Counts one attempt, locking when it reaches rule.maxAttempts; an expired lock starts afresh. */
  countAttempt(subjectId: string, now: Date, rule: LockRule): Promise<AttemptReservation>;
  /**
   * A counted attempt (number attemptSeq) was right, unless the hash changed since: the attempts
   * counted up to it are forgiven and a lock they made is lifted, but those counted after it stay
   * counted (settleRight in lockout.ts). rekeyed: the same PIN under the current scheme, stored in
   * the same write (pinSetAt unchanged).
   */
  settleSuccess(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[], rekeyed?: StoredPin): Promise<boolean>;
  /**
   * A verify decided without counting first, on the credential as `seen`: writes `outcome` (and
   * the audit entries) only if the stored row is still exactly that, unlocked. False, with nothing
   * written, when it has moved on (another attempt, a change, a lock).
   */
  settleSeen(subjectId: string, seen: SeenCredential, outcome: SeenOutcome, now: Date, audit: AuditEntryInput[]): Promise<boolean>;
  /**
   * A counted attempt (number attemptSeq) was wrong: writes its audit entries and notes it as known
   * wrong, if it is still in the counter, so that a lock it helped make is known final to every
   * process (AttemptReservation wrongKnown). False, with nothing written, when the hash changed since.
   */
  settleWrong(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[]): Promise<boolean>;
  /**
   * A counted attempt that could not be checked (its verifier is under a key or scheme this
   * process lacks) is taken back: one failure less, and the lock it set, if it set one, lifted.
   * Nothing happens when the hash changed since.
   */
  refundAttempt(subjectId: string, pinHash: string, lockedNow: boolean): Promise<void>;
  /**
   * New verifier, counter and lock cleared. expectedHash guards a change against a concurrent one
   * (null: replace whatever is there, for an admin reset). False when nothing matched. `notices`
   * (the subscriber's "your PIN was changed" SMS) go to the outbox in the same transaction.
   */
  replaceHash(subjectId: string, expectedHash: string | null, next: StoredPin, now: Date, audit: AuditEntryInput[], notices?: Notice[]): Promise<boolean>;
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
  /**
   * Adds amountMinor to what has left msisdn during its current cooling run, atomically, unless the
   * total would then exceed maxMinor: null, with nothing written. A cooling run is the number's
   * overlapping cooling periods (coolingMs from each report's occurredAt) taken together, so a
   * second report while the number cools, or a re-report of the same swap, shares the allowance;
   * a report after every earlier cooling ended starts a new run from zero (coolingRunStart). A late
   * report that joins runs into one makes what each of them spent count in the whole. Concurrent
   * calls for one number are decided one after the other. Answers the run's start, the token
   * giveBack needs.
   */
  spend(msisdn: string, amountMinor: bigint, maxMinor: bigint, coolingMs: number): Promise<Date | null>;
  /** Takes back a spend of the run starting at since whose money did not move (never below zero), from what that run spent. */
  giveBack(msisdn: string, since: Date, amountMinor: bigint): Promise<void>;
}
