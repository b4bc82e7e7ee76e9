/**
 * The session store port: where a channel keeps each session between hops. Values are opaque
 * strings (the channel serializes); every write carries an idle TTL. A lock per key lets gateway
 * instances that share the store serve one session's hops one at a time.
 *
 * Implementations: MemorySessionStore (embedded default, one process) and RedisSessionStore in
 * src/infra/redis. Both pass the one conformance suite (test/integration/ussd-session-store.test.ts).
 */
import { randomUUID } from "node:crypto";

/** One write of a commit: set with an idle TTL, or delete when value is null. */
export interface SessionWrite {
  key: string;
  value: string | null;
  ttlSec?: number;
}

/** A value as scan finds it. */
export interface StoredValue {
  key: string;
  value: string;
  /** When it lapses (epoch ms, as the store's clock reads it when the value was read). */
  expiresAtMs: number;
}

/** What lockAndGet answers when it took the lock. */
export interface LockedValue {
  token: string;
  value: string | null;
  /**
   * The `take` key's value, read because `key` held nothing (null otherwise). It is not deleted:
   * the hop's commit rewrites or deletes it, so a commit refused or failed leaves it as it was.
   */
  taken: string | null;
  /**
   * The store's own: until when (performance.now()) the lock is surely still held, so a commit
   * before then needs no proof that nobody took the session over.
   */
  heldUntilMs?: number;
}

