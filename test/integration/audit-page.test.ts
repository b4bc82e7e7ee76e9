// A bank's audit page lists the entries it sees (visibleTo) newest first by time. Found by
// filtering the whole log's newest-first scan, its cost grew with every entry other banks (and the
// ledger) wrote since the bank's: a quiet bank's page read the whole table, on every request. It is
// read from the indexes instead, one scan per thing that makes an entry the bank's, each stopping
// at the page's size; but that probed every customer and number of the bank (seconds a page at
// 300 000 customers), so a page now walks a window of the entries from the cursor down first,
// checking each, and looks up by index only what the window did not find. These tests hold it to
// the old query's exact pages, and bound what it reads.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditChain, AuditEntryInput, AuditRecord } from "../../src/core/audit/audit-entry.js";
import { visibleTo } from "../../src/infra/db/admin-queries.js";
import { auditPage } from "../../src/infra/db/audit-page.js";
import { SqlAuditLog, toRecord, type AuditRow } from "../../src/infra/db/audit-store.js";
import type { SqlDb, SqlExecutor } from "../../src/infra/db/sql.js";
import { asSuperuser } from "../helpers/audit-anchor-kit.js";
import { openTestDb, STORE_KINDS, type StoreKind, type TestDb } from "../helpers/db.js";

interface Bank {
  id: string;
  keys: string[];
  customers: { id: string; msisdn: string }[];
}

let phone = 0;
/** Test numbers from this file's range, +25471300xxxx. */
const nextPhone = () => `+25471300${String(++phone).padStart(4, "0")}`;

/** A bank with two keys and customers. */
async function addBank(db: SqlDb, code: string, customers: number): Promise<Bank> {
  const bank: Bank = { id: randomUUID(), keys: [randomUUID(), randomUUID()], customers: [] };
  for (let i = 0; i < customers; i++) bank.customers.push({ id: randomUUID(), msisdn: nextPhone() });
  // Rows only the page reads: their wallets and key hashes do not matter here, so no foreign key is checked.
  await asSuperuser(db, `INSERT INTO institutions (id, code, name, currency) VALUES ($1, $2, $2, 'KES')`, [bank.id, code]);
  for (const c of bank.customers) {
    await asSuperuser(db, `INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id) VALUES ($1, $2, $3, 'x', $4)`, [c.id, bank.id, c.msisdn, randomUUID()]);
  }
  for (const k of bank.keys) {
    await asSuperuser(db, `INSERT INTO api_keys (id, institution_id, role, name, key_prefix, key_hash) VALUES ($1, $2, 'admin', 'k', 'p', $3)`, [k, bank.id, k.replaceAll("-", "").padEnd(64, "0")]);
  }
  return bank;
}

const ACTIONS: Record<AuditChain, string[]> = { 1: ["directory.customer.update", "limits.policy.set", "limits", "sim_swap.report"], 2: ["pin.verify", "pin.change"] };
const base = { actorType: "system", actorId: "ledger", channel: "system", outcome: "ok", payload: {} } as const;

function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/** Each way an entry becomes a bank's (visibleTo), and entries of no bank's, on both chains, of several actions. */
function mixedEntries(banks: Bank[], n: number, random: () => number): AuditEntryInput[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const keys = banks.flatMap((b) => b.keys);
  const customers = banks.flatMap((b) => b.customers);
  const kinds: ((e: Pick<AuditEntryInput, "action">) => AuditEntryInput)[] = [
    (e) => ({ ...base, ...e, subject: undefined }),
    (e) => ({ ...base, ...e, subject: `acct-${Math.floor(random() * 5)}` }),
    (e) => ({ ...base, ...e, subject: pick(banks).id }),
    (e) => ({ ...base, ...e, actorType: "bank_user", actorId: `apikey:${pick(keys)}`, subject: undefined }),
    (e) => ({ ...base, ...e, actorType: "bank_user", actorId: `apikey:${pick(keys)}`, subject: pick(banks).id }),
    (e) => ({ ...base, ...e, actorType: "operator", actorId: "apikey:env", subject: pick(customers).id }),
    (e) => ({ ...base, ...e, actorType: "customer", actorId: pick(customers).id, subject: pick(customers).id }),
    // A report on a number by any bank's key, or by no key: the number's banks see it unless another bank's key wrote it.
    (e) => ({ ...base, ...e, actorType: "bank_user", actorId: `apikey:${pick(keys)}`, subject: pick(customers).msisdn }),
    (e) => ({ ...base, ...e, actorType: "system", actorId: "sim-swap-feed", subject: pick(customers).msisdn }),
  ];
  return Array.from({ length: n }, () => {
    const chain: AuditChain = random() < 0.5 ? 1 : 2;
    return pick(kinds)({ action: pick(ACTIONS[chain]) });
  });
}

