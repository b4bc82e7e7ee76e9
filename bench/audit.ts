/**
 * Audit log append and verify on PostgreSQL (issue 3's figure: entries a second in batches of
 * 1,000, one transaction each). Prints one JSON object as its last line:
 *   entries_per_s          SqlAuditLog.append: validated, redacted, hash-chained under the head lock
 *   baseline_entries_per_s the same rows inserted unchained (one unnest INSERT per batch, no head,
 *                          no hashing) into a copy of the table without its triggers: what the chain costs
 *   verify_entries_per_s   verifyAuditChain over everything appended
 * Environment: AUDIT_BATCHES (20), AUDIT_BATCH (1000), DATABASE_URL. A fresh schema per run, dropped after.
 */
import { randomBytes } from "node:crypto";
import type { AuditEntryInput } from "../src/core/audit/audit-entry.js";
import { SqlAuditLog, verifyAuditChain } from "../src/infra/db/audit-store.js";
import { migrate } from "../src/infra/db/migrate.js";
import { PostgresDb } from "../src/infra/db/sql.js";
import { median } from "./stats.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgresql://postgres@localhost/test?host=/var/run/postgresql";
const BATCHES = Number(process.env.AUDIT_BATCHES ?? 20);
const BATCH = Number(process.env.AUDIT_BATCH ?? 1_000);
const ROUNDS = 3;

const entry = (i: number): AuditEntryInput => ({
  actorType: "customer",
  actorId: `c-${i % 7}`,
  action: "transfer.submit",
  channel: "ussd",
  outcome: "ok",
  subject: `acct-${i}`,
  payload: { transferId: `0193a5b0-0000-7000-8000-${String(i).padStart(12, "0")}`, amountMinor: 1_250n, code: "p2p" },
});

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let b = 0; b < BATCHES; b++) await run();
  return Math.round((BATCHES * BATCH) / ((performance.now() - started) / 1_000));
}

async function main() {
  const schema = `bench_audit_${randomBytes(4).toString("hex")}`;
  const admin = new PostgresDb({ connectionString: DATABASE_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const db = new PostgresDb({ connectionString: DATABASE_URL, schema, maxConnections: 2 });
  try {
    await migrate(db);
    await db.exec("CREATE TABLE audit_plain (LIKE audit_log INCLUDING DEFAULTS)");
    const log = new SqlAuditLog(db, () => new Date());
    const batch = Array.from({ length: BATCH }, (_, i) => entry(i));
    const rows = batch.map((e) => [e.actorType, e.actorId, e.action, e.channel, e.outcome, e.subject, JSON.stringify({ ...e.payload, amountMinor: "1250" })]);
    let seq = 0;
    const plain = async () => {
      const column = (k: number) => rows.map((r) => r[k]);
      const seqs = rows.map(() => String(++seq));
      await db.query(
        `INSERT INTO audit_plain (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
         SELECT s::bigint, now(), a, b, c, d, e, f, g::jsonb, repeat('0', 64), repeat('0', 64)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS r(s, a, b, c, d, e, f, g)`,
        [seqs, column(0), column(1), column(2), column(3), column(4), column(5), column(6)],
      );
    };
    await log.append(batch); // warm-up, both
    await plain();
    const chained: number[] = [];
    const unchained: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      chained.push(await timed(() => log.append(batch)));
      unchained.push(await timed(plain));
    }
    const started = performance.now();
    const verified = await verifyAuditChain(db);
    const verifyPerSecond = Math.round(verified.checked / ((performance.now() - started) / 1_000));
    if (!verified.ok) throw new Error("the chain did not verify");
    const perS = median(chained);
    const basePerS = median(unchained);
    console.log(
      JSON.stringify({
        bench: "audit",
        batch: BATCH,
        batches_per_round: BATCHES,
        rounds: ROUNDS,
        entries_per_s: perS,
        entries_per_s_rounds: chained,
        baseline_entries_per_s: basePerS,
        baseline_rounds: unchained,
        chained_vs_baseline_pct: Math.round((1000 * perS) / basePerS) / 10,
        verify_entries_per_s: verifyPerSecond,
        verified_entries: verified.checked,
      }),
    );
  } finally {
    await db.close();
    await admin.exec(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
