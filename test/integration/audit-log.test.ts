import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import { chainEntries, prepareEntry } from "../../src/core/audit/chain.js";
import { appendAuditEntries, readHead, SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import type { SqlDb, SqlExecutor } from "../../src/infra/db/sql.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const T0 = new Date("2026-11-25T09:00:00.000Z");

function entry(i: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return {
    actorType: "customer",
    actorId: `c-${i % 7}`,
    action: "transfer.submit",
    channel: "ussd",
    outcome: i % 5 === 0 ? "refused" : "ok",
    subject: `acct-${i}`,
    payload: { i, amountMinor: BigInt(i) * 100n, note: `entry ${i}` },
    ...extra,
  };
}

/** Values whose JSON text jsonb rewrites (numbers, key order) or cannot store (NUL, lone surrogates). */
const tricky = {
  floats: [0.1, 1e21, 5e-324, -0, 1.5e-7, 2 ** 53 + 2, Number.MAX_VALUE],
  text: "quote\" backslash\\ tab\t nl\n é 😀 \u2028 \u0000 lone\uD800 <>&'",
  keys: JSON.parse('{"__proto__": 1, "": 2, "é": 3, "Z": 4, "a b": 5}') as unknown,
  nested: [[[]], {}, [null, true, false]],
  big: 2n ** 70n,
};

const entries = (from: number, n: number) => Array.from({ length: n }, (_, k) => entry(from + k));

/** What a superuser can do: switch triggers off for the session and rewrite history. */
async function asSuperuser(db: SqlDb, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica");
    await tx.query(sql, params);
  });
}

/** Runs a test on a database of its own (a chain to tamper with), dropped afterwards. */
async function onOwnDb(run: (own: TestDb) => Promise<void>, maxConnections = 2): Promise<void> {
  const own = await openTestDb("postgres", { maxConnections });
  try {
    await run(own);
  } finally {
    await own.cleanup();
  }
}

async function count(db: SqlDb): Promise<number> {
  const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
  return r.rows[0]!.n;
}

