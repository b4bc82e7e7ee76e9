/**
 * Per-link throughput: a token bucket that enforces the telco's contracted rate (messages per
 * second, with one second of burst), and a sliding counter that reports the rate actually seen.
 */

export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly ratePerS: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(ratePerS) || ratePerS < 1) throw new RangeError(`throughput must be a positive integer, got ${ratePerS}`);
    this.tokens = ratePerS;
    this.updatedMs = now();
  }

  /** Takes one token if there is one; false means the caller is over its rate. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.ratePerS, this.tokens + ((now - this.updatedMs) * this.ratePerS) / 1000);
    this.updatedMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Events per second over the last `windowS` whole seconds, in one-second buckets. */
export class RateMeter {
  private readonly buckets: number[];
  private currentS: number;

  constructor(
    private readonly windowS = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array<number>(windowS).fill(0);
    this.currentS = Math.floor(now() / 1000);
  }

  add(count = 1): void {
    this.advance();
    this.buckets[this.currentS % this.windowS]! += count;
  }

  perSecond(): number {
    this.advance();
    return this.buckets.reduce((a, b) => a + b, 0) / this.windowS;
  }

  private advance(): void {
    const nowS = Math.floor(this.now() / 1000);
    for (let s = Math.max(this.currentS + 1, nowS - this.windowS + 1); s <= nowS; s++) this.buckets[s % this.windowS] = 0;
    this.currentS = Math.max(this.currentS, nowS);
  }
}
