// An anchor binds every entry before it, so one taken over a chain that no longer verifies would
// vouch for the tampering: cut the tail back to it (or rewrite up to it) and `verify --anchor`
// passes. Every way of taking one (`fingate audit anchor`, the admin routes, the anchor file
// writer) walks the chains first and refuses when they do not verify.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditChainUnverified, formatAnchor, parseAnchor } from "../../src/core/audit/anchor.js";
import { takeAuditAnchor } from "../../src/infra/db/audit-anchor.js";
import { AnchorFileRefused, readAnchorFile, startAnchorWriter } from "../../src/infra/db/audit-anchor-file.js";
import type { SqlDb, SqlExecutor } from "../../src/infra/db/sql.js";
import { alterEntry, cli, cutTail, entries, onOwnDb, pinEntry, T0, twoChains } from "../helpers/audit-anchor-kit.js";
import { STORE_KINDS } from "../helpers/db.js";
import { PLATFORM_KEY, bearer, openAdmin, registerCustomer, type AdminFixture } from "./admin-fixture.js";

/** `db`, counting the audit entries read by the chain walks' page queries. */
function countingReads(db: SqlDb): { db: SqlExecutor; read: () => number } {
  let read = 0;
  const counting: SqlExecutor = {
    exec: (script) => db.exec(script),
    async query<R>(text: string, params?: unknown[], name?: string) {
      const result = await db.query<R>(text, params, name);
      if (text.includes("FROM audit_log WHERE chain = $3 AND seq > $1::bigint")) read += result.rows.length;
      return result;
    },
  };
  return { db: counting, read: () => read };
}

describe("taking an anchor verifies the chains first", () => {
  it.each(STORE_KINDS)("an altered entry on either chain refuses the anchor, naming it (%s)", async (kind) => {
    await onOwnDb(async (db) => {
      await twoChains(db);
      await alterEntry(db, 1, 4);
      const refused = takeAuditAnchor(db, T0);
      await expect(refused).rejects.toBeInstanceOf(AuditChainUnverified);
      await expect(refused).rejects.toThrow("chain 1 is broken at entry 4: content does not match its hash (altered)");
    }, kind);
    await onOwnDb(async (db) => {
      await twoChains(db);
      await alterEntry(db, 2, 3);
      await expect(takeAuditAnchor(db, T0)).rejects.toThrow("chain 2 is broken at entry 3: content does not match its hash (altered)");
    }, kind);
  });

  it("from an earlier anchor, only the entries after it are walked, and the earlier anchor must still hold", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const earlier = await takeAuditAnchor(db, T0);
      await log.append(entries(11, 5));
      await log.append(entries(5, 1, pinEntry));
      const counted = countingReads(db);
      const next = await takeAuditAnchor(counted.db, T0, earlier);
      expect(next.points.map((p) => `${p.chain}:${p.seq}`)).toEqual(["1:15", "2:5"]);
      expect(counted.read()).toBe(6);

      // An entry appended after the earlier anchor, altered: refused.
      await alterEntry(db, 1, 13);
      await expect(takeAuditAnchor(db, T0, earlier)).rejects.toThrow("chain 1 is broken at entry 13: content does not match its hash (altered)");
      // The earlier anchor cut away: refused, naming the cut.
      await cutTail(db, 1, 8);
      await expect(takeAuditAnchor(db, T0, earlier)).rejects.toThrow("the chain now ends at entry 8, so entries 9..10 and any after them were cut from its end");
    });
  });

  it("fingate audit anchor exits 1 over an altered entry, printing no anchor", async () => {
    await onOwnDb(async (db, t) => {
      await twoChains(db);
      await alterEntry(db, 1, 6);
      const taken = await cli(t.schema!, ["audit", "anchor"]);
      expect(taken.code).toBe(1);
      expect(taken.out).toBe("");
      expect(taken.err).toContain("refusing to anchor the audit chains: they do not verify (chain 1 is broken at entry 6: content does not match its hash (altered))");
    });
  }, 60_000);
});

