// Anchors of the audit chains: a line copied out of the gateway that still names entries cut from
// a chain's end after the head row was moved back with them, which a walk of the chain alone
// cannot see (what remains is a valid chain).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatAnchor, parseAnchor } from "../../src/core/audit/anchor.js";
import { genesisHash } from "../../src/core/audit/audit-entry.js";
import { loadConfig } from "../../src/config.js";
import { checkAuditAnchor, takeAuditAnchor } from "../../src/infra/db/audit-anchor.js";
import { readHead, SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { PostgresDb } from "../../src/infra/db/sql.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway } from "../../src/main.js";
import { cli, cutTail, entries, onOwnDb, pinEntry, T0, twoChains } from "../helpers/audit-anchor-kit.js";
import { STORE_KINDS, TEST_DATABASE_URL } from "../helpers/db.js";
import { PLATFORM_KEY, bearer, openAdmin, registerCustomer, type AdminFixture } from "./admin-fixture.js";

describe("audit anchors on PostgreSQL", () => {
  it("an anchor names each chain's head; it holds while the chains only grow", async () => {
    await onOwnDb(async (db) => {
      const empty = await takeAuditAnchor(db, T0);
      expect(formatAnchor(empty)).toBe(
        `fingate-audit-anchor v1 at=2026-11-29T09:00:00.000Z chain1=0:${"0".repeat(64)} chain2=0:2438ab87b6a311496e0a1fe85b57b8ec40d7af37902c7f4bb54ad9f9d64bf74e`,
      );
      const log = await twoChains(db);
      const anchor = await takeAuditAnchor(db, T0);
      expect(anchor.points.map((p) => `${p.chain}:${p.seq}`)).toEqual(["1:10", "2:4"]);
      const line = formatAnchor(anchor);
      expect(parseAnchor(line)).toEqual(anchor);
      await log.append(entries(11, 3));
      await log.append(entries(5, 2, pinEntry));
      for (const a of [empty, anchor, parseAnchor(line)]) expect(await checkAuditAnchor(db, a)).toEqual({ ok: true, problems: [] });
    });
  });

  it.each(STORE_KINDS)("entries cut from a chain's end with its head moved back pass the walk, and the anchor names them (%s)", async (kind) => {
    await onOwnDb(async (db) => {
      await twoChains(db);
      const anchor = await takeAuditAnchor(db, T0);
      await cutTail(db, 1, 7);
      // The gap this closes: what is left is a valid chain with a matching head.
      expect(await verifyAuditChain(db)).toEqual({ ok: true, checked: 11 });
      expect(await checkAuditAnchor(db, anchor)).toEqual({
        ok: false,
        problems: [{ chain: 1, seq: 10n, reason: "the anchored entry 10 is missing: the chain now ends at entry 7, so entries 8..10 and any after them were cut from its end" }],
      });
      await cutTail(db, 2, 3);
      expect((await checkAuditAnchor(db, anchor)).problems.map((p) => [p.chain, p.reason])).toEqual([
        [1, expect.stringContaining("entries 8..10")],
        [2, "the anchored entry 4 is missing: the chain now ends at entry 3, so entry 4 and any after it were cut from its end"],
      ]);
    }, kind);
  });

  it("a chain cut and appended to again up to the anchor's seq (every link valid) fails: the anchored hash is gone", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const anchor = await takeAuditAnchor(db, T0);
      await cutTail(db, 1, 4);
      await log.append(entries(105, 8));
      expect(await verifyAuditChain(db)).toEqual({ ok: true, checked: 16 });
      const held = await checkAuditAnchor(db, anchor);
      expect(held.ok).toBe(false);
      expect(held.problems).toEqual([
        { chain: 1, seq: 10n, reason: `entry 10 no longer has the anchored hash ${anchor.points[0]!.hash.slice(0, 12)}…: the chain was rewritten at or before entry 10` },
      ]);
    });
  });

  it("an anchor not of this gateway's chains is refused", async () => {
    await onOwnDb(async (db) => {
      const held = await checkAuditAnchor(db, parseAnchor(`fingate-audit-anchor v1 chain2=0:${"0".repeat(64)}`));
      expect(held).toEqual({ ok: false, problems: [{ chain: 2, seq: 0n, reason: expect.stringContaining("genesis hash") }] });
    });
  });
});

