/**
 * Limits on binding before anyone is known: each bind attempt costs a password hash (~30 ms of
 * scrypt on the shared thread pool), so an address that keeps failing is refused without one for
 * a while, and only so many binds are checked at once. Per process, like the bound sessions.
 */
export interface BindGuardOptions {
  /** Failed binds one address may make within the window before it is refused outright. */
  maxFailures: number;
  windowMs: number;
  /** Binds whose password is being checked at once, across all addresses. */
  maxConcurrent: number;
  now: () => number;
}

export const DEFAULT_BIND_GUARD: BindGuardOptions = { maxFailures: 10, windowMs: 10 * 60_000, maxConcurrent: 8, now: Date.now };

/** Addresses remembered at most; the oldest window is dropped beyond it, so a flood cannot grow memory. */
const MAX_ADDRESSES = 10_000;

export class BindGuard {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private checking = 0;
  private readonly options: BindGuardOptions;

  constructor(options: Partial<BindGuardOptions> = {}) {
    this.options = { ...DEFAULT_BIND_GUARD, ...options };
  }

  /** Whether a bind from this address may be checked now; when true, end() must follow. */
  begin(address: string): boolean {
    if (this.blocked(address) || this.checking >= this.options.maxConcurrent) return false;
    this.checking++;
    return true;
  }

  /** The check is over: a failure counts against the address, a success clears it. */
  end(address: string, ok: boolean): void {
    this.checking--;
    if (ok) return void this.failures.delete(address);
    const now = this.options.now();
    const entry = this.failures.get(address);
    if (entry && now - entry.since < this.options.windowMs) entry.count++;
    else {
      this.failures.delete(address);
      this.failures.set(address, { count: 1, since: now });
      if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    }
  }

  private blocked(address: string): boolean {
    const entry = this.failures.get(address);
    if (!entry) return false;
    if (this.options.now() - entry.since >= this.options.windowMs) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= this.options.maxFailures;
  }
}
