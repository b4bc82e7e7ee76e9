/**
 * What a bank configures about PINs. Values outside the allowed ranges are clamped rather than
 * refused: a typo in a bank's settings must not switch lockout off (maxAttempts is never above
 * 10, whatever the setting says).
 */
export interface PinPolicy {
  /** Digits in a new PIN, at least. */
  minLength: number;
  /** Digits in a new PIN, at most. */
  maxLength: number;
  /** Wrong attempts in a row that lock the PIN. */
  maxAttempts: number;
  /** How long a lock lasts; 0 means until the bank unlocks it. */
  lockMinutes: number;
  /**
   * Locks in a row (no right PIN between them) after which a lock lasts until the bank unlocks it:
   * with 3 tries and 30-minute locks, timed locks alone would leave 144 guesses a day for ever.
   */
  maxTimedLocks: number;
}

/** Any PIN ever accepted has 4 to 6 digits; verification accepts that range whatever the policy. */
export const PIN_MIN_DIGITS = 4;
export const PIN_MAX_DIGITS = 6;
export const MAX_ATTEMPTS_CEILING = 10;
/** A timed lock lasts 30 days at most; longer than that is what "until the bank unlocks" is for. */
export const MAX_LOCK_MINUTES = 30 * 24 * 60;

export const DEFAULT_PIN_POLICY: PinPolicy = {
  minLength: 4,
  maxLength: 4,
  maxAttempts: 3,
  lockMinutes: 30,
  maxTimedLocks: 3,
};
export const MAX_TIMED_LOCKS_CEILING = 10;

function clampInt(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(value)));
}

export function resolvePinPolicy(overrides: Partial<PinPolicy> = {}): PinPolicy {
  const d = DEFAULT_PIN_POLICY;
  const minLength = clampInt(overrides.minLength, PIN_MIN_DIGITS, PIN_MAX_DIGITS, d.minLength);
  // A maxLength below minLength is read as "exactly minLength" (a bank that set only the minimum).
  const maxLength = Math.max(minLength, clampInt(overrides.maxLength, PIN_MIN_DIGITS, PIN_MAX_DIGITS, minLength));
  return {
    minLength,
    maxLength,
    maxAttempts: clampInt(overrides.maxAttempts, 1, MAX_ATTEMPTS_CEILING, d.maxAttempts),
    lockMinutes: clampInt(overrides.lockMinutes, 0, MAX_LOCK_MINUTES, d.lockMinutes),
    maxTimedLocks: clampInt(overrides.maxTimedLocks, 1, MAX_TIMED_LOCKS_CEILING, d.maxTimedLocks),
  };
}