describe("admin API: no anchor over chains that do not verify", () => {
  let f: AdminFixture;
  beforeAll(async () => {
    f = await openAdmin("postgres");
    await registerCustomer(f, f.a.id, "+254712900001");
    await registerCustomer(f, f.b.id, "+254712900002");
  });
  afterAll(async () => {
    await f?.close();
  });

  const get = (url: string, key: string) => request(f.app).get(url).set(...bearer(key));
  const chain1Head = async () => Number((await f.test.db.query<{ seq: string }>("SELECT last_seq::text AS seq FROM audit_head WHERE id = 1")).rows[0]!.seq);

  it("a bank's anchor is refused when an entry between its own newest one and the walked head was altered since the walk", async () => {
    // The shared walk (a minute's verdict) finds the chains intact up to bank b's entries, after bank a's.
    expect((await get(`/admin/v1/institutions/${f.a.id}/audit/verify`, f.a.auditor)).body.ok).toBe(true);
    await alterEntry(f.test.db, 1, await chain1Head());
    const refused = await get(`/admin/v1/institutions/${f.a.id}/audit/anchor`, f.a.auditor);
    expect(refused.status).toBe(409);
    // Nothing that places the break: that would count every bank's entries.
    expect(refused.body).toEqual({ error: { code: "audit_chain_unverified", message: expect.stringContaining("the audit chains do not verify") } });
  });

  it("the platform's anchor is refused, naming the altered entry", async () => {
    const head = await chain1Head();
    const refused = await get("/admin/v1/audit/anchor", PLATFORM_KEY);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: "audit_chain_unverified",
      details: [{ path: "chains", message: `chain 1 is broken at entry ${head}: content does not match its hash (altered)` }],
    });
  });

  it("a bank's anchor is refused when the shared walk finds the chains broken", async () => {
    const g = await openAdmin("postgres");
    try {
      await registerCustomer(g, g.a.id, "+254712900003");
      await alterEntry(g.test.db, 1, 1);
      const refused = await request(g.app).get(`/admin/v1/institutions/${g.a.id}/audit/anchor`).set(...bearer(g.a.auditor));
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("audit_chain_unverified");
    } finally {
      await g.close();
    }
  });
});

describe("FINGATE_AUDIT_ANCHOR_FILE: the writer anchors only verified chains, walking what was appended since", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fingate-anchor-verified-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  const seqs = (line: string) => parseAnchor(line).points.map((p) => `${p.chain}:${p.seq}`);
  // No timer ticks during the test: it calls writeNow itself.
  const EVERY = 86_400_000;

  it("resumes from the file's last anchor, walks each tick's new entries only, and stops anchoring at an altered one", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const file = path.join(dir, "resume.log");
      writeFileSync(file, `${formatAnchor(await takeAuditAnchor(db, T0))}\n`);
      await log.append(entries(11, 3));
      const counted = countingReads(db);
      const errors: unknown[] = [];
      const writer = await startAnchorWriter({ db: counted.db, file, everyMs: EVERY, onError: (e) => errors.push(e) });
      expect(lines(file).map(seqs)).toEqual([["1:10", "2:4"], ["1:13", "2:4"]]);
      expect(counted.read()).toBe(3);

      await log.append(entries(14, 2));
      expect(await writer.writeNow()).toBe(true);
      expect(counted.read()).toBe(5);
      expect(await writer.writeNow()).toBe(false);

      await log.append(entries(16, 2));
      await alterEntry(db, 1, 17);
      await expect(writer.writeNow()).rejects.toThrow("chain 1 is broken at entry 17");
      // Refused for good: no walk again, no line.
      const read = counted.read();
      await expect(writer.writeNow()).rejects.toBeInstanceOf(AuditChainUnverified);
      expect(counted.read()).toBe(read);
      await writer.stop();
      expect(lines(file).map(seqs).at(-1)).toEqual(["1:15", "2:4"]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(AuditChainUnverified);
    });
  });

  it("a start over a file whose last anchor the chains no longer hold is refused; over chains that do not verify from the genesis, reported", async () => {
    await onOwnDb(async (db) => {
      await twoChains(db);
      const file = path.join(dir, "broken.log");
      writeFileSync(file, `${formatAnchor(await takeAuditAnchor(db, T0))}\n`);
      await cutTail(db, 2, 2);
      const errors: unknown[] = [];
      await expect(startAnchorWriter({ db, file, everyMs: EVERY, onError: (e) => errors.push(e) }))
        .rejects.toThrow("chain 2: the anchored entry 4 is missing: the chain now ends at entry 2");
      expect(lines(file)).toHaveLength(1);
      expect(errors).toEqual([]);

      // No anchor in the file: the first is taken after a walk from the genesis.
      await alterEntry(db, 1, 2);
      const fresh = path.join(dir, "fresh.log");
      const more: unknown[] = [];
      const second = await startAnchorWriter({ db, file: fresh, everyMs: EVERY, onError: (e) => more.push(e) });
      await second.stop();
      expect(() => readFileSync(fresh)).toThrow("ENOENT");
      expect(String(more[0])).toContain("chain 1 is broken at entry 2");
    });
  });
});