/** The definition: the whole log's newest-first scan, filtered by visibleTo (the page's query before). */
const BY_SCAN = `SELECT a.chain, a.seq::text AS seq, a.occurred_at, a.actor_type, a.actor_id, a.action, a.channel, a.outcome, a.subject, a.payload,
       a.prev_hash, a.hash
     FROM audit_log a
     WHERE ($2::timestamptz IS NULL OR (a.occurred_at, a.chain, a.seq) < ($2::timestamptz, $5::smallint, $6::bigint))
       AND ($4::text IS NULL OR a.action = $4 OR starts_with(a.action, $4 || '.'))
       AND ${visibleTo("a")}
     ORDER BY a.occurred_at DESC, a.chain DESC, a.seq DESC LIMIT $3`;

async function pageByScan(db: SqlExecutor, bank: string, limit: number, action: string | undefined, after: AuditRecord | undefined): Promise<AuditRecord[]> {
  const at = after ? (await db.query<{ at: string }>(`SELECT occurred_at::text AS at FROM audit_log WHERE chain = $1 AND seq = $2`, [after.chain, after.seq.toString()])).rows[0]!.at : null;
  const rows = await db.query<AuditRow>(BY_SCAN, [bank, at, limit, action ?? null, after?.chain ?? null, after?.seq.toString() ?? null]);
  return rows.rows.map(toRecord);
}