describe("audit log on PostgreSQL", () => {
  let t: TestDb;
  let log: SqlAuditLog;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 24 });
    log = new SqlAuditLog(t.db, () => T0);
  });
  afterAll(() => t.cleanup());

  it("starts from the genesis head and verifies empty", async () => {
    expect(await readHead(t.db)).toEqual({ lastSeq: 0n, lastHash: "0".repeat(64) });
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: 0 });
  });

  it("appends many entries per call, stores them redacted and normalized", async () => {
    await log.append(entries(1, 5));
    await log.append([entry(6, { payload: { pin: "4827", nested: { otp: "123456", keep: 1n }, at: T0 } })]);
    const rows = await t.db.query<{ seq: string; payload: unknown; prev_hash: string; hash: string }>(
      "SELECT seq::text AS seq, payload, prev_hash, hash FROM audit_log ORDER BY seq",
    );
    expect(rows.rows.map((r) => r.seq)).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(rows.rows[0]!.prev_hash).toBe("0".repeat(64));
    expect(rows.rows[1]!.prev_hash).toBe(rows.rows[0]!.hash);
    expect(rows.rows[5]!.payload).toEqual({ nested: { keep: "1" }, at: "2026-11-25T09:00:00.000Z" });
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: 6 });
  });

  it("hashes tricky values the same after their round trip through jsonb", async () => {
    await log.append([entry(7, { payload: tricky, subject: "sub\u0000ject", actorId: "actor\uDC00" })]);
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: 7 });
  });

  it("refuses UPDATE, DELETE and TRUNCATE, and a head that moves back", async () => {
    await expect(t.db.query("UPDATE audit_log SET outcome = 'ok' WHERE seq = 1")).rejects.toThrow(/append-only/);
    await expect(t.db.query("DELETE FROM audit_log WHERE seq = 1")).rejects.toThrow(/append-only/);
    await expect(t.db.query("TRUNCATE audit_log")).rejects.toThrow(/append-only/);
    await expect(t.db.query("DELETE FROM audit_head")).rejects.toThrow(/append-only/);
    await expect(t.db.query("UPDATE audit_head SET last_seq = 0")).rejects.toThrow(/forward/);
    await expect(t.db.query("INSERT INTO audit_head VALUES (2, 0, repeat('0', 64))")).rejects.toThrow();
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("appends inside the caller's transaction: a rollback leaves no entry and no gap", async () => {
    const head = await readHead(t.db);
    await expect(
      t.db.transaction(async (tx) => {
        await appendAuditEntries(tx, entries(100, 3), T0);
        throw new Error("the business change failed");
      }),
    ).rejects.toThrow("the business change failed");
    expect(await readHead(t.db)).toEqual(head);
    await t.db.transaction((tx) => appendAuditEntries(tx, entries(100, 3), T0));
    expect((await readHead(t.db)).lastSeq).toBe(head.lastSeq + 3n);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  // Appends inside a transaction once hashed in Node (chainEntries); now the database hashes every
  // append. Both must give the same bytes, so that chains holding both kinds keep verifying.
  it("hashes in the database exactly as chainEntries does in Node, and verifies a chain of both", async () => {
    const head = await readHead(t.db);
    const old = chainEntries(head, entries(200, 3).map(prepareEntry), T0);
    await t.db.transaction(async (tx) => {
      await tx.query("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE");
      for (const r of old.records) {
        await tx.query(
          `INSERT INTO audit_log (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`,
          [r.seq.toString(), T0.toISOString(), r.actorType, r.actorId, r.action, r.channel, r.outcome, r.subject, r.payloadJson, r.prevHash, r.hash],
        );
      }
      await tx.query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1", [old.head.lastSeq.toString(), old.head.lastHash]);
    });
    const inNode = chainEntries(old.head, entries(203, 3).map(prepareEntry), T0);
    await t.db.transaction((tx) => appendAuditEntries(tx, entries(203, 3), T0));
    const written = await t.db.query<{ hash: string }>("SELECT hash FROM audit_log WHERE seq > $1 ORDER BY seq", [old.head.lastSeq.toString()]);
    expect(written.rows.map((r) => r.hash)).toEqual(inNode.records.map((r) => r.hash));
    expect(await readHead(t.db)).toEqual(inNode.head);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("keeps one line when 20 processes append at once", async () => {
    const before = await count(t.db);
    const appender = async (a: number) => {
      for (let k = 0; k < 10; k++) await log.append(entries(a * 1_000 + k * 10, 1 + ((a + k) % 5)));
    };
    await Promise.all(Array.from({ length: 20 }, (_, a) => appender(a)));
    let expected = 0;
    for (let a = 0; a < 20; a++) for (let k = 0; k < 10; k++) expected += 1 + ((a + k) % 5);
    expect(await count(t.db)).toBe(before + expected);
    const seqs = await t.db.query<{ gaps: number; max: string }>(
      "SELECT (max(seq) - count(*))::int AS gaps, max(seq)::text AS max FROM audit_log",
    );
    expect(seqs.rows[0]!.gaps).toBe(0);
    const result = await verifyAuditChain(t.db, { pageSize: 97 });
    expect(result).toEqual({ ok: true, checked: before + expected });
  });

  it("verifies while others append", async () => {
    const appending = Promise.all(Array.from({ length: 5 }, (_, a) => log.append(entries(50_000 + a * 10, 10))));
    const result = await verifyAuditChain(t.db, { pageSize: 50 });
    await appending;
    expect(result.ok).toBe(true);
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: await count(t.db) });
  });

  it("streams in pages", async () => {
    const progress: number[] = [];
    const result = await verifyAuditChain(t.db, { pageSize: 100, onProgress: (n) => progress.push(n) });
    expect(result.ok).toBe(true);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)).toBe(result.checked);
  });

  // Its speed is measured by `npm run bench:audit`, not here.
  it("chains batches of 1,000, each in one transaction, into one chain that verifies", async () => {
    const before = await readHead(t.db);
    const batch = entries(0, 1_000).map((e, i) => ({ ...e, payload: { transferId: `0193a5b0-0000-7000-8000-${String(i).padStart(12, "0")}`, amountMinor: 1_250n, code: "p2p" } }));
    for (let b = 0; b < 3; b++) await log.append(batch);
    expect((await readHead(t.db)).lastSeq).toBe(before.lastSeq + 3_000n);
    const verified = await verifyAuditChain(t.db);
    expect(verified).toMatchObject({ ok: true, checked: Number(before.lastSeq) + 3_000 });
  }, 60_000);
});

