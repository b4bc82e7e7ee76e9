/**
 * A small read-through cache with a time to live, for configuration a hop re-reads (institution,
 * fee schedule, limit policy): each hop used to query it again. Loads are shared while in flight
 * (200 concurrent hops for one institution make one query), failures are not kept, and a loaded
 * value is deep-frozen once, so that nobody can change what the next caller reads (a change throws,
 * these modules being strict). A copy per hit (structuredClone) had cost ~2% of a USSD hop's CPU.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAtMs: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (!(this.ttlMs > 0)) return load();
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAtMs > now) return hit.value;
    const value = load().then(deepFreeze);
    this.entries.set(key, { value, expiresAtMs: now + this.ttlMs });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > this.maxEntries) this.evict(now);
    return value;
  }

  /** Forgets keys starting with prefix (a write through this process). */
  invalidate(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private evict(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAtMs <= now) this.entries.delete(key);
    // Still too many: drop the oldest (the map keeps insertion order).
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

/**
 * Freezes plain objects and arrays all the way down. A Date stays mutable through its setters
 * (freezing does not reach its internal time): cached configuration never mutates its dates.
 */
function deepFreeze<V>(value: V): V {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
