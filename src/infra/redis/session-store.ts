/**
 * The session store port on Redis, so that any gateway instance can serve a session's next hop.
 * Values expire with EX (idle TTL); locks are SET NX PX with a random token, released only by the
 * token that still holds them. A hop costs two round trips, lockAndGet and commit, and every hop's
 * lockAndGet and commit issued in one turn of the event loop travel together as one Lua script call.
 *
 * Keys under an indexed prefix (the store's `indexedPrefixes`: USSD over SMPP's `smpp-`) are also
 * kept in a sorted set per prefix, `<prefix>index:<indexed prefix>`, scored by the record's expiry
 * (epoch ms, Redis's clock), so that a scan for the records lapsing soon reads those only, not the
 * keyspace. Every write of such a key updates its entry in the same script: a set scores it at
 * the record's new expiry, a delete removes it. So a live record always has its entry;
 * an entry can outlive its record only when the record lapses (Redis drops it, not a write), and
 * the scan that meets such an entry removes it. The index key itself lapses with the last record
 * written to it (each write keeps its TTL at least as long as the record's).
 */
import { randomUUID } from "node:crypto";
import { Redis, type ChainableCommander } from "ioredis";
import type { LockedValue, SessionStore, SessionWrite, StoredValue } from "../../menus/engine/session-store.js";

const UNLOCK_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

// Keeps the indexes of a key just written, KEYS[k + 1 .. k + n] (KEYS[k] is the key), in step
// with that write, in the same script: ttl > 0 (seconds: the key was set with EX ttl) scores
// member at the record's expiry and keeps the index's TTL at least as long as the record's; 0 (the
// key was deleted) removes member. The expiry is read from Redis's clock, as the key's own is.
const INDEX = `
local function index(k, n, member, ttl)
  if n == 0 then return end
  local score
  if ttl > 0 then
    local now = redis.call("time")
    score = string.format("%.0f", tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl * 1000)
  end
  for j = 1, n do
    local idx = KEYS[k + j]
    if ttl > 0 then
      redis.call("zadd", idx, score, member)
      if redis.call("pttl", idx) < ttl * 1000 then redis.call("pexpire", idx, ttl * 1000) end
    else
      redis.call("zrem", idx, member)
    end
  end
end`;

// A set (ttl > 0) or delete (ttl 0) of a key under an indexed prefix, with its indexes.
// KEYS: the key, then its indexes. ARGV: ttl, value, index member.
const WRITE_INDEXED = `${INDEX}
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call("set", KEYS[1], ARGV[2], "EX", ttl) else redis.call("del", KEYS[1]) end
index(1, #KEYS - 1, ARGV[3], ttl)
return 1`;

// The members of an index (KEYS[1]) whose records lapse within ARGV[1] ms of now (Redis's clock),
// the soonest first, at most ARGV[2].
const INDEX_DUE = `
local now = redis.call("time")
local bound = ARGV[1] == "+inf" and "+inf" or "(" .. string.format("%.0f", tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1]))
return redis.call("zrangebyscore", KEYS[1], "-inf", bound, "LIMIT", 0, tonumber(ARGV[2]))`;

// The records of index entries: KEYS[1] the index, KEYS[2..] the records, ARGV the members (in the
// same order). Per record its PTTL and value ({-2, ""} when gone; -3 when it is not a string);
// the entry of a record that is gone is removed, in the same script, so a record written meanwhile
// (its entry re-added) keeps its entry.
const INDEX_READ = `
local out = {}
for i = 2, #KEYS do
  local ttl = redis.call("pttl", KEYS[i])
  local value = ""
  if ttl == -2 then
    redis.call("zrem", KEYS[1], ARGV[i - 1])
  else
    local got = redis.pcall("get", KEYS[i])
    if type(got) == "string" then value = got else ttl = -3 end
  end
  out[#out + 1] = ttl
  out[#out + 1] = value
end
return out`;