describe("audit verify catches tampering", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres");
  });
  afterAll(() => t.cleanup());

  // Each case starts from a fresh intact chain of 10 in a schema of its own.
  async function freshChain(): Promise<{ db: SqlDb; done: () => Promise<void> }> {
    const own = await openTestDb("postgres", { maxConnections: 2 });
    await new SqlAuditLog(own.db, () => T0).append(entries(1, 10));
    expect(await verifyAuditChain(own.db)).toEqual({ ok: true, checked: 10 });
    return { db: own.db, done: own.cleanup };
  }

  it("names an entry a superuser altered behind the trigger's back", async () => {
    const { db, done } = await freshChain();
    await asSuperuser(db, `UPDATE audit_log SET payload = '{"i": 4, "amountMinor": "1", "note": "entry 4"}' WHERE seq = 4`);
    expect(await verifyAuditChain(db)).toEqual({
      ok: false,
      checked: 3,
      firstBroken: { chain: 1, seq: 4n, reason: "content does not match its hash (altered)" },
    });
    await done();
  });

  it("names an altered timestamp or actor too", async () => {
    const { db, done } = await freshChain();
    await asSuperuser(db, `UPDATE audit_log SET occurred_at = occurred_at + interval '1 second' WHERE seq = 7`);
    expect((await verifyAuditChain(db)).firstBroken?.seq).toBe(7n);
    await done();
  });

  it("names a deleted middle entry", async () => {
    const { db, done } = await freshChain();
    await asSuperuser(db, "DELETE FROM audit_log WHERE seq = 5");
    expect(await verifyAuditChain(db, { pageSize: 3 })).toEqual({
      ok: false,
      checked: 4,
      firstBroken: { chain: 1, seq: 5n, reason: "entry 5 is missing (deleted)" },
    });
    await done();
  });

  it("names a deleted entry even when the seqs were renumbered to hide the gap", async () => {
    const { db, done } = await freshChain();
    await asSuperuser(db, "DELETE FROM audit_log WHERE seq = 5");
    await asSuperuser(db, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 5");
    await asSuperuser(db, "UPDATE audit_head SET last_seq = 9");
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.seq).toBe(5n);
    await done();
  });

  it("notices entries cut from the end", async () => {
    const { db, done } = await freshChain();
    await asSuperuser(db, "DELETE FROM audit_log WHERE seq > 8");
    expect((await verifyAuditChain(db)).firstBroken).toEqual({ chain: 1, seq: 9n, reason: "entries 9..10 are missing (truncated)" });
    await done();
  });

  it("notices an entry forged at the end without moving the head", async () => {
    const { db, done } = await freshChain();
    await db.query(
      `INSERT INTO audit_log SELECT 11, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, hash, hash
       FROM audit_log WHERE seq = 10`,
    );
    expect((await verifyAuditChain(db)).firstBroken?.seq).toBe(11n);
    await done();
  });
});