describe.each(STORE_KINDS)("a bank's audit page (%s)", (kind: StoreKind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind, { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  it("is the old query's page, page after page, for every way an entry is the bank's, any action and size", async () => {
    const a = await addBank(t.db, `page-a-${kind}`, 4);
    const b = await addBank(t.db, `page-b-${kind}`, 4);
    const random = seeded(11);
    // Times out of seq order (each batch has its own clock, as appenders on several hosts do) and shared by
    // a batch's entries and across chains, so that the order's ties (chain, then seq) are exercised.
    const times = Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(2026, 10, 29, 9, 0, i % 6, (i % 2) * 500)));
    for (let batch = 0; batch < 40; batch++) {
      await new SqlAuditLog(t.db, () => times[Math.floor(random() * times.length)]!).append(mixedEntries([a, b], 8, random));
    }
    const quiet = await addBank(t.db, `page-q-${kind}`, 2);
    // No route moves a customer to another bank; a superuser's move shows that both read who the bank's customers are now.
    await asSuperuser(t.db, `UPDATE customers SET institution_id = $1 WHERE id = $2`, [b.id, a.customers[0]!.id]);
    let seen = 0;
    for (const bank of [a, b, quiet]) {
      for (const limit of [1, 7, 500]) {
        // The window walked before the lookups by index: as sized (large, for these few entries), and 3 (the two joined within a page).
        for (const [action, window] of [undefined, "limits", "pin.verify", "directory", "pin"].flatMap((x) => [[x, undefined], [x, 3]] as const)) {
          let last: AuditRecord | undefined;
          for (let n = 0; n < 400; n++) {
            const before = last ? { chain: last.chain ?? 1, seq: last.seq } : undefined;
            const page = await auditPage(t.db, bank.id, { limit, before, action }, window);
            expect(page, `${bank.id} limit ${limit} action ${action} window ${window} page ${n}`).toEqual(await pageByScan(t.db, bank.id, limit, action, last));
            seen += page!.length;
            if (page!.length < limit) break;
            last = page![page!.length - 1];
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(600);
    // The platform's page is the whole log, unchanged; an unknown bank sees nothing.
    expect(await auditPage(t.db, null, { limit: 1000 })).toHaveLength(320);
    expect(await auditPage(t.db, randomUUID(), { limit: 10 })).toEqual([]);
  });
});

/** Rows the plan read from audit_log (returned plus filtered out), from EXPLAIN ANALYZE's JSON. */
function auditRowsRead(node: Record<string, unknown>): number {
  const loops = Number(node["Actual Loops"] ?? 1);
  const own = node["Relation Name"] === "audit_log" ? (Number(node["Actual Rows"] ?? 0) + Number(node["Rows Removed by Filter"] ?? 0)) * loops : 0;
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + auditRowsRead(child), 0);
}

/** `db`, noting the statements run through it. */
function recording(db: SqlExecutor, statements: { text: string; params: unknown[] }[]): SqlExecutor {
  return {
    query: (text, params, name) => {
      statements.push({ text, params: params ?? [] });
      return db.query(text, params, name);
    },
    exec: (script) => db.exec(script),
  };
}

describe("a quiet bank's page reads its own entries, not every entry written after them", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  // `history`: that many entries of the bank's first key before, so that the statistics count the key among the common actors.
  it.each([
    { analyzed: false, history: 0 },
    { analyzed: true, history: 0 },
    { analyzed: true, history: 6_000 },
  ])("with 10 000 other entries after the bank's on each chain (%o)", async ({ analyzed, history }) => {
    const a = await addBank(t.db, `plan-a-${analyzed}-${history}`, 3);
    const past = new SqlAuditLog(t.db, () => new Date("2026-11-29T07:00:00Z"));
    if (history) await past.append(Array.from({ length: history }, (_, i) => ({ ...base, action: "pin.verify", actorType: "bank_user" as const, actorId: `apikey:${a.keys[0]}`, subject: a.customers[i % 3]!.id })));
    const log = new SqlAuditLog(t.db, () => new Date("2026-11-29T08:00:00Z"));
    await log.append(a.customers.flatMap((c) => [1, 2, 3].map(() => ({ ...base, action: "directory.customer.update", subject: c.id }))));
    await log.append(a.customers.map((c) => ({ ...base, action: "pin.verify", actorType: "bank_user" as const, actorId: `apikey:${a.keys[0]}`, subject: c.id })));
    // A busy bank's: by its keys (few actors, so the planner may take any key's entries for common) about its customers, and the ledger's.
    const busy = await addBank(t.db, `plan-b-${analyzed}-${history}`, 3);
    const others = new SqlAuditLog(t.db, () => new Date("2026-11-29T09:00:00Z"));
    for (const action of ["directory.customer.update", "pin.verify"]) {
      await others.append(Array.from({ length: 10_000 }, (_, i) => i % 2 === 0
        ? { ...base, action, actorType: "bank_user" as const, actorId: `apikey:${busy.keys[i % 4 === 0 ? 0 : 1]}`, subject: busy.customers[i % 3]!.id }
        : { ...base, action, subject: i % 3 === 0 ? `acct-${i}` : undefined }));
    }
    if (analyzed) await t.db.query("ANALYZE audit_log");
    let before: { chain: number; seq: bigint } | undefined;
    for (let n = 0; n < 3; n++) {
      const statements: { text: string; params: unknown[] }[] = [];
      const page = (await auditPage(recording(t.db, statements), a.id, { limit: 5, before }))!;
      expect(page.length, `page ${n}`).toBe(n < 2 || history ? 5 : 2);
      const { text, params } = statements[statements.length - 1]!;
      const plan = await t.db.query<{ "QUERY PLAN": [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      // The page's 5 from each of the bank's ways (itself, 2 keys, 3 customers and their numbers) and the 5 rows: not 10 000.
      expect(auditRowsRead(plan.rows[0]!["QUERY PLAN"][0].Plan), `page ${n}`).toBeLessThan(60);
      before = { chain: page[page.length - 1]!.chain ?? 1, seq: page[page.length - 1]!.seq };
    }
  });
});

/** Work a plan did on audit_log and customers, from EXPLAIN ANALYZE's JSON: each loop of a scan (a probe) and each row it read. */
function probesAndRows(node: Record<string, unknown>): number {
  const loops = Number(node["Actual Loops"] ?? 1);
  const scans = node["Relation Name"] === "audit_log" || node["Relation Name"] === "customers" || node["Index Name"] !== undefined;
  const own = scans ? loops * (1 + Number(node["Actual Rows"] ?? 0) + Number(node["Rows Removed by Filter"] ?? 0)) : 0;
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + probesAndRows(child), 0);
}

describe("a page of a bank with many customers costs what the page reads, not a probe per customer", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  /** `n` customers of `bank` at once (generate_series), numbers from this file's second range, +25471313xxxx. */
  async function manyCustomers(bank: Bank, n: number, from: number): Promise<void> {
    await asSuperuser(t.db, `INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id)
      SELECT gen_random_uuid(), $1::uuid, '+25471313' || lpad(i::text, 4, '0'), 'x', gen_random_uuid() FROM generate_series($2::int, $3::int) i`, [bank.id, from, from + n - 1]);
    const rows = await t.db.query<{ id: string; msisdn: string }>(`SELECT id::text, msisdn FROM customers WHERE institution_id = $1::uuid ORDER BY msisdn`, [bank.id]);
    bank.customers = rows.rows;
  }

  it("3 000 customers: fewer than 600 probes and rows a page, the old query's pages", async () => {
    const big = await addBank(t.db, "many-a", 0);
    const other = await addBank(t.db, "many-b", 0);
    await manyCustomers(big, 3_000, 1);
    await manyCustomers(other, 1_000, 5_001);
    const random = seeded(7);
    const log = new SqlAuditLog(t.db, () => new Date("2026-11-29T09:00:00Z"));
    for (let batch = 0; batch < 6; batch++) await log.append(mixedEntries([big, other], 100, random));
    await t.db.query("ANALYZE");
    let last: AuditRecord | undefined;
    for (let n = 0; n < 3; n++) {
      const statements: { text: string; params: unknown[] }[] = [];
      const before = last ? { chain: last.chain ?? 1, seq: last.seq } : undefined;
      const page = (await auditPage(recording(t.db, statements), big.id, { limit: 20, before }))!;
      expect(page, `page ${n}`).toEqual(await pageByScan(t.db, big.id, 20, undefined, last));
      expect(page).toHaveLength(20);
      let work = 0;
      for (const { text, params } of statements) {
        // The window's size: an index scan of at most 10 000 of the bank's customers, once a page (not probes).
        if (text.includes("SELECT count(*)")) continue;
        const plan = await t.db.query<{ "QUERY PLAN": [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
        work += probesAndRows(plan.rows[0]!["QUERY PLAN"][0].Plan);
      }
      // About 80 for the entries walked and their probes; a probe per customer and number was 20 000 and more.
      expect(work, `page ${n}`).toBeLessThan(600);
      last = page[page.length - 1];
    }
  });
});

describe.each(STORE_KINDS)("a bank's page while entries are appended (%s)", (kind: StoreKind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind, { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  // The window and where it ends were two statements: an entry appended between them moved the end
  // one entry up, and the lookups after it listed the window's last entry again (1:6,1:5,1:4,1:4,1:3).
  it("lists each entry once when an entry is appended between its statements", async () => {
    const bank = await addBank(t.db, `append-${kind}`, 0);
    const log = new SqlAuditLog(t.db, () => new Date("2026-11-29T10:00:00Z"));
    for (let i = 0; i < 6; i++) await log.append([{ ...base, action: "limits.policy.set", subject: bank.id }]);
    const later = new SqlAuditLog(t.db, () => new Date("2026-11-29T11:00:00Z"));
    let appended = false;
    // The first statement of a page without a cursor is its window's; another bank's entry lands right after it.
    const appending: SqlExecutor = {
      async query<R>(text: string, params?: unknown[], name?: string) {
        const result = await t.db.query<R>(text, params, name);
        if (!appended) {
          appended = true;
          await later.append([{ ...base, action: "limits.policy.set", subject: `acct-${randomUUID()}` }]);
        }
        return result;
      },
      exec: (script) => t.db.exec(script),
    };
    const page = (await auditPage(appending, bank.id, { limit: 5 }, 3))!;
    expect(appended).toBe(true);
    expect(page.map((r) => `${r.chain}:${r.seq}`)).toEqual(["1:6", "1:5", "1:4", "1:3", "1:2"]);
  });
});
