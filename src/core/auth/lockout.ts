import type { AttemptReservation, LockRule, PinCredential, SeenCredential, SeenOutcome } from "./ports.js";

/**
 * Lockout arithmetic, pure. The SQL store does the same in one UPDATE (see pin-store.ts); the
 * in-memory store calls these functions. Keep the two in step.
 */

export function isLocked(c: Pick<PinCredential, "lockedAt" | "lockedUntil">, now: Date): boolean {
  if (c.lockedAt === null) return false;
  return c.lockedUntil === null || c.lockedUntil.getTime() > now.getTime();
}

/** When a lock starting now ends; null when the rule locks until the bank unlocks. */
export function lockEnd(rule: LockRule, now: Date): Date | null {
  return rule.lockMinutes === 0 ? null : new Date(now.getTime() + rule.lockMinutes * 60_000);
}

/** When the lockCount-th lock in a row, starting now, ends: null (the bank unlocks) from maxTimedLocks on. */
export function lockUntil(rule: LockRule, now: Date, lockCount: number): Date | null {
  return lockCount >= rule.maxTimedLocks ? null : lockEnd(rule, now);
}

/** Counts one attempt on c. Returns the credential to store (null: store nothing) and the outcome. */
export function countAttempt(
  c: PinCredential,
  now: Date,
  rule: LockRule,
): { next: PinCredential | null; reservation: AttemptReservation } {
  if (isLocked(c, now)) {
    return { next: null, reservation: { kind: "locked", lockedUntil: c.lockedUntil, lockedAt: c.lockedAt, failedAttempts: c.failedAttempts, attemptSeq: c.attemptSeq } };
  }
  // A lock that has run out leaves a fresh count, so one more wrong PIN does not lock again.
  const after = wrongAttempt({ failedAttempts: c.lockedAt === null ? c.failedAttempts : 0, lockCount: c.lockCount }, now, rule);
  const { failedAttempts, lockCount } = after;
  const lockedNow = after.lockedAt !== null;
  const next: PinCredential = { ...c, ...after, attemptSeq: c.attemptSeq + 1 };
  return {
    next,
    reservation: {
      kind: "counted",
      pinHash: c.pinHash,
      pinScheme: c.pinScheme,
      msisdn: c.msisdn,
      failedAttempts,
      lockedNow,
      lockedUntil: next.lockedUntil,
      lockCount,
      attemptSeq: next.attemptSeq,
    },
  };
}

/**
 * The counter after the right PIN of counted attempt number `attemptSeq`. The attempts counted
 * before it (settled wrong ones, or still in flight) are forgiven, as a right PIN clears the count;
 * those counted after it stay, whatever they turn out to be: a right PIN must not wipe the
 * reservations of guesses still in flight, or each success would let more than maxAttempts wrong
 * PINs be checked before the next lock. A lock that the forgiven attempts made is lifted; one made
 * entirely by later attempts (the counter did not shrink) stays, as does everything else then.
 * SETTLE_BATCH in src/infra/db/pin-store.ts does the same in SQL.
 */
export function settleRight(c: Pick<PinCredential, "failedAttempts" | "attemptSeq">, attemptSeq: number): SeenOutcome | null {
  const after = c.attemptSeq - attemptSeq;
  if (after >= c.failedAttempts) return null;
  return { ...CLEARED_COUNTER, failedAttempts: Math.max(after, 0) };
}

/** The counter and lock after a right PIN, a change, a reset or an unlock: all cleared. */
export const CLEARED_COUNTER: Readonly<SeenOutcome> = Object.freeze({ failedAttempts: 0, lockedAt: null, lockedUntil: null, lockCount: 0 });

/** One wrong attempt on an unlocked credential with this counter: the counter and lock after it. */
export function wrongAttempt(seen: Pick<SeenCredential, "failedAttempts" | "lockCount">, now: Date, rule: LockRule): SeenOutcome {
  const failedAttempts = seen.failedAttempts + 1;
  const lockedNow = failedAttempts >= rule.maxAttempts;
  const lockCount = lockedNow ? seen.lockCount + 1 : seen.lockCount;
  return { failedAttempts, lockedAt: lockedNow ? now : null, lockedUntil: lockedNow ? lockUntil(rule, now, lockCount) : null, lockCount };
}