describe("audit log: PIN attempts on a chain of their own", () => {
  const pinEntry = (i: number, action = "pin.verify"): AuditEntryInput => ({ ...entry(i), action, subject: `cust-${i}`, payload: { i } });
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 4 });
    const log = new SqlAuditLog(t.db, () => T0);
    await log.append(entries(1, 3));
    await log.append([pinEntry(1), pinEntry(2, "pin.change")]);
    // One append with both kinds: each entry on its chain, committed together.
    await log.append([entry(4), pinEntry(3)]);
  });
  afterAll(() => t.cleanup());

  it("chains pin.verify and pin.change on chain 2 from its own genesis, everything else on chain 1, each without gaps", async () => {
    const rows = await t.db.query<{ chain: number; seq: string; action: string; prev_hash: string }>("SELECT chain, seq::text AS seq, action, prev_hash FROM audit_log ORDER BY chain, seq");
    expect(rows.rows.map((r) => `${r.chain}:${r.seq}:${r.action}`)).toEqual([
      "1:1:transfer.submit",
      "1:2:transfer.submit",
      "1:3:transfer.submit",
      "1:4:transfer.submit",
      "2:1:pin.verify",
      "2:2:pin.change",
      "2:3:pin.verify",
    ]);
    expect(rows.rows[0]!.prev_hash).toBe("0".repeat(64));
    expect(rows.rows[4]!.prev_hash).toBe(createHash("sha256").update("fingate audit chain 2").digest("hex"));
    expect(await readHead(t.db, 2)).toMatchObject({ lastSeq: 3n });
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: 7 });
  });

  it("names a broken link in chain 2 by its chain", async () => {
    await onOwnDb(async (own) => {
      const log = new SqlAuditLog(own.db, () => T0);
      await log.append(entries(1, 2));
      await log.append([pinEntry(1), pinEntry(2), pinEntry(3)]);
      await asSuperuser(own.db, `UPDATE audit_log SET outcome = 'refused' WHERE chain = 2 AND seq = 2`);
      expect(await verifyAuditChain(own.db)).toEqual({ ok: false, checked: 3, firstBroken: { chain: 2, seq: 2n, reason: "content does not match its hash (altered)" } });
    });
  });

  it("notices an entry forged far beyond the rest of a chain, without walking the seqs in between", async () => {
    await onOwnDb(async (own) => {
      const log = new SqlAuditLog(own.db, () => T0);
      await log.append([pinEntry(1), pinEntry(2)]);
      await own.db.query(
        `INSERT INTO audit_log (chain, seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
         SELECT 2, 1000000000000000, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, hash, hash FROM audit_log WHERE chain = 2 AND seq = 2`,
      );
      const result = await verifyAuditChain(own.db, { pageSize: 10 });
      expect(result).toMatchObject({ ok: false, checked: 2, firstBroken: { chain: 2, seq: 3n } });
      expect(result.firstBroken!.reason).toMatch(/missing/);
    });
  });

  it("verifies a log appended to while it is walked: rows committed between two reads are read, not taken for deleted", async () => {
    await onOwnDb(async (own) => {
      const log = new SqlAuditLog(own.db, () => T0);
      await log.append(entries(1, 8));
      let reads = 0;
      // The walk's first range read (seqs 1..10 found 8), then 10 more entries commit.
      const live: SqlExecutor = {
        exec: (text) => own.db.exec(text),
        query: async (text, params, name) => {
          const result = await own.db.query(text, params, name);
          if (text.includes("seq <= $2::bigint ORDER BY") && ++reads === 1) await log.append(entries(9, 10));
          return result as never;
        },
      };
      expect(await verifyAuditChain(live, { pageSize: 10 })).toEqual({ ok: true, checked: 18 });
    }, 4);
  });

  it("reports an entry forged at the very top of bigint instead of failing on the range past it", async () => {
    await onOwnDb(async (own) => {
      await new SqlAuditLog(own.db, () => T0).append([pinEntry(1)]);
      await own.db.query(
        `INSERT INTO audit_log (chain, seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
         SELECT 2, 9223372036854775800, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, hash, hash FROM audit_log WHERE chain = 2 AND seq = 1`,
      );
      expect(await verifyAuditChain(own.db, { pageSize: 1_000 })).toMatchObject({ ok: false, firstBroken: { chain: 2, seq: 2n } });
    });
  });

  it("notices an entry forged outside both chains (a superuser dropped the checks)", async () => {
    await onOwnDb(async (own) => {
      await new SqlAuditLog(own.db, () => T0).append([...entries(1, 2), pinEntry(1)]);
      await own.db.query("ALTER TABLE audit_log DROP CONSTRAINT audit_log_chain_known");
      await own.db.query(
        `INSERT INTO audit_log (chain, seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
         SELECT 3, 1, occurred_at, actor_type, 'forged', action, channel, outcome, subject, payload, hash, hash FROM audit_log WHERE chain = 1 AND seq = 1`,
      );
      expect(await verifyAuditChain(own.db)).toEqual({ ok: false, checked: 0, firstBroken: { chain: 3, seq: 1n, reason: "an entry lies outside both chains (forged)" } });
    });
  });

  it("notices an entry moved from chain 2 to the end of chain 1 (heads moved to match)", async () => {
    await onOwnDb(async (own) => {
      const log = new SqlAuditLog(own.db, () => T0);
      await log.append(entries(1, 2));
      await log.append([pinEntry(1)]);
      await asSuperuser(own.db, "UPDATE audit_log SET chain = 1, seq = 3 WHERE chain = 2 AND seq = 1");
      await asSuperuser(own.db, "UPDATE audit_head SET last_seq = 3, last_hash = (SELECT hash FROM audit_log WHERE chain = 1 AND seq = 3) WHERE id = 1");
      await asSuperuser(own.db, `UPDATE audit_head SET last_seq = 0, last_hash = '${createHash("sha256").update("fingate audit chain 2").digest("hex")}' WHERE id = 2`);
      const result = await verifyAuditChain(own.db);
      expect(result).toMatchObject({ ok: false, firstBroken: { chain: 1, seq: 3n } });
      expect(result.firstBroken!.reason).toMatch(/prev_hash/);
    });
  });
});

describe("audit log on PGlite", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("pglite");
  });
  afterAll(() => t.cleanup());

  it("chains, refuses changes and verifies the same way", async () => {
    const log = new SqlAuditLog(t.db, () => T0);
    await log.append(entries(1, 49));
    await log.append([entry(50, { payload: tricky, subject: "sub\u0000ject" })]);
    await Promise.all([log.append(entries(51, 5)), log.append(entries(56, 5))]);
    await expect(t.db.query("DELETE FROM audit_log WHERE seq = 1")).rejects.toThrow(/append-only/);
    expect(await verifyAuditChain(t.db, { pageSize: 8 })).toEqual({ ok: true, checked: 60 });
  });
});
