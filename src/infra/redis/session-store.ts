/**
 * The session store port on Redis, so that any gateway instance can serve a session's next hop.
 * Values expire with EX (idle TTL); locks are SET NX PX with a random token, released by a script
 * that deletes the lock only if the token still matches. A hop costs two round trips: lockAndGet
 * and commit are each one Lua script, batched with the other hops' scripts of the same turn.
 */
import { randomUUID } from "node:crypto";
import { Redis, type ChainableCommander } from "ioredis";
import type { LockedValue, SessionStore, SessionWrite } from "../../menus/engine/session-store.js";

const UNLOCK_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

// KEYS: lock, value[, take]. ARGV: token, lock ms. A hop's lock and read in one round trip.
const LOCK_AND_GET = `
if not redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then return false end
local value = redis.call("get", KEYS[2])
local taken = false
if not value and KEYS[3] then
  taken = redis.call("get", KEYS[3])
  if taken then redis.call("del", KEYS[3]) end
end
return {value or "", value and 1 or 0, taken or "", taken and 1 or 0}`;

// KEYS: lock, then the written keys. ARGV: token, then per written key a TTL in seconds (0: delete)
// and its value. The writes, then the compare-and-delete unlock, in one round trip.
const COMMIT = `
for i = 2, #KEYS do
  local ttl = tonumber(ARGV[2 * i - 2])
  if ttl > 0 then redis.call("set", KEYS[i], ARGV[2 * i - 1], "EX", ttl) else redis.call("del", KEYS[i]) end
end
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

type ScriptName = "fgLockAndGet" | "fgCommit";
type ScriptedPipeline = Record<ScriptName, (numKeys: number, ...args: (string | number)[]) => unknown> & ChainableCommander;
type Reply = (error: Error | null, value: unknown) => void;

export interface RedisSessionStoreOptions {
  /** Prepended to every key, e.g. "fingate:ussd:". */
  prefix: string;
  /** Milliseconds a command may take before it fails (the aggregator's budget is ~10 s). */
  commandTimeoutMs?: number;
}

export class RedisSessionStore implements SessionStore {
  private readonly prefix: string;
  /** The hops' scripts queued in this turn of the event loop, sent together at its end. */
  private batch: { pipeline: ScriptedPipeline; replies: Reply[] } | null = null;

  constructor(
    private readonly redis: Redis,
    options: RedisSessionStoreOptions,
  ) {
    this.prefix = options.prefix;
    // EVALSHA with a fallback to EVAL: the scripts travel once per connection.
    redis.defineCommand("fgLockAndGet", { lua: LOCK_AND_GET });
    redis.defineCommand("fgCommit", { lua: COMMIT });
  }

  async lockAndGet(key: string, ttlMs: number, take?: string): Promise<LockedValue | null> {
    const token = randomUUID();
    const keys = [`${this.prefix}lock:${key}`, this.prefix + key, ...(take === undefined ? [] : [this.prefix + take])];
    const got = (await this.script("fgLockAndGet", keys.length, ...keys, token, Math.max(1, Math.ceil(ttlMs)))) as [string, number, string, number] | null;
    if (!got) return null;
    const [value, hasValue, taken, hasTaken] = got;
    return { token, value: hasValue === 1 ? value : null, taken: hasTaken === 1 ? taken : null };
  }

  async commit(key: string, token: string, writes: SessionWrite[]): Promise<boolean> {
    const keys = [`${this.prefix}lock:${key}`];
    const args: (string | number)[] = [token];
    for (const w of writes) {
      const ttl = w.value === null ? 0 : Math.ceil(w.ttlSec ?? 0);
      if (w.value !== null && !(ttl > 0)) throw new Error("session ttl must be positive");
      keys.push(this.prefix + w.key);
      args.push(ttl, w.value ?? "");
    }
    return (await this.script("fgCommit", keys.length, ...keys, ...args)) === 1;
  }

  /**
   * Every hop's scripts issued in one turn of the event loop go out as one pipeline (one write),
   * as ioredis's auto-pipelining would send them, but without waiting for the previous pipeline's
   * replies first: under load that wait made each round trip cost two turns of a busy loop.
   */
  private script(name: ScriptName, numKeys: number, ...args: (string | number)[]): Promise<unknown> {
    if (this.batch === null) {
      const batch = { pipeline: this.redis.pipeline() as ScriptedPipeline, replies: [] as Reply[] };
      this.batch = batch;
      setImmediate(() => this.send(batch));
    }
    const { pipeline, replies } = this.batch;
    pipeline[name](numKeys, ...args);
    return new Promise((resolve, reject) => replies.push((error, value) => (error ? reject(error) : resolve(value))));
  }

  private send(batch: { pipeline: ScriptedPipeline; replies: Reply[] }): void {
    if (this.batch === batch) this.batch = null;
    batch.pipeline.exec().then(
      (results) => batch.replies.forEach((reply, i) => reply(results?.[i]?.[0] ?? null, results?.[i]?.[1])),
      (error: Error) => batch.replies.forEach((reply) => reply(error, null)),
    );
  }

  /** Connects and waits until Redis answers (or fails after connectTimeoutMs). */
  static async connect(url: string, options: RedisSessionStoreOptions & { connectTimeoutMs?: number }): Promise<RedisSessionStore> {
    const redis = new Redis(url, {
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      maxRetriesPerRequest: 1,
      // Fail fast while disconnected instead of queueing hops the aggregator has given up on.
      enableOfflineQueue: false,
      lazyConnect: false,
      // Hops in flight together share writes: commands issued in one turn of the event loop go out
      // as one pipeline (one write syscall, which dominated a hop's cost, instead of one each).
      // The hop scripts are batched by the store itself (script()); this covers the rest.
      enableAutoPipelining: true,
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
