// What the audit anchor tests share: entries for both chains, a superuser's tampering (the audit
// triggers off for a transaction), a database of one's own, and the CLI run against a test schema.
import { spawn } from "node:child_process";
import path from "node:path";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import { SqlAuditLog } from "../../src/infra/db/audit-store.js";
import type { SqlDb } from "../../src/infra/db/sql.js";
import { openTestDb, TEST_DATABASE_URL, type StoreKind, type TestDb } from "./db.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const T0 = new Date("2026-11-29T09:00:00.000Z");

export const entry = (i: number): AuditEntryInput => ({
  actorType: "customer", actorId: `c-${i}`, action: "transfer.submit", channel: "ussd", outcome: "ok", subject: `acct-${i}`, payload: { i },
});
export const pinEntry = (i: number): AuditEntryInput => ({ ...entry(i), action: "pin.verify", subject: `cust-${i}` });
export const entries = (from: number, n: number, make = entry) => Array.from({ length: n }, (_, k) => make(from + k));

/** What a superuser can do: switch the audit triggers off for a transaction. */
export async function asSuperuser(db: SqlDb, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica");
    await tx.query(sql, params);
  });
}

/** Cuts a chain's entries after `keep` and moves its head back onto entry `keep`: the chain left is valid. */
export async function cutTail(db: SqlDb, chain: number, keep: number): Promise<void> {
  await asSuperuser(db, "DELETE FROM audit_log WHERE chain = $1 AND seq > $2", [chain, keep]);
  await asSuperuser(db, "UPDATE audit_head SET last_seq = $2, last_hash = (SELECT hash FROM audit_log WHERE chain = $1 AND seq = $2) WHERE id = $1", [chain, keep]);
}

/** Alters an entry's payload behind the trigger's back, its hash left as it was (as audit-log.test.ts's tamper cases do). */
export async function alterEntry(db: SqlDb, chain: number, seq: number): Promise<void> {
  await asSuperuser(db, `UPDATE audit_log SET payload = '{"i": 0, "note": "altered"}' WHERE chain = $1 AND seq = $2`, [chain, seq]);
}

export async function onOwnDb(run: (db: SqlDb, t: TestDb) => Promise<void>, kind: StoreKind = "postgres"): Promise<void> {
  const own = await openTestDb(kind, { maxConnections: 2 });
  try {
    await run(own.db, own);
  } finally {
    await own.cleanup();
  }
}

/** A fresh pair of chains: 10 entries on chain 1, 4 PIN attempts on chain 2. */
export async function twoChains(db: SqlDb): Promise<SqlAuditLog> {
  const log = new SqlAuditLog(db, () => T0);
  await log.append(entries(1, 10));
  await log.append(entries(1, 4, pinEntry));
  return log;
}

/**
 * Runs `tsx src/cli.ts …args` against a test schema, with `env` added. After `killAfterMs` (for a
 * command that would keep running, `start`) the child is killed and its code is null.
 */
export function cli(schema: string, args: string[], more: { env?: Record<string, string>; killAfterMs?: number } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: "silent", ...more.env },
    });
    const timer = more.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), more.killAfterMs);
    child.once("exit", () => clearTimeout(timer));
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}
