/**
 * Per-number rate limit for MO commands: at most `max` messages per `windowSec` (fixed windows).
 * Beyond it messages are dropped without a reply, so that a flood cannot make us send a flood.
 * In Redis when several instances share the traffic, in memory otherwise. Redis guards against
 * floods only: when it is down or slow, each instance counts in its own memory instead of refusing
 * every command (the money path is PostgreSQL's; SMS banking goes on without Redis).
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
    // INCR then EXPIRE NX: the window starts with its first message and is not stretched by later ones.
    const result = await this.redis.multi().incr(k).expire(k, this.limit.windowSec, "NX").exec();
    const count = Number(result?.[0]?.[1] ?? 0);
    return count <= this.limit.max;
  }
}

export interface RateLimitLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** How long a shared count may take before this instance counts on its own. */
export const SHARED_COUNT_TIMEOUT_MS = 250;

/** The shared (Redis) count while it answers in time; this instance's own count while it does not. */
export class FallbackRateLimiter implements RateLimiter {
  private degraded = false;

  constructor(
    private readonly shared: RateLimiter,
    private readonly local: RateLimiter,
    private readonly logger: RateLimitLogger,
    private readonly timeoutMs = SHARED_COUNT_TIMEOUT_MS,
  ) {}

  async allow(key: string): Promise<boolean> {
    // This instance counts every message, not only those of an outage: a fallback that started
    // from zero let a number that was over the limit through the moment the shared count was slow.
    const locallyAllowed = await this.local.allow(key);
    try {
      const allowed = await withTimeout(this.shared.allow(key), this.timeoutMs);
      if (this.degraded) this.logger.info({}, "sms rate limit: the shared count answers again");
      this.degraded = false;
      return allowed;
    } catch (error) {
      // Once an outage, not once a message.
      if (!this.degraded) this.logger.warn({ err: error instanceof Error ? error.message.slice(0, 200) : "unknown" }, "sms rate limit: the shared count failed; counting per instance");
      this.degraded = true;
      return locallyAllowed;
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
