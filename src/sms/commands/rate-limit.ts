/**
 * Per-number rate limit for MO commands: at most `max` messages per `windowSec` (fixed windows).
 * Beyond it messages are dropped without a reply, so that a flood cannot make us send a flood.
 * In Redis when several instances share the traffic, in memory otherwise.
 */
import type { Redis } from "ioredis";

export interface RateLimiter {
  allow(key: string): Promise<boolean>;
}

export interface RateLimit {
  max: number;
  windowSec: number;
}

export const DEFAULT_MO_RATE_LIMIT: RateLimit = { max: 10, windowSec: 60 };
/** Keys kept in memory at most; the oldest windows go first. */
const MAX_KEYS = 100_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  constructor(
    private readonly limit: RateLimit = DEFAULT_MO_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  async allow(key: string): Promise<boolean> {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.startMs >= this.limit.windowSec * 1000) {
      this.windows.delete(key);
      if (this.windows.size >= MAX_KEYS) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(key, (w = { startMs: now, count: 0 }));
    }
    w.count++;
    return w.count <= this.limit.max;
  }
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: RateLimit = DEFAULT_MO_RATE_LIMIT,
  ) {}

  async allow(key: string): Promise<boolean> {
    const k = `${this.prefix}${key}`;
    const result = await this.redis.multi().incr(k).expire(k, this.limit.windowSec, "NX").exec();
    const count = Number(result?.[0]?.[1] ?? 0);
    return count <= this.limit.max;
  }
}