// The hops' operations of one turn, in the order they were issued (as a pipeline would run them).
// KEYS: every operation's keys, one operation after another. ARGV: per operation its kind, its
// number of keys and of arguments, then its arguments.
//   L (lockAndGet). Keys: lock, value[, take]. Args: token, lock ms. Answers 0 when the lock is
//     held by another, else {value, has value, taken, has taken}: a hop's lock and read (take is
//     read, not deleted: the hop's commit rewrites or deletes it).
//   C (commit). Keys: lock, value, then per written key the key and its indexes (none when its
//     prefix is not indexed). Args: token, proof, the value read, then per written key a TTL in
//     seconds (0: delete), its value, its number of indexes and, when it has any, its index
//     member. When the token holds the
//     lock: the writes, then the unlock; answers 1. When it does not (the lock lapsed): the writes
//     only if nobody holds the lock and the proof holds (proof "2": value equals the value read;
//     "0": no proof sent, never), answering 0; else nothing, answering -1.
// Each operation runs under pcall, so one that fails (a key of the wrong type) answers its own
// error and the others still run, as each script of a pipeline did. (Redis raises a call's error
// as a string in some versions and as an error table in others; both become that error reply.)
const HOPS = `${INDEX}
local function lock_and_get(k, a, nkeys)
  if not redis.call("set", KEYS[k], ARGV[a], "PX", ARGV[a + 1], "NX") then return 0 end
  local value = redis.call("get", KEYS[k + 1])
  local taken = false
  if not value and nkeys >= 3 then taken = redis.call("get", KEYS[k + 2]) end
  return {value or "", value and 1 or 0, taken or "", taken and 1 or 0}
end
local function unchanged(k, a)
  if redis.call("exists", KEYS[k]) == 1 then return false end
  return ARGV[a + 1] == "2" and redis.call("get", KEYS[k + 1]) == ARGV[a + 2]
end
local function commit(k, a, nkeys)
  local mine = redis.call("get", KEYS[k]) == ARGV[a]
  if not mine and not unchanged(k, a) then return -1 end
  local w, p = k + 2, a + 3
  while w < k + nkeys do
    local ttl, n = tonumber(ARGV[p]), tonumber(ARGV[p + 2])
    if ttl > 0 then redis.call("set", KEYS[w], ARGV[p + 1], "EX", ttl) else redis.call("del", KEYS[w]) end
    if n > 0 then
      index(w, n, ARGV[p + 3], ttl)
      p = p + 1
    end
    w = w + 1 + n
    p = p + 3
  end
  if mine then redis.call("del", KEYS[k]) return 1 end
  return 0
end
local results = {}
local k, a = 1, 1
while a <= #ARGV do
  local kind, nkeys, nargs = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ok, result = pcall(kind == "L" and lock_and_get or commit, k, a + 3, nkeys)
  if ok then results[#results + 1] = result
  elseif type(result) == "table" and result.err then results[#results + 1] = result
  else results[#results + 1] = redis.error_reply(tostring(result)) end
  k = k + nkeys
  a = a + 3 + nargs
end
return results`;

