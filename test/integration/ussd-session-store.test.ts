/**
 * One conformance suite for the session store port, run against the in-memory store and Redis.
 * Each run uses its own key prefix and deletes what it wrote.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySessionStore, type SessionStore } from "../../src/menus/engine/session-store.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Subject {
  store: SessionStore;
  cleanup(): Promise<void>;
  /** The members of the store's expiry index for an indexed prefix, sorted (a store with an index). */
  indexed?(prefix: string): Promise<string[]>;
}

/** The prefixes the Redis subject indexes: the commit test's keys ("c…") and the index tests'. */
const INDEXED = ["c", "sc:", "ix:", "ix2:"];

function conformance(name: string, open: () => Promise<Subject>) {
  describe(`SessionStore conformance: ${name}`, () => {
    let subject: Subject;
    let store: SessionStore;
    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject.cleanup();
    });

    it("reads what it wrote, replaces, deletes", async () => {
      expect(await store.get("a")).toBeNull();
      await store.set("a", "one", 60);
      expect(await store.get("a")).toBe("one");
      await store.set("a", "two ✓ हिन्दी", 60);
      expect(await store.get("a")).toBe("two ✓ हिन्दी");
      await store.delete("a");
      expect(await store.get("a")).toBeNull();
      await store.delete("never-there");
    });

    it("keys do not collide with each other or with locks", async () => {
      await store.set("k1", "v1", 60);
      await store.set("k2", "v2", 60);
      const token = await store.tryLock("k1", 5_000);
      expect(token).not.toBeNull();
      expect(await store.get("k1")).toBe("v1");
      expect(await store.get("k2")).toBe("v2");
      await store.unlock("k1", token!);
    });

    it("values lapse after their idle TTL, and a write renews it", async () => {
      await store.set("ttl", "x", 1);
      await store.set("renew", "x", 1);
      await sleep(600);
      await store.set("renew", "y", 2);
      await sleep(700);
      expect(await store.get("ttl")).toBeNull();
      expect(await store.get("renew")).toBe("y");
    });

    it("a lock is exclusive until released, and only its token releases it", async () => {
      const first = await store.tryLock("s", 5_000);
      expect(first).toEqual(expect.any(String));
      expect(await store.tryLock("s", 5_000)).toBeNull();
      expect(await store.unlock("s", "not-the-token")).toBe(false);
      expect(await store.tryLock("s", 5_000)).toBeNull();
      expect(await store.unlock("s", first!)).toBe(true);
      const second = await store.tryLock("s", 5_000);
      expect(second).not.toBeNull();
      expect(second).not.toBe(first);
      expect(await store.unlock("s", second!)).toBe(true);
    });

    it("a lock lapses after its TTL, and the lapsed holder cannot release the new one", async () => {
      const first = await store.tryLock("lapse", 150);
      await sleep(250);
      const second = await store.tryLock("lapse", 5_000);
      expect(second).not.toBeNull();
      expect(await store.unlock("lapse", first!)).toBe(false);
      expect(await store.tryLock("lapse", 5_000)).toBeNull();
      await store.unlock("lapse", second!);
    });

    it("of many concurrent lockers exactly one wins", async () => {
      const tokens = await Promise.all(Array.from({ length: 20 }, () => store.tryLock("race", 5_000)));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
      await store.unlock("race", tokens.find((t) => t !== null)!);
    });

    it("lockAndGet locks and reads in one step, and reads the other key (leaving it) only when the first holds nothing", async () => {
      await store.set("lg", "value", 60);
      await store.set("lg-resume", "resume", 60);
      const first = await store.lockAndGet("lg", 5_000, "lg-resume");
      expect(first).toMatchObject({ value: "value", taken: null });
      expect(await store.lockAndGet("lg", 5_000)).toBeNull(); // held
      expect(await store.get("lg-resume")).toBe("resume"); // not taken: the session existed
      expect(await store.commit("lg", first!, [])).toBe(true);
      const fresh = await store.lockAndGet("lg-new", 5_000, "lg-resume");
      expect(fresh).toMatchObject({ value: null, taken: "resume" });
      // Left in place: a commit refused or failed must not lose it; the commit's writes decide.
      expect(await store.get("lg-resume")).toBe("resume");
      expect(await store.commit("lg-new", fresh!, [{ key: "lg-resume", value: null }])).toBe(true);
      expect(await store.get("lg-resume")).toBeNull();
      expect(await store.lockAndGet("lg-none", 5_000, "lg-never")).toMatchObject({ value: null, taken: null });
    });

    it("commit writes, deletes and unlocks in one step; a lapsed lock writes only while nobody took the session over", async () => {
      await store.set("c-old", "x", 60);
      const lock = await store.lockAndGet("c", 5_000);
      expect(await store.commit("c", lock!, [
        { key: "c", value: "saved ✓", ttlSec: 60 },
        { key: "c-resume", value: "r", ttlSec: 60 },
        { key: "c-old", value: null },
      ])).toBe(true);
      expect([await store.get("c"), await store.get("c-resume"), await store.get("c-old")]).toEqual(["saved ✓", "r", null]);
      expect(await store.tryLock("c", 5_000)).not.toBeNull(); // released
      // Lapsed, and another hop holds the lock now: the late write would undo its work.
      await store.set("c2", "read", 60);
      const short = await store.lockAndGet("c2", 50);
      await sleep(120);
      const other = await store.lockAndGet("c2", 5_000);
      expect(other).not.toBeNull();
      expect(await store.commit("c2", short!, [{ key: "c2", value: "late", ttlSec: 60 }, { key: "c2-resume", value: "late", ttlSec: 60 }])).toBe(false);
      expect([await store.get("c2"), await store.get("c2-resume")]).toEqual(["read", null]);
      expect(await store.tryLock("c2", 5_000)).toBeNull(); // the other holder keeps its lock
      await expect(store.commit("c2", other!, [{ key: "c2", value: "v", ttlSec: 0 }])).rejects.toThrow(/ttl/);
      expect(await store.commit("c2", other!, [{ key: "c2", value: "moved on", ttlSec: 60 }])).toBe(true);
      // Lapsed, and another hop came and went, changing the session: refused too.
      const stale = await store.lockAndGet("c3", 50);
      await sleep(120);
      const quick = await store.lockAndGet("c3", 5_000);
      expect(await store.commit("c3", quick!, [{ key: "c3", value: "theirs", ttlSec: 60 }])).toBe(true);
      expect(await store.commit("c3", stale!, [{ key: "c3", value: "mine", ttlSec: 60 }])).toBe(false);
      expect(await store.get("c3")).toBe("theirs");
      // Lapsed, nobody came: the writes land (the hop's work is not lost), with nothing to unlock.
      const slow = await store.lockAndGet("c2", 50);
      await sleep(120);
      expect(await store.commit("c2", slow!, [{ key: "c2", value: "slow", ttlSec: 60 }])).toBe(true);
      expect(await store.get("c2")).toBe("slow");
      // A lapsed lock that read nothing proves nothing: the session may have been made and ended
      // meanwhile (absent again), and the late write would bring it back.
      const none = await store.lockAndGet("c4", 50);
      await sleep(120);
      const maker = await store.lockAndGet("c4", 5_000);
      await store.commit("c4", maker!, [{ key: "c4", value: "made", ttlSec: 60 }]);
      await store.delete("c4");
      expect(await store.commit("c4", none!, [{ key: "c4", value: "stale", ttlSec: 60 }, { key: "c4-resume", value: "stale", ttlSec: 60 }])).toBe(false);
      expect([await store.get("c4"), await store.get("c4-resume")]).toEqual([null, null]);
      // Where the keys are indexed, the index follows the writes that landed, never a refused one.
      if (subject.indexed) expect(await subject.indexed("c")).toEqual(["c", "c-resume", "c2", "c3"]);
      for (const k of ["c", "c-resume", "c2", "c2-resume", "c3", "c4"]) await store.delete(k);
      if (subject.indexed) expect(await subject.indexed("c")).toEqual([]);
    });

    it("scan finds the live values under a prefix with their remaining TTL, never locks, at most max", async () => {
      await store.set("sc:a", "1", 60);
      await store.set("sc:b", "2", 30);
      await store.set("sd:c", "3", 60);
      await store.set("sc*x", "glob", 60);
      const locked = await store.lockAndGet("sc:a", 5_000);
      const found = (await store.scan("sc:", 100)).sort((x, y) => x.key.localeCompare(y.key));
      const left = found.map((f) => f.expiresAtMs - Date.now());
      expect(found.map(({ key, value }) => ({ key, value }))).toEqual([{ key: "sc:a", value: "1" }, { key: "sc:b", value: "2" }]);
      expect(left[0]).toBeGreaterThan(58_000);
      expect(left[0]).toBeLessThanOrEqual(60_000);
      expect(left[1]).toBeGreaterThan(28_000);
      expect(left[1]).toBeLessThanOrEqual(30_000);
      // A prefix's glob characters are literal.
      expect((await store.scan("sc*", 100)).map((f) => f.key)).toEqual(["sc*x"]);
      expect(await store.scan("sc:", 1)).toHaveLength(1);
      // Only those lapsing before a moment: the one with 30 s left, not the one with 60.
      expect((await store.scan("sc:", 100, Date.now() + 45_000)).map((f) => f.key)).toEqual(["sc:b"]);
      expect(await store.scan("none:", 100)).toEqual([]);
      await store.commit("sc:a", locked!, []);
      for (const k of ["sc:a", "sc:b", "sd:c", "sc*x"]) await store.delete(k);
    });

    it("scan with a moment finds the sessions due as their last write left them: set, committed, extended, shortened, read then deleted", async () => {
      const lock = await store.lockAndGet("ix:a", 5_000);
      expect(await store.commit("ix:a", lock!, [{ key: "ix:a", value: "committed", ttlSec: 30 }])).toBe(true);
      await store.set("ix:b", "later", 60);
      await store.set("ix:c", "shortened", 60);
      const shorten = await store.lockAndGet("ix:c", 5_000);
      expect(await store.commit("ix:c", shorten!, [{ key: "ix:c", value: "shortened", ttlSec: 20 }])).toBe(true);
      await store.set("ix:d", "extended", 20);
      await store.set("ix:d", "extended", 60);
      await store.set("ix:t", "taken", 20);
      const taking = await store.lockAndGet("ix:new", 5_000, "ix:t");
      expect(taking?.taken).toBe("taken");
      expect(await store.commit("ix:new", taking!, [{ key: "ix:t", value: null }])).toBe(true);
      const locked = await store.lockAndGet("ix:b", 5_000); // a lock is never a session
      const due = (await store.scan("ix:", 100, Date.now() + 45_000)).sort((x, y) => x.key.localeCompare(y.key));
      expect(due.map(({ key, value }) => ({ key, value }))).toEqual([{ key: "ix:a", value: "committed" }, { key: "ix:c", value: "shortened" }]);
      expect(due[0]!.expiresAtMs - Date.now()).toBeGreaterThan(28_000);
      expect(due[0]!.expiresAtMs - Date.now()).toBeLessThanOrEqual(30_000);
      expect(await store.scan("ix:", 1, Date.now() + 45_000)).toHaveLength(1);
      expect(await store.scan("ix:", 100, Date.now() + 10_000)).toEqual([]);
      expect((await store.scan("ix:", 100, Date.now() + 120_000)).map((f) => f.key).sort()).toEqual(["ix:a", "ix:b", "ix:c", "ix:d"]);
      // A prefix not indexed is scanned all the same (the whole store walked).
      await store.set("iy:a", "unindexed", 20);
      expect((await store.scan("iy:", 100, Date.now() + 45_000)).map((f) => f.key)).toEqual(["iy:a"]);
      if (subject.indexed) expect(await subject.indexed("ix:")).toEqual(["ix:a", "ix:b", "ix:c", "ix:d"]);
      await store.commit("ix:b", locked!, []);
      for (const k of ["ix:a", "ix:b", "ix:c", "ix:d", "iy:a"]) await store.delete(k);
    });

    it("a session deleted or lapsed is not found, and a scan leaves nothing of it behind", async () => {
      await store.set("ix2:deleted", "x", 60);
      const lock = await store.lockAndGet("ix2:ended", 5_000);
      await store.commit("ix2:ended", lock!, [{ key: "ix2:ended", value: "open", ttlSec: 60 }]);
      await store.set("ix2:lapses", "x", 1);
      await store.set("ix2:stays", "x", 60);
      await store.delete("ix2:deleted");
      const end = await store.lockAndGet("ix2:ended", 5_000);
      expect(await store.commit("ix2:ended", end!, [{ key: "ix2:ended", value: null }])).toBe(true);
      if (subject.indexed) expect(await subject.indexed("ix2:")).toEqual(["ix2:lapses", "ix2:stays"]);
      await sleep(1_100);
      // The lapsed one's entry is still there (nothing wrote since): the scan that meets it drops it.
      if (subject.indexed) expect(await subject.indexed("ix2:")).toEqual(["ix2:lapses", "ix2:stays"]);
      expect(await store.scan("ix2:", 100, Date.now() + 30_000)).toEqual([]);
      if (subject.indexed) expect(await subject.indexed("ix2:")).toEqual(["ix2:stays"]);
      expect((await store.scan("ix2:", 100, Date.now() + 120_000)).map((f) => f.key)).toEqual(["ix2:stays"]);
      await store.delete("ix2:stays");
      expect(await store.scan("ix2:", 100, Date.now() + 120_000)).toEqual([]);
      if (subject.indexed) expect(await subject.indexed("ix2:")).toEqual([]);
    });

    it("refuses a non-positive TTL", async () => {
      await expect(store.set("bad", "x", 0)).rejects.toThrow();
    });

    it("hops locking and committing in the same turn each get their own answer", async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `many-${i}`);
      await Promise.all(keys.filter((_, i) => i % 2 === 0).map((key) => store.set(key, `old ${key}`, 60)));
      const locks = await Promise.all(keys.map((key) => store.lockAndGet(key, 5_000)));
      expect(locks.map((l) => l?.value)).toEqual(keys.map((key, i) => (i % 2 === 0 ? `old ${key}` : null)));
      expect(new Set(locks.map((l) => l?.token)).size).toBe(keys.length);
      const released = await Promise.all(keys.map((key, i) => store.commit(key, locks[i]!, [{ key, value: `new ${key}`, ttlSec: 60 }])));
      expect(released).toEqual(keys.map(() => true));
      expect(await Promise.all(keys.map((key) => store.get(key)))).toEqual(keys.map((key) => `new ${key}`));
      await Promise.all(keys.map((key) => store.delete(key)));
    });
  });
}

