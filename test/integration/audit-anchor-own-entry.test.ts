// A bank's anchor names its own newest entry on each chain. Found by walking the chain backwards
// from the head until an entry the bank sees, its cost grew with every entry other banks (and the
// ledger) wrote since: a quiet bank's anchor, or one on a chain it has no entry on, read the whole
// chain. It is looked up in the indexes instead, by each thing that makes an entry the bank's.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditChain, AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import { visibleTo } from "../../src/infra/db/admin-queries.js";
import { newestOwnEntry, newestOwnStatement, OWN_ENTRY_WINDOW } from "../../src/infra/db/audit-anchor.js";
import { SqlAuditLog } from "../../src/infra/db/audit-store.js";
import type { SqlDb } from "../../src/infra/db/sql.js";
import { asSuperuser } from "../helpers/audit-anchor-kit.js";
import { openTestDb, STORE_KINDS, type StoreKind, type TestDb } from "../helpers/db.js";

interface Bank {
  id: string;
  keys: string[];
  customers: { id: string; msisdn: string }[];
}

let phone = 0;
/** Test numbers from this file's range, +25471290xxxx. */
const nextPhone = () => `+25471290${String(++phone).padStart(4, "0")}`;

async function addBank(db: SqlDb, code: string, customers: number): Promise<Bank> {
  const bank: Bank = { id: randomUUID(), keys: [randomUUID(), randomUUID()], customers: [] };
  for (let i = 0; i < customers; i++) bank.customers.push({ id: randomUUID(), msisdn: nextPhone() });
  // Rows only the lookup reads: their wallets and key hashes do not matter here, so no foreign key is checked.
  await asSuperuser(db, `INSERT INTO institutions (id, code, name, currency) VALUES ($1, $2, $2, 'KES')`, [bank.id, code]);
  for (const c of bank.customers) {
    await asSuperuser(db, `INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id) VALUES ($1, $2, $3, 'x', $4)`, [c.id, bank.id, c.msisdn, randomUUID()]);
  }
  for (const k of bank.keys) {
    await asSuperuser(db, `INSERT INTO api_keys (id, institution_id, role, name, key_prefix, key_hash) VALUES ($1, $2, 'admin', 'k', 'p', $3)`, [k, bank.id, k.replaceAll("-", "").padEnd(64, "0")]);
  }
  return bank;
}

const on = (chain: AuditChain): Pick<AuditEntryInput, "action"> => ({ action: chain === 1 ? "directory.customer.update" : "pin.verify" });
const base = { actorType: "system", actorId: "ledger", channel: "system", outcome: "ok", payload: {} } as const;

/** Each way an entry becomes a bank's (visibleTo), and entries of no bank's, on both chains, in a random order. */
function mixedEntries(a: Bank, b: Bank, n: number, random: () => number): AuditEntryInput[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const kinds: ((chain: AuditChain) => AuditEntryInput)[] = [
    (chain) => ({ ...base, ...on(chain), subject: undefined }),
    (chain) => ({ ...base, ...on(chain), subject: pick([a, b]).id }),
    (chain) => ({ ...base, ...on(chain), actorType: "bank_user", actorId: `apikey:${pick([...a.keys, ...b.keys])}`, subject: undefined }),
    (chain) => ({ ...base, ...on(chain), subject: pick([...a.customers, ...b.customers]).id }),
    // A report on a number by either bank's key, or by no key: seen by the number's bank unless another bank's key wrote it.
    (chain) => ({ ...base, ...on(chain), actorType: "bank_user", actorId: `apikey:${pick([...a.keys, ...b.keys])}`, subject: pick([...a.customers, ...b.customers]).msisdn }),
    (chain) => ({ ...base, ...on(chain), actorType: "system", actorId: "sim-swap-feed", subject: pick([...a.customers, ...b.customers]).msisdn }),
  ];
  return Array.from({ length: n }, () => pick(kinds)(random() < 0.5 ? 1 : 2));
}