describe("FINGATE_AUDIT_ANCHOR_FILE: at start the writer checks the file's last anchor against the chains", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fingate-anchor-start-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const EVERY = 86_400_000;
  const noErrors = (e: unknown) => {
    throw e;
  };

  it("a last anchor naming a hash the chain does not hold at its seq stops the start, and nothing is appended", async () => {
    await onOwnDb(async (db) => {
      await twoChains(db);
      const held = await takeAuditAnchor(db, T0);
      const other = (await db.query<{ hash: string }>("SELECT hash FROM audit_log WHERE chain = 1 AND seq = 3")).rows[0]!.hash;
      // The file edited: chain 1's point keeps its seq but names another entry's hash.
      const forged = formatAnchor({ at: T0, points: held.points.map((p) => (p.chain === 1 ? { ...p, hash: other } : p)) });
      const file = path.join(dir, "forged.log");
      writeFileSync(file, `${formatAnchor(held)}\n${forged}\n`);
      const before = readFileSync(file, "utf8");
      await expect(startAnchorWriter({ db, file, everyMs: EVERY, onError: noErrors }))
        .rejects.toThrow(/^FINGATE_AUDIT_ANCHOR_FILE: the last anchor of .*forged\.log \(line 2\) does not match the audit chains: chain 1: entry 10 no longer has the anchored hash/);
      expect(readFileSync(file, "utf8")).toBe(before);
    });
  });

  // Two writes cut short in a row leave a whole line that is no anchor before the torn one, and a
  // writer before 2026-11-30 glued its anchor onto a torn fragment: each stopped every start.
  it("whole lines that are no anchor after the last anchor are set aside with one warning naming them; that anchor is checked", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const first = formatAnchor(await takeAuditAnchor(db, T0));
      await log.append(entries(11, 2));
      const next = formatAnchor(await takeAuditAnchor(db, T0));
      const file = path.join(dir, "fragments.log");
      const glued = `${next.slice(0, 30)}${next}`;
      writeFileSync(file, `${first}\n${next.slice(0, 40)}\n${glued}\n\n${next.slice(0, 20)}`);
      const warnings: string[] = [];
      const writer = await startAnchorWriter({ db, file, everyMs: EVERY, onError: noErrors, onWarning: (w) => warnings.push(w) });
      await writer.stop();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/fragments\.log lines 2, 3, 5 are no anchor \(line 5 is torn, no end of line: writes cut short, by a crash\?\): set aside, verifying on from the anchor on line 1/);
      expect(parseAnchor(readFileSync(file, "utf8").split("\n")[5]!).points.map((p) => `${p.chain}:${p.seq}`)).toEqual(["1:12", "2:4"]);
      expect((await readAnchorFile(file)).points[0]!.seq).toBe(12n);

      // The last anchor before them is held to the chains as any last anchor is; nothing is appended.
      const cut = path.join(dir, "fragments-cut.log");
      writeFileSync(cut, `${first}\nfingate-audit-anchor v1 chain1=10:beef\n`);
      const before = readFileSync(cut, "utf8");
      await cutTail(db, 1, 8);
      await expect(startAnchorWriter({ db, file: cut, everyMs: EVERY, onError: noErrors, onWarning: () => undefined }))
        .rejects.toThrow(/fragments-cut\.log \(line 1\) does not match the audit chains: chain 1: the anchored entry 10 is missing/);
      // verify --anchor-file reads the last line, no anchor here: the error names the anchor itself.
      await expect(startAnchorWriter({ db, file: cut, everyMs: EVERY, onError: noErrors, onWarning: () => undefined }))
        .rejects.toThrow(`Run \`fingate audit verify --anchor '${first}'\` to see what is missing`);
      expect(readFileSync(cut, "utf8")).toBe(before);

      // No anchor at all, only lines that are none: walked from the genesis (as with no file), with the warning.
      const none = path.join(dir, "no-anchor.log");
      writeFileSync(none, `${next.slice(0, 40)}\n${next.slice(0, 10)}\n`);
      const more: string[] = [];
      const second = await startAnchorWriter({ db, file: none, everyMs: EVERY, onError: noErrors, onWarning: (w) => more.push(w) });
      await second.stop();
      expect(more).toEqual([expect.stringMatching(/no-anchor\.log lines 1, 2 are no anchor .*: set aside, verifying on from the chains' genesis \(no anchor line before them\)/)]);
      expect(parseAnchor(readFileSync(none, "utf8").split("\n")[2]!).points[0]!.seq).toBe(8n);
    });
  });

  it("a torn last line (no newline: a write cut short) is set aside with a warning; the anchor before it is checked, the next line starts on its own", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const first = formatAnchor(await takeAuditAnchor(db, T0));
      await log.append(entries(11, 2));
      const file = path.join(dir, "torn.log");
      const torn = formatAnchor(await takeAuditAnchor(db, T0)).slice(0, 50);
      writeFileSync(file, `${first}\n${torn}`);
      const warnings: string[] = [];
      const writer = await startAnchorWriter({ db, file, everyMs: EVERY, onError: noErrors, onWarning: (w) => warnings.push(w) });
      await writer.stop();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/torn\.log line 2 is no anchor \(line 2 is torn, no end of line: .*\): set aside, verifying on from the anchor on line 1/);
      const after = readFileSync(file, "utf8").split("\n");
      expect(after.slice(0, 2)).toEqual([first, torn]);
      expect(parseAnchor(after[2]!).points.map((p) => `${p.chain}:${p.seq}`)).toEqual(["1:12", "2:4"]);
      expect((await readAnchorFile(file)).points[0]!.seq).toBe(12n);

      // The anchor before a torn line is held to the chains as any last anchor is.
      const cut = path.join(dir, "torn-cut.log");
      writeFileSync(cut, `${first}\n${torn}`);
      await cutTail(db, 1, 8);
      await expect(startAnchorWriter({ db, file: cut, everyMs: EVERY, onError: noErrors, onWarning: () => undefined }))
        .rejects.toThrow("chain 1: the anchored entry 10 is missing: the chain now ends at entry 8");

      // Only a torn line: walked from the genesis, with the warning.
      const only = path.join(dir, "only-torn.log");
      writeFileSync(only, torn);
      const more: string[] = [];
      const second = await startAnchorWriter({ db, file: only, everyMs: EVERY, onError: noErrors, onWarning: (w) => more.push(w) });
      await second.stop();
      expect(more).toHaveLength(1);
      expect(parseAnchor(readFileSync(only, "utf8").split("\n")[1]!).points[0]!.seq).toBe(8n);
    });
  });

  // A failover to a replica that was behind, or a restore from a backup, loses the log's tail: every
  // instance then refuses to start. The error says how to see what is missing and how to go on.
  it("a refused start says what to run and how to go on; with the file moved aside, the next start walks from the genesis into a new file", async () => {
    await onOwnDb(async (db) => {
      const log = await twoChains(db);
      const file = path.join(dir, "failover.log");
      writeFileSync(file, `${formatAnchor(await takeAuditAnchor(db, T0))}\n`);
      // The tail lost, and the log written on past it: the anchored seq now holds another entry.
      await cutTail(db, 1, 8);
      await log.append(entries(100, 3));
      const refused = await startAnchorWriter({ db, file, everyMs: EVERY, onError: noErrors }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AnchorFileRefused);
      const message = (refused as Error).message;
      expect(message).toContain("chain 1: entry 10 no longer has the anchored hash");
      expect(message).toContain(`fingate audit verify --anchor-file ${file}`);
      expect(message).toContain(`mv ${file} ${file}.refused-`);
      expect(message).toContain("walks both chains from the genesis and starts a new file");
      // The operator's way out, as the message gives it.
      const mv = /`mv (\S+) (\S+)`/.exec(message)!;
      renameSync(mv[1]!, mv[2]!);
      const writer = await startAnchorWriter({ db, file, everyMs: EVERY, onError: noErrors });
      await writer.stop();
      expect(readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => parseAnchor(l).points.map((p) => `${p.chain}:${p.seq}`))).toEqual([["1:11", "2:4"]]);
      expect(readFileSync(mv[2]!, "utf8").split("\n").filter((l) => l !== "")).toHaveLength(1);
    });
  });

  it("fingate start over a file whose last anchor does not hold exits 1, saying why", async () => {
    await onOwnDb(async (db, t) => {
      await twoChains(db);
      const file = path.join(dir, "start.log");
      writeFileSync(file, `${formatAnchor(await takeAuditAnchor(db, T0))}\n`);
      await cutTail(db, 1, 9);
      const run = await cli(t.schema!, ["start"], { env: { FINGATE_AUDIT_ANCHOR_FILE: file, PORT: "0", HOST: "127.0.0.1", DB_POOL_SIZE: "2" }, killAfterMs: 60_000 });
      expect(run.code, run.err).toBe(1);
      expect(run.err).toContain("does not match the audit chains: chain 1: the anchored entry 10 is missing");
      expect(readFileSync(file, "utf8").split("\n").filter((l) => l !== "")).toHaveLength(1);
    });
  }, 90_000);
});