export interface SessionStore {
  /**
   * A hop's first round trip: takes key's lock and reads key; when key holds nothing and `take`
   * is given, also reads that key (left in place: the commit's writes say what becomes of it).
   * null when someone else holds the lock.
   */
  lockAndGet(key: string, ttlMs: number, take?: string): Promise<LockedValue | null>;
  /**
   * A hop's last round trip: applies the writes and releases key's lock if the lock's token still
   * holds it. When the lock has lapsed (the hop outlived its TTL), the writes are applied only if
   * nobody holds the lock now and key still holds the (non-null) value the lock read: otherwise
   * another hop (maybe on another instance) may have taken the session over, and a late write
   * would undo its work. true when the writes were applied, false when they were refused.
   */
  commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean>;
  get(key: string): Promise<string | null>;
  /**
   * The values under keys that start with `prefix` (locks excluded), with when they lapse; with
   * `expiringBeforeMs`, only those that lapse before then (the others' values are not read); at
   * most `max`, in no particular order. For housekeeping, not for a hop's path. What it costs is
   * the store's: without `expiringBeforeMs` it may walk every key the store holds (Redis: its
   * whole keyspace); with it, on a prefix the store indexes (RedisSessionStore's
   * `indexedPrefixes`), only the records due are read, and the index entries of records gone
   * are dropped on the way.
   */
  scan(prefix: string, max: number, expiringBeforeMs?: number): Promise<StoredValue[]>;
  /** Creates or replaces the value; it lapses ttlSec after this write. */
  set(key: string, value: string, ttlSec: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Takes the key's lock for at most ttlMs; answers a token, or null when someone else holds it. */
  tryLock(key: string, ttlMs: number): Promise<string | null>;
  /** Releases the lock if token still holds it; false when it had lapsed or was taken over. */
  unlock(key: string, token: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface MemorySessionStoreOptions {
  /** Sessions held at most; past it the least recently written is dropped. */
  maxEntries?: number;
  clock?: () => number;
}

/**
 * Drops the entries at the head of a map kept in write order while they have lapsed. Values lapse
 * in about the order they were written (most carry the one idle TTL), so the sessions nobody reads
 * again (timed out, abandoned: lazy expiry never meets them) go as later writes come, at a cost of
 * one look per write, instead of staying until maxEntries pushes them out (up to 100,000 records
 * of up to 4 KiB held by a gateway whose live sessions are a few hundred).
 */
function dropLapsedOldest(map: Map<string, { value: string; expiresAtMs: number }>, now: number): void {
  for (const [key, entry] of map) {
    if (entry.expiresAtMs > now) return;
    map.delete(key); // deleting the entry under the cursor is safe in a Map's iteration
  }
}

/** Embedded default: a bounded map with lazy expiry, for a single gateway process. */
export class MemorySessionStore implements SessionStore {
  private readonly values = new Map<string, { value: string; expiresAtMs: number }>();
  private readonly locks = new Map<string, { token: string; expiresAtMs: number }>();
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.clock = options.clock ?? Date.now;
  }

  async lockAndGet(key: string, ttlMs: number, take?: string): Promise<LockedValue | null> {
    const token = await this.tryLock(key, ttlMs);
    if (token === null) return null;
    const value = await this.get(key);
    let taken: string | null = null;
    if (value === null && take !== undefined) taken = await this.get(take);
    return { token, value, taken };
  }

  async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    if (writes.some((w) => w.value !== null && !((w.ttlSec ?? 0) > 0))) throw new Error("session ttl must be positive");
    const held = this.liveLock(key);
    const mine = held?.token === lock.token;
    // A read of nothing proves nothing: the session may have been made and ended since.
    if (!mine && (lock.value === null || held !== undefined || (await this.get(key)) !== lock.value)) return false;
    for (const w of writes) {
      if (w.value === null) await this.delete(w.key);
      else await this.set(w.key, w.value, w.ttlSec ?? 0);
    }
    if (mine) this.locks.delete(key);
    return true;
  }

  /** The key's lock while it lasts. */
  private liveLock(key: string): { token: string; expiresAtMs: number } | undefined {
    const held = this.locks.get(key);
    return held !== undefined && held.expiresAtMs > this.clock() ? held : undefined;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.values.get(key);
    if (!entry) return null;
    if (entry.expiresAtMs <= this.clock()) {
      this.values.delete(key);
      return null;
    }
    return entry.value;
  }

  /**
   * Walks the map: what it holds is this process's sessions only (at most maxEntries, no other
   * keyspace, no round trip), so it needs no index. Lapsed values it meets are dropped, as a get
   * drops them, so a session that lapsed leaves nothing behind once a scan has passed.
   */
  async scan(prefix: string, max: number, expiringBeforeMs = Infinity): Promise<StoredValue[]> {
    const now = this.clock();
    const found: StoredValue[] = [];
    for (const [key, entry] of this.values) {
      if (found.length >= max) break;
      if (entry.expiresAtMs <= now) {
        this.values.delete(key); // deleting the entry under the cursor is safe in a Map's iteration
        continue;
      }
      if (entry.expiresAtMs < expiringBeforeMs && key.startsWith(prefix)) found.push({ key, value: entry.value, expiresAtMs: entry.expiresAtMs });
    }
    return found;
  }

  /** Values held, lapsed ones not yet dropped included (tests: what a scan leaves behind). */
  get size(): number {
    return this.values.size;
  }

  async set(key: string, value: string, ttlSec: number): Promise<void> {
    if (!(ttlSec > 0)) throw new Error("session ttl must be positive");
    this.values.delete(key); // re-inserting keeps the map in write order, oldest first
    this.values.set(key, { value, expiresAtMs: this.clock() + ttlSec * 1000 });
    dropLapsedOldest(this.values, this.clock());
    while (this.values.size > this.maxEntries) {
      const oldest = this.values.keys().next().value;
      if (oldest === undefined) break;
      this.values.delete(oldest);
    }
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  async tryLock(key: string, ttlMs: number): Promise<string | null> {
    const held = this.locks.get(key);
    if (held && held.expiresAtMs > this.clock()) return null;
    const token = randomUUID();
    this.locks.set(key, { token, expiresAtMs: this.clock() + ttlMs });
    if (this.locks.size > this.maxEntries) this.sweepLocks();
    return token;
  }

  async unlock(key: string, token: string): Promise<boolean> {
    const held = this.locks.get(key);
    if (!held || held.token !== token) return false;
    this.locks.delete(key);
    return held.expiresAtMs > this.clock();
  }

  async close(): Promise<void> {
    this.values.clear();
    this.locks.clear();
  }

  private sweepLocks(): void {
    const now = this.clock();
    for (const [key, lock] of this.locks) if (lock.expiresAtMs <= now) this.locks.delete(key);
  }
}