/** The definition: the newest entry the bank sees in its audit query, found by a walk backwards. */
const BY_WALK = `SELECT a.seq::text AS seq, a.hash FROM audit_log a
  WHERE a.chain = $2::smallint AND a.seq <= $3::bigint AND ${visibleTo("a")} ORDER BY a.seq DESC LIMIT 1`;

function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe.each(STORE_KINDS)("a bank's newest own entry (%s)", (kind: StoreKind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind, { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  it("is the entry its audit query's newest, for every way an entry is the bank's, below any bound", async () => {
    const a = await addBank(t.db, `own-a-${kind}`, 4);
    const b = await addBank(t.db, `own-b-${kind}`, 4);
    const random = seeded(7);
    await new SqlAuditLog(t.db).append(mixedEntries(a, b, 400, random));
    for (const bank of [a, b]) {
      for (const chain of [1, 2] as const) {
        for (const upTo of [1n, 7n, 50n, 123n, 199n, 400n]) {
          const walked = (await t.db.query<{ seq: string; hash: string }>(BY_WALK, [bank.id, chain, upTo.toString()])).rows[0];
          // Found among the newest entries, or by index below them (a window of 0: by index only).
          for (const window of [OWN_ENTRY_WINDOW, 3n, 0n]) {
            const found = await newestOwnEntry(t.db, bank.id, chain, upTo, window);
            expect(found, `chain ${chain} up to ${upTo}, window ${window}`).toEqual(walked ? { chain, seq: BigInt(walked.seq), hash: walked.hash } : null);
          }
        }
      }
    }
    // A bank with no entry at all, and one unknown.
    const quiet = await addBank(t.db, `own-q-${kind}`, 2);
    expect(await newestOwnEntry(t.db, quiet.id, 1, 1_000n)).toBeNull();
    expect(await newestOwnEntry(t.db, randomUUID(), 2, 1_000n)).toBeNull();
  });
});

/** Rows the plan read from audit_log (returned plus filtered out), from EXPLAIN ANALYZE's JSON. */
function auditRowsRead(node: Record<string, unknown>): number {
  const loops = Number(node["Actual Loops"] ?? 1);
  const own = node["Relation Name"] === "audit_log" ? (Number(node["Actual Rows"] ?? 0) + Number(node["Rows Removed by Filter"] ?? 0)) * loops : 0;
  const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + auditRowsRead(child), 0);
}

describe("the lookup reads the bank's entries, not every entry written after them", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 2 });
  });
  afterAll(() => t?.cleanup());

  it.each([false, true])("with 10 000 other entries after the bank's on each chain (table analyzed: %s)", async (analyzed) => {
    const a = await addBank(t.db, `plan-a-${analyzed}`, 3);
    const log = new SqlAuditLog(t.db);
    await log.append(a.customers.map((c) => ({ ...base, ...on(1), subject: c.id })));
    await log.append(a.customers.map((c) => ({ ...base, ...on(2), subject: c.id })));
    const others = (chain: AuditChain) => Array.from({ length: 10_000 }, (_, i) => ({ ...base, ...on(chain), subject: i % 3 === 0 ? `acct-${i}` : undefined }));
    await log.append(others(1));
    await log.append(others(2));
    if (analyzed) await t.db.query("ANALYZE audit_log");
    for (const chain of [1, 2] as const) {
      const head = (await t.db.query<{ seq: string }>("SELECT last_seq::text AS seq FROM audit_head WHERE id = $1", [chain])).rows[0]!.seq;
      const { text, params } = await newestOwnStatement(t.db, a.id, chain, BigInt(head));
      const plan = await t.db.query<{ "QUERY PLAN": [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      const read = auditRowsRead(plan.rows[0]!["QUERY PLAN"][0].Plan);
      expect(read).toBeLessThan(50);
      expect((await newestOwnEntry(t.db, a.id, chain, BigInt(head)))?.seq).toBeGreaterThan(0n);
    }
  });
});
