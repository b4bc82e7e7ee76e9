/** Exponential backoff with jitter, bounded, for reconnects and throttled submits. */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Share of the delay that is randomised (0–1), so that many links do not retry in step. */
  jitterRatio: number;
}

/** The delay before retry number `attempt` (0-based): min(max, initial·2^attempt), minus jitter. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // Capping the exponent keeps 2^attempt finite however long a link stays down.
  const exponent = Math.min(Math.max(0, attempt), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const jitter = ceiling * policy.jitterRatio * random();
  return Math.max(0, Math.round(ceiling - jitter));
}

export function checkBackoffPolicy(name: string, policy: BackoffPolicy): void {
  const ok =
    Number.isFinite(policy.initialMs) &&
    policy.initialMs >= 1 &&
    Number.isFinite(policy.maxMs) &&
    policy.maxMs >= policy.initialMs &&
    policy.maxMs <= 600_000 &&
    policy.jitterRatio >= 0 &&
    policy.jitterRatio <= 1;
  if (!ok) throw new RangeError(`${name}: invalid backoff policy ${JSON.stringify(policy)}`);
}