conformance("memory", async () => {
  const store = new MemorySessionStore();
  return { store, cleanup: () => store.close() };
});

conformance("redis", async () => {
  const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
  const store = await RedisSessionStore.connect(REDIS_URL, { prefix, indexedPrefixes: INDEXED });
  const reader = new Redis(REDIS_URL);
  return {
    store,
    indexed: async (indexedPrefix: string) => (await reader.zrange(`${prefix}index:${indexedPrefix}`, "0", "-1")).sort(),
    cleanup: async () => {
      await reader.quit();
      const admin = new Redis(REDIS_URL);
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
      await store.close();
    },
  };
});

describe("RedisSessionStore batches", () => {
  it("a batch that cannot be sent fails every hop in it, and the next batch goes through", async () => {
    const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
    const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on("error", () => {});
    await redis.connect();
    const store = new RedisSessionStore(redis, { prefix });
    redis.disconnect();
    const refused = await Promise.allSettled([store.lockAndGet("a", 5_000), store.lockAndGet("b", 5_000)]);
    expect(refused.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    if (redis.status !== "end") await new Promise((resolve) => redis.once("end", resolve));
    await redis.connect();
    const [a, b] = await Promise.all([store.lockAndGet("a", 5_000), store.lockAndGet("b", 5_000)]);
    expect(a?.value).toBeNull();
    expect(await store.commit("b", b!, [{ key: "b", value: "kept", ttlSec: 60 }])).toBe(true);
    expect(await store.commit("a", a!, [])).toBe(true);
    expect(await store.get("b")).toBe("kept");
    await redis.del(`${prefix}b`);
    await store.close();
  });

  it("an operation that fails in Redis fails only its own hop; the others of its turn are applied", async () => {
    const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
    const redis = new Redis(REDIS_URL);
    const store = new RedisSessionStore(redis, { prefix });
    // A key of the wrong type under the store's prefix: GET on it is an error.
    await redis.hset(`${prefix}odd`, "field", "x");
    await store.set("fine", "before", 60);
    const locked = await store.lockAndGet("fine", 5_000);
    // In one turn, so in one script call: a lock that fails between a lock and a commit that do not.
    const [other, odd, committed] = await Promise.allSettled([
      store.lockAndGet("other", 5_000),
      store.lockAndGet("odd", 5_000),
      store.commit("fine", locked!, [{ key: "fine", value: "after", ttlSec: 60 }]),
    ]);
    expect(odd.status).toBe("rejected");
    expect(String((odd as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(other).toMatchObject({ status: "fulfilled", value: { value: null } });
    expect(committed).toEqual({ status: "fulfilled", value: true });
    expect(await store.get("fine")).toBe("after");
    expect(await redis.exists(`${prefix}lock:fine`)).toBe(0);
    await redis.del(`${prefix}odd`, `${prefix}fine`, `${prefix}lock:odd`, `${prefix}lock:other`);
    await store.close();
  });

  it("more operations in one turn than one script call takes are split, each answered", async () => {
    const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
    const store = await RedisSessionStore.connect(REDIS_URL, { prefix });
    const keys = Array.from({ length: 2_500 }, (_, i) => `k${i}`);
    const locks = await Promise.all(keys.map((key) => store.lockAndGet(key, 5_000)));
    expect(locks.every((l) => l !== null && l.value === null)).toBe(true);
    const done = await Promise.all(keys.map((key, i) => store.commit(key, locks[i]!, [{ key, value: `v${i}`, ttlSec: 60 }])));
    expect(done.every((d) => d)).toBe(true);
    expect(await store.get("k2499")).toBe("v2499");
    const admin = new Redis(REDIS_URL);
    expect(await admin.exists(...keys.map((k) => `${prefix}lock:${k}`))).toBe(0);
    await admin.del(...keys.map((k) => prefix + k));
    await admin.quit();
    await store.close();
  });
});

/** Counts what a client sends: each command's name and the keys it names (a script's declared keys). */
function countCommands(redis: Redis) {
  const sent: { name: string; keys: number }[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
    const name = command.name.toLowerCase();
    const keys = name === "evalsha" || name === "eval" ? Number(command.args[1]) : name === "scan" ? 0 : 1;
    sent.push({ name, keys });
    return (original as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  return sent;
}

describe("RedisSessionStore expiry index", () => {
  it("a scan for the sessions due reads the index: 20,000 keys under another prefix are never looked at", async () => {
    const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
    const other = `fingate-test:${randomBytes(6).toString("hex")}-other:`;
    const admin = new Redis(REDIS_URL);
    for (let i = 0; i < 20_000; i += 1_000) {
      const fill = admin.pipeline();
      for (let j = i; j < i + 1_000; j++) fill.set(`${other}smpp-x:${j}`, "unrelated", "EX", 300);
      await fill.exec();
    }
    const redis = new Redis(REDIS_URL);
    const store = new RedisSessionStore(redis, { prefix, indexedPrefixes: ["smpp-"] });
    try {
      for (let i = 0; i < 5; i++) await store.set(`smpp-l1:+25470000000${i}:${i}`, `open ${i}`, i < 2 ? 20 : 120);
      await store.set("resume:x", "not indexed", 20);
      const sent = countCommands(redis);
      const due = await store.scan("smpp-", 100, Date.now() + 45_000);
      expect(due.map((d) => d.value).sort()).toEqual(["open 0", "open 1"]);
      // The index, then the two due records: no SCAN, and no key of the keyspace besides those.
      expect(sent.filter((c) => c.name === "scan" || c.name === "keys")).toEqual([]);
      expect(sent.reduce((n, c) => n + c.keys, 0)).toBeLessThanOrEqual(2 * (1 + 1 + 2)); // a NOSCRIPT retry sends a script twice
      // The same store walking the keyspace (start-up: everything open) is seen doing so.
      sent.length = 0;
      expect(await store.scan("smpp-", 100)).toHaveLength(5);
      expect(sent.filter((c) => c.name === "scan").length).toBeGreaterThanOrEqual(10);
      // The index lapses with the last record written to it, not before.
      const indexTtl = await admin.pttl(`${prefix}index:smpp-`);
      expect(indexTtl).toBeGreaterThan(110_000);
      expect(indexTtl).toBeLessThanOrEqual(120_000);
      for (let i = 0; i < 5; i++) await store.delete(`smpp-l1:+25470000000${i}:${i}`);
      expect(await admin.exists(`${prefix}index:smpp-`)).toBe(0); // the last entry removed, the index is gone
    } finally {
      for (let i = 0; i < 20_000; i += 1_000) await admin.del(...Array.from({ length: 1_000 }, (_, j) => `${other}smpp-x:${i + j}`));
      const mine = await admin.keys(`${prefix}*`);
      if (mine.length > 0) await admin.del(...mine);
      await admin.quit();
      await store.close();
    }
  });

  it("an index lapses with its records when nobody writes or scans", async () => {
    const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
    const store = await RedisSessionStore.connect(REDIS_URL, { prefix, indexedPrefixes: ["smpp-"] });
    const admin = new Redis(REDIS_URL);
    await store.set("smpp-l1:a", "x", 1);
    const lock = await store.lockAndGet("smpp-l1:b", 5_000);
    await store.commit("smpp-l1:b", lock!, [{ key: "smpp-l1:b", value: "y", ttlSec: 1 }]);
    expect(await admin.zcard(`${prefix}index:smpp-`)).toBe(2);
    await sleep(1_200);
    expect(await admin.exists(`${prefix}index:smpp-`, `${prefix}smpp-l1:a`, `${prefix}smpp-l1:b`)).toBe(0);
    await admin.quit();
    await store.close();
  });
});

describe("MemorySessionStore bounds", () => {
  it("drops the least recently written session past maxEntries", async () => {
    const store = new MemorySessionStore({ maxEntries: 2 });
    await store.set("a", "1", 60);
    await store.set("b", "2", 60);
    await store.set("a", "1'", 60);
    await store.set("c", "3", 60);
    expect(await store.get("b")).toBeNull();
    expect(await store.get("a")).toBe("1'");
    expect(await store.get("c")).toBe("3");
  });

  it("sessions that lapse unread are dropped as later writes come, not held until maxEntries", async () => {
    let now = 1_000_000;
    const store = new MemorySessionStore({ clock: () => now });
    for (let i = 0; i < 1_000; i++) {
      const lock = await store.lockAndGet(`abandoned-${i}`, 10_000);
      await store.commit(`abandoned-${i}`, lock!, [{ key: `abandoned-${i}`, value: "x".repeat(1_000), ttlSec: 180 }]);
    }
    now += 181_000;
    const lock = await store.lockAndGet("live", 10_000);
    await store.commit("live", lock!, [{ key: "live", value: "y", ttlSec: 180 }]);
    expect(store.size).toBe(1);
    expect(await store.get("live")).toBe("y");
  });

  it("a scan drops the lapsed values it meets", async () => {
    let now = 1_000_000;
    const store = new MemorySessionStore({ clock: () => now });
    await store.set("smpp-a", "1", 1);
    await store.set("smpp-b", "2", 60);
    await store.set("other", "3", 1);
    now += 2_000;
    expect(store.size).toBe(3);
    expect((await store.scan("smpp-", 100, now + 120_000)).map((f) => f.key)).toEqual(["smpp-b"]);
    expect(store.size).toBe(1);
  });
});
