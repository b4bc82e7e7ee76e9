/**
 * The session store port on Redis, so that any gateway instance can serve a session's next hop.
 * Values expire with EX (idle TTL); locks are SET NX PX with a random token, released by a script
 * that deletes the lock only if the token still matches.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { SessionStore } from "../../menus/engine/session-store.js";

const UNLOCK_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface RedisSessionStoreOptions {
  /** Prepended to every key, e.g. "fingate:ussd:". */
  prefix: string;
  /** Milliseconds a command may take before it fails (the aggregator's budget is ~10 s). */
  commandTimeoutMs?: number;
}

export class RedisSessionStore implements SessionStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisSessionStoreOptions,
  ) {
    this.prefix = options.prefix;
  }

  /** Connects and waits until Redis answers (or fails after connectTimeoutMs). */
  static async connect(url: string, options: RedisSessionStoreOptions & { connectTimeoutMs?: number }): Promise<RedisSessionStore> {
    const redis = new Redis(url, {
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      maxRetriesPerRequest: 1,
      // Fail fast while disconnected instead of queueing hops the aggregator has given up on.
      enableOfflineQueue: false,
      lazyConnect: false,
    });
    // Errors surface on the commands that fail; without a listener ioredis would log them raw.
    redis.on("error", () => {});
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.disconnect();
        reject(new Error(`redis did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new RedisSessionStore(redis, options);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlSec: number): Promise<void> {
    if (!(ttlSec > 0)) throw new Error("session ttl must be positive");
    await this.redis.set(this.prefix + key, value, "EX", Math.ceil(ttlSec));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async tryLock(key: string, ttlMs: number): Promise<string | null> {
    const token = randomUUID();
    const taken = await this.redis.set(`${this.prefix}lock:${key}`, token, "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
    return taken === "OK" ? token : null;
  }

  async unlock(key: string, token: string): Promise<boolean> {
    const deleted = await this.redis.eval(UNLOCK_SCRIPT, 1, `${this.prefix}lock:${key}`, token);
    return deleted === 1;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