describe("fingate audit anchor / audit verify --anchor", () => {
  it("prints an anchor line; verify with it holds, and names the tail cut that verify without it passes", async () => {
    await onOwnDb(async (db, t) => {
      await twoChains(db);
      const taken = await cli(t.schema!, ["audit", "anchor"]);
      expect(taken.code, taken.err).toBe(0);
      const line = taken.out.trim();
      expect(line).toMatch(/^fingate-audit-anchor v1 at=\S+ chain1=10:[0-9a-f]{64} chain2=4:[0-9a-f]{64}$/);

      const held = await cli(t.schema!, ["audit", "verify", "--anchor", line]);
      expect(held.code, held.err).toBe(0);
      expect(held.out).toContain("anchor held: chain 1 through entry 10, chain 2 through entry 4");

      await cutTail(db, 1, 8);
      const blind = await cli(t.schema!, ["audit", "verify"]);
      expect(blind.code, blind.err).toBe(0);
      const caught = await cli(t.schema!, ["audit", "verify", `--anchor=${line}`]);
      expect(caught.code).toBe(1);
      expect(caught.err).toContain("audit anchor NOT HELD");
      expect(caught.err).toContain("chain 1: the anchored entry 10 is missing: the chain now ends at entry 8, so entries 9..10 and any after them were cut from its end");
      expect(caught.err).not.toContain("chain 2:");
    });
  }, 120_000);

  it("refuses a malformed anchor with usage exit 2, saying what is wrong", async () => {
    await onOwnDb(async (_db, t) => {
      const bad = await cli(t.schema!, ["audit", "verify", "--anchor", "fingate-audit-anchor v1 chain1=10:abc"]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('not an audit anchor: "chain1=10:abc" is not chainN=seq:hash');
      const stray = await cli(t.schema!, ["audit", "verify", "--anchr", "x"]);
      expect(stray.code).toBe(2);
      expect(stray.err).toContain("usage: fingate audit verify");
    });
  }, 60_000);
});

describe("admin API: anchors for the platform and for a bank", () => {
  let f: AdminFixture;
  beforeAll(async () => {
    f = await openAdmin("postgres");
  });
  afterAll(async () => {
    await f?.close();
  });

  const get = (url: string, key: string) => request(f.app).get(url).set(...bearer(key));

  it("the platform's anchor names both heads; its verify with the anchor names a tail cut that the walk passes", async () => {
    const taken = await get("/admin/v1/audit/anchor", PLATFORM_KEY);
    expect(taken.status).toBe(200);
    const anchor = taken.body.anchor as string;
    const heads = await f.test.db.query<{ id: number; last_seq: string }>("SELECT id, last_seq::text AS last_seq FROM audit_head ORDER BY id");
    expect(taken.body.points.map((p: { chain: number; seq: string }) => `${p.chain}:${p.seq}`)).toEqual(heads.rows.map((r) => `${r.id}:${r.last_seq}`));
    expect(anchor).toMatch(/^fingate-audit-anchor v1 at=\S+ chain1=[1-9][0-9]*:[0-9a-f]{64} chain2=/);
    const verifyUrl = `/admin/v1/audit/verify?anchor=${encodeURIComponent(anchor)}`;
    expect((await get(verifyUrl, PLATFORM_KEY)).body).toMatchObject({ ok: true, anchor: { ok: true, problems: [] } });

    const last = BigInt(heads.rows[0]!.last_seq);
    await cutTail(f.test.db, 1, Number(last - 1n));
    expect((await get("/admin/v1/audit/verify", PLATFORM_KEY)).body.ok).toBe(true);
    const caught = await get(verifyUrl, PLATFORM_KEY);
    expect(caught.body).toMatchObject({
      ok: false,
      anchor: { ok: false, problems: [{ chain: 1, seq: String(last), reason: expect.stringContaining("cut from its end") }] },
    });

    const bad = await get(`/admin/v1/audit/verify?anchor=${encodeURIComponent("fingate-audit-anchor v2 chain1=1:x")}`, PLATFORM_KEY);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("not an audit anchor");
  });

  it("a bank's anchor names its own newest entries; its verify with the anchor names their cut, and tells nothing of others' entries", async () => {
    await registerCustomer(f, f.a.id, "+254712800001");
    // Bank b acts after bank a: the heads lie beyond a's entries.
    await registerCustomer(f, f.b.id, "+254712800002");
    const taken = await get(`/admin/v1/institutions/${f.a.id}/audit/anchor`, f.a.auditor);
    expect(taken.status).toBe(200);
    const own = await f.test.db.query<{ seq: string; hash: string }>(
      "SELECT seq::text AS seq, hash FROM audit_log WHERE chain = 1 AND (subject = $1 OR subject IN (SELECT id::text FROM customers WHERE institution_id = $1::uuid)) ORDER BY seq DESC LIMIT 1",
      [f.a.id],
    );
    const head = await f.test.db.query<{ seq: string }>("SELECT last_seq::text AS seq FROM audit_head WHERE id = 1");
    expect(BigInt(head.rows[0]!.seq)).toBeGreaterThan(BigInt(own.rows[0]!.seq));
    expect(taken.body.points).toEqual([{ chain: 1, seq: own.rows[0]!.seq, hash: own.rows[0]!.hash }]);
    const anchor = taken.body.anchor as string;
    const verifyUrl = `/admin/v1/institutions/${f.a.id}/audit/verify?anchor=${encodeURIComponent(anchor)}`;
    expect((await get(verifyUrl, f.a.auditor)).body).toEqual({ ok: true, checkedAt: expect.any(String), anchor: { ok: true, problems: [] } });

    // Bank b's anchor is its own: it does not hold for bank a, and a's check says nothing of where the head is.
    const theirs = (await get(`/admin/v1/institutions/${f.b.id}/audit/anchor`, f.b.auditor)).body.anchor as string;
    const foreign = await get(`/admin/v1/institutions/${f.a.id}/audit/verify?anchor=${encodeURIComponent(theirs)}`, f.a.auditor);
    expect(foreign.body.ok).toBe(false);
    const far = await get(`/admin/v1/institutions/${f.a.id}/audit/verify?anchor=${encodeURIComponent(`fingate-audit-anchor v1 chain1=99999:${"a".repeat(64)}`)}`, f.a.auditor);
    // A seq beyond the head is answered as one within it that is not a's: no probing for how many entries all banks wrote.
    const theirSeq = parseAnchor(theirs).points[0]!.seq.toString();
    expect(far.body.anchor.problems[0].reason.replaceAll("99999", theirSeq)).toBe(foreign.body.anchor.problems[0].reason);

    await cutTail(f.test.db, 1, Number(own.rows[0]!.seq) - 1);
    expect((await get(`/admin/v1/institutions/${f.a.id}/audit/verify`, f.a.auditor)).body.ok).toBe(true);
    const caught = await get(verifyUrl, f.a.auditor);
    expect(caught.body).toMatchObject({
      ok: false,
      anchor: { ok: false, problems: [{ chain: 1, seq: own.rows[0]!.seq, reason: expect.stringContaining(`no longer holds this institution's entry ${own.rows[0]!.seq}`) }] },
    });
  });
});

describe("FINGATE_AUDIT_ANCHOR_FILE: the gateway appends anchors outside the database", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fingate-anchor-"));
  const schema = `t_${randomBytes(6).toString("hex")}`;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  });

  const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter((l) => l !== "");

  it("at start, while the log grows and at shutdown; verify --anchor-file then names a tail cut the walk passes", async () => {
    const file = path.join(dir, "anchors.log");
    // A line kept from before: the empty chains' anchor (their genesis), which holds; a line that is no anchor would stop the start.
    const genesis = formatAnchor({ points: [{ chain: 1, seq: 0n, hash: genesisHash(1) }, { chain: 2, seq: 0n, hash: genesisHash(2) }] });
    writeFileSync(file, `${genesis}\n`);
    const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DB_POOL_SIZE: "4", FINGATE_AUDIT_ANCHOR_FILE: file, FINGATE_AUDIT_ANCHOR_INTERVAL_MS: "1000" };
    expect(loadConfig(env)).toMatchObject({ auditAnchorFile: file, auditAnchorEveryMs: 1_000 });
    expect(loadConfig({})).toMatchObject({ auditAnchorFile: undefined, auditAnchorEveryMs: 300_000 });
    expect(() => loadConfig({ FINGATE_AUDIT_ANCHOR_INTERVAL_MS: "10" })).toThrow("FINGATE_AUDIT_ANCHOR_INTERVAL_MS must be an integer from 1000");
    const gateway = await buildGateway(loadConfig(env), createLogger("silent"));
    let closed = false;
    try {
      const first = lines(file);
      expect(first[0]).toBe(genesis);
      expect(first.slice(1).map((l) => parseAnchor(l).points.map((p) => `${p.chain}:${p.seq}`))).toEqual([["1:0", "2:0"]]);
      await new SqlAuditLog(gateway.db).append(entries(1, 6));
      // The next tick writes the moved head; a tick with nothing new writes nothing.
      await expect.poll(() => lines(file).length, { timeout: 5_000, interval: 100 }).toBe(3);
      expect(parseAnchor(lines(file)[2]!).points.map((p) => `${p.chain}:${p.seq}`)).toEqual(["1:6", "2:0"]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(lines(file)).toHaveLength(3);
      await new SqlAuditLog(gateway.db).append(entries(7, 2));
      await gateway.close();
      closed = true;
      const last = lines(file).at(-1)!;
      expect(parseAnchor(last).points[0]).toMatchObject({ chain: 1, seq: 8n });
    } finally {
      if (!closed) await gateway.close();
    }

    const own = new PostgresDb({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 2 });
    try {
      const held = await cli(schema, ["audit", "verify", "--anchor-file", file]);
      expect(held.code, held.err).toBe(0);
      await cutTail(own, 1, 5);
      expect((await readHead(own, 1)).lastSeq).toBe(5n);
      const caught = await cli(schema, ["audit", "verify", `--anchor-file=${file}`]);
      expect(caught.code).toBe(1);
      expect(caught.err).toContain("chain 1: the anchored entry 8 is missing: the chain now ends at entry 5, so entries 6..8 and any after them were cut from its end");
      const tornAt = lines(file).length + 1;
      writeFileSync(file, "torn fingate-audit-anchor v1 chain1=8:ab\n", { flag: "a" });
      const torn = await cli(schema, ["audit", "verify", "--anchor-file", file]);
      expect(torn.code).toBe(2);
      expect(torn.err).toContain(`not an audit anchor: ${file} line ${tornAt}: it must start with`);
    } finally {
      await own.close();
    }
  }, 120_000);

  it("a path that cannot be written stops the start, naming the variable", async () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DB_POOL_SIZE: "2", FINGATE_AUDIT_ANCHOR_FILE: path.join(dir, "missing-dir", "anchors.log") };
    await expect(buildGateway(loadConfig(env), createLogger("silent"))).rejects.toThrow(/^FINGATE_AUDIT_ANCHOR_FILE: cannot append an anchor to .*missing-dir/);
  });
});