type HopsPipeline = { fgHops: (numKeys: number, ...args: (string | number)[]) => unknown } & ChainableCommander;
/** The store's other scripts, as defineCommand adds them to the client. */
type IndexCommands = {
  fgWriteIndexed: (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;
  fgIndexDue: (numKeys: number, ...args: (string | number)[]) => Promise<string[]>;
  fgIndexRead: (numKeys: number, ...args: (string | number)[]) => Promise<(string | number)[]>;
};
type Reply = (error: Error | null, value: unknown) => void;

/** Keys a SCAN step looks at (Redis's hint): the scan is for start-up, not for a hop's path. */
const SCAN_COUNT = 1_000;

/** A literal for a SCAN MATCH pattern: its glob characters escaped. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&");

/** Index entries read per fgIndexRead call at most (their records are its keys). */
const INDEX_READ_BATCH = 1_000;

/** Operations per fgHops call at most: its keys and arguments are spread into one call's arguments. */
const MAX_BATCH_OPERATIONS = 1_000;

/** The operations of one turn, sent as one fgHops call. */
interface HopsBatch {
  keys: string[];
  args: (string | number)[];
  replies: Reply[];
}

export interface RedisSessionStoreOptions {
  /** Prepended to every key, e.g. "fingate:ussd:". */
  prefix: string;
  /** Milliseconds a command may take before it fails (the aggregator's budget is ~10 s). */
  commandTimeoutMs?: number;
  /**
   * Key prefixes (within the store's) whose records are indexed by expiry, so that `scan` with
   * `expiringBeforeMs` on exactly one of them reads the index rather than walking the keyspace:
   * USSD over SMPP's `smpp-`, rescanned every 15 s. A constructor option, not a call a reader
   * makes: the index must be kept by every write of every instance from its first one (another
   * instance's rescan relies on it), whether or not that instance ever scans, so each instance
   * is built with the same list (src/ussd/gateway.ts). Other keys cost nothing more to write.
   */
  indexedPrefixes?: readonly string[];
}

export class RedisSessionStore implements SessionStore {
  private readonly prefix: string;
  /** The indexed prefixes (RedisSessionStoreOptions.indexedPrefixes), each with its index key. */
  private readonly indexes: { prefix: string; key: string }[];
  /** The hops' operations issued in this turn of the event loop, sent together at its end. */
  private batch: HopsBatch | null = null;

  constructor(
    private readonly redis: Redis,
    options: RedisSessionStoreOptions,
  ) {
    this.prefix = options.prefix;
    this.indexes = (options.indexedPrefixes ?? []).map((indexed) => {
      if (indexed === "") throw new Error("an indexed prefix must not be empty");
      return { prefix: indexed, key: `${this.prefix}index:${indexed}` };
    });
    // EVALSHA with a fallback to EVAL: the script travels once per connection.
    redis.defineCommand("fgHops", { lua: HOPS });
    redis.defineCommand("fgWriteIndexed", { lua: WRITE_INDEXED });
    redis.defineCommand("fgIndexDue", { lua: INDEX_DUE });
    redis.defineCommand("fgIndexRead", { lua: INDEX_READ });
  }

  /** The index keys of a key: those of the indexed prefixes it starts with (usually none). */
  private indexesOf(key: string): string[] {
    const found: string[] = [];
    for (const index of this.indexes) if (key.startsWith(index.prefix)) found.push(index.key);
    return found;
  }

  async lockAndGet(key: string, ttlMs: number, take?: string): Promise<LockedValue | null> {
    const token = randomUUID();
    const lockMs = Math.max(1, Math.ceil(ttlMs));
    // Redis starts the lock's TTL when the command arrives, after this: half of it is surely ours.
    const heldUntilMs = performance.now() + lockMs / 2;
    const keys = [`${this.prefix}lock:${key}`, this.prefix + key];
    const args: (string | number)[] = [token, lockMs];
    if (take !== undefined) keys.push(this.prefix + take);
    const got = (await this.operation("L", keys, args)) as [string, number, string, number] | 0;
    if (got === 0) return null;
    const [value, hasValue, taken, hasTaken] = got;
    return { token, value: hasValue === 1 ? value : null, taken: hasTaken === 1 ? taken : null, heldUntilMs };
  }

  async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    const keys = [`${this.prefix}lock:${key}`, this.prefix + key];
    const args: (string | number)[] = [lock.token, ...this.proof(lock)];
    for (const w of writes) {
      const ttl = w.value === null ? 0 : Math.ceil(w.ttlSec ?? 0);
      if (w.value !== null && !(ttl > 0)) throw new Error("session ttl must be positive");
      const indexes = this.indexesOf(w.key);
      keys.push(this.prefix + w.key, ...indexes);
      args.push(ttl, w.value ?? "", indexes.length);
      if (indexes.length > 0) args.push(w.key);
    }
    return (await this.operation("C", keys, args)) !== -1;
  }

  /**
   * What lets a commit whose lock lapsed still write: the value its lock read (unchanged means
   * nobody took the session over meanwhile). Sent only once the lock may have lapsed: before
   * then the token suffices, and a hop's commit carries no copy of the record it read. A read of
   * nothing proves nothing (the session may have been made and ended since), so it is not sent.
   */
  private proof(lock: LockedValue): [string, string] {
    if (lock.value === null || (lock.heldUntilMs !== undefined && performance.now() < lock.heldUntilMs)) return ["0", ""];
    return ["2", lock.value];
  }

  /**
   * Queues one operation for this turn's fgHops call. One script call for all of a turn's hops
   * rather than a pipeline of one script each: per hop, ioredis's command objects, promises and
   * encoding, and Redis's script invocations, were a tenth of the gateway's time under load.
   * Sent without waiting for the previous call's reply (ioredis's auto-pipelining would wait):
   * under load that wait made each round trip cost two turns of a busy loop.
   */
  private operation(kind: "L" | "C", keys: string[], args: (string | number)[]): Promise<unknown> {
    let batch = this.batch;
    // A full batch is left to its own send; the turn's further operations start another.
    if (batch === null || batch.replies.length >= MAX_BATCH_OPERATIONS) {
      batch = this.batch = { keys: [], args: [], replies: [] };
      const queued = batch;
      setImmediate(() => this.send(queued));
    }
    for (const key of keys) batch.keys.push(key);
    batch.args.push(kind, keys.length, args.length);
    for (const arg of args) batch.args.push(arg);
    const { replies } = batch;
    return new Promise((resolve, reject) => replies.push((error, value) => (error ? reject(error) : resolve(value))));
  }

  private send(batch: HopsBatch): void {
    if (this.batch === batch) this.batch = null;
    // Through a pipeline of one: a command on the client itself would join ioredis's auto-pipeline.
    const pipeline = this.redis.pipeline() as HopsPipeline;
    pipeline.fgHops(batch.keys.length, ...batch.keys, ...batch.args);
    pipeline.exec().then(
      (results) => {
        const [error, answers] = results?.[0] ?? [new Error("redis: no reply to the session batch"), null];
        if (error || !Array.isArray(answers)) {
          const failure = error ?? new Error("redis: malformed reply to the session batch");
          return batch.replies.forEach((reply) => reply(failure, null));
        }
        batch.replies.forEach((reply, i) => (answers[i] instanceof Error ? reply(answers[i] as Error, null) : reply(null, answers[i])));
      },
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
      // The hops' operations are batched by the store itself (operation()); this covers the rest.
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

  /**
   * With `expiringBeforeMs` on an indexed prefix, reads that prefix's index (indexedScan): the
   * work follows the records due, not the keyspace. Otherwise (a start-up's scan for everything
   * open, or a prefix not indexed) walks the keyspace with SCAN MATCH: every key of the Redis
   * (other institutions', BullMQ's) is looked at, about 1 ms per thousand keys.
   */
  async scan(prefix: string, max: number, expiringBeforeMs = Infinity): Promise<StoredValue[]> {
    if (expiringBeforeMs !== Infinity && this.indexes.some((index) => index.prefix === prefix)) {
      return this.indexedScan(`${this.prefix}index:${prefix}`, max, expiringBeforeMs);
    }
    const found: StoredValue[] = [];
    const pattern = `${escapeGlob(this.prefix + prefix)}*`;
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
      cursor = next;
      const values = keys.filter((k) => !k.startsWith(`${this.prefix}lock:`) && !k.startsWith(`${this.prefix}index:`));
      if (values.length > 0) found.push(...(await this.valuesWithTtl(values, expiringBeforeMs)));
    } while (cursor !== "0" && found.length < max);
    return found.slice(0, max);
  }

  /**
   * The records an index lists as lapsing before expiringBeforeMs: the members by score (one
   * call; Redis's clock, the bound sent as a span from now), then their TTLs and values, the
   * entries of records gone removed as they are met (one call per thousand). Each record's expiry
   * is checked again from its TTL: one written meanwhile may no longer be due.
   */
  private async indexedScan(indexKey: string, max: number, expiringBeforeMs: number): Promise<StoredValue[]> {
    if (!(max > 0)) return [];
    const redis = this.redis as unknown as IndexCommands;
    const span = Number.isFinite(expiringBeforeMs) ? Math.max(0, Math.ceil(expiringBeforeMs - Date.now())) : "+inf";
    const members = await redis.fgIndexDue(1, indexKey, span, Number.isFinite(max) ? Math.floor(max) : -1);
    const found: StoredValue[] = [];
    for (let i = 0; i < members.length; i += INDEX_READ_BATCH) {
      const batch = members.slice(i, i + INDEX_READ_BATCH);
      const replies = await redis.fgIndexRead(batch.length + 1, indexKey, ...batch.map((m) => this.prefix + m), ...batch);
      // Taken as the replies arrive, as valuesWithTtl does.
      const now = Date.now();
      batch.forEach((key, j) => {
        const ttl = Number(replies[2 * j]);
        if (ttl > 0 && now + ttl < expiringBeforeMs) found.push({ key, value: String(replies[2 * j + 1]), expiresAtMs: now + ttl });
      });
    }
    return found;
  }

  /**
   * The keys' values and expiries, those lapsing before expiringBeforeMs only: their TTLs in one
   * round trip, then the values of those kept in another (most keys of a rescan are not due, and
   * their values are never read). Keys gone meanwhile are left out.
   */
  private async valuesWithTtl(keys: string[], expiringBeforeMs: number): Promise<StoredValue[]> {
    const ttls = this.redis.pipeline();
    for (const key of keys) ttls.pttl(key);
    const ttlReplies = (await ttls.exec()) ?? [];
    // Taken as the replies arrive, not before the scan: a long scan does not make them lapse early.
    const now = Date.now();
    const due = keys.flatMap((key, i) => {
      const [error, ttl] = ttlReplies[i] ?? [null, null];
      return !error && typeof ttl === "number" && ttl > 0 && now + ttl < expiringBeforeMs ? [{ key, expiresAtMs: now + ttl }] : [];
    });
    if (due.length === 0) return [];
    const gets = this.redis.pipeline();
    for (const d of due) gets.get(d.key);
    const values = (await gets.exec()) ?? [];
    return due.flatMap((d, i) => {
      const [error, value] = values[i] ?? [null, null];
      return !error && typeof value === "string" ? [{ key: d.key.slice(this.prefix.length), value, expiresAtMs: d.expiresAtMs }] : [];
    });
  }

  async set(key: string, value: string, ttlSec: number): Promise<void> {
    if (!(ttlSec > 0)) throw new Error("session ttl must be positive");
    const indexes = this.indexesOf(key);
    if (indexes.length === 0) await this.redis.set(this.prefix + key, value, "EX", Math.ceil(ttlSec));
    else await (this.redis as unknown as IndexCommands).fgWriteIndexed(indexes.length + 1, this.prefix + key, ...indexes, Math.ceil(ttlSec), value, key);
  }

  async delete(key: string): Promise<void> {
    const indexes = this.indexesOf(key);
    if (indexes.length === 0) await this.redis.del(this.prefix + key);
    else await (this.redis as unknown as IndexCommands).fgWriteIndexed(indexes.length + 1, this.prefix + key, ...indexes, 0, "", key);
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
