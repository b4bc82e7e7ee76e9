/**
 * The machine's ceiling for bench:ledger's workload: a bare batched ledger with nothing but
 * balances and transfer rows (no idempotency, flags, two-phase, limits, audit or outbox), driven
 * the same way (256 closed-loop submitters, uniform random pairs among 10,000 accounts, two
 * batches in flight that never share an account). Prints one JSON object as its last line.
 *
 *   npm run bench:ledger-bare
 *
 * Shapes of the write, alternated (BENCH_HOT=1: half of all transfers credit one account):
 *   locked    BEGIN, SELECT … FOR UPDATE in id order, funds checked in Node, one statement for
 *             the transfer rows and the balances, COMMIT (the shape of src/infra/db/ledger-store)
 *   oneshot   one autocommit statement: balances moved by their summed deltas with the funds
 *             check in the UPDATE, and the transfer rows (no per-transfer decision at all)
 *   decided   one autocommit call of a plpgsql function that decides each transfer in the
 *             database, on the real schema with its audit chain (ledger-bare-decide.ts)
 *   writer    the real ledger (Ledger, BatchingWriter, SqlLedgerStore) on the real schema
 * CPU per transfer is this process's plus that of the PostgreSQL backends serving it.
 * Use it beside bench:ledger (run them back to back) to say how much of the machine the real
 * ledger leaves on the table; it is not a design to ship.
 *
 * What it showed (2026-11-26, 2 shared cores, uniform): decided ~20k/s at ~77 µs per transfer
 * (Node 12 + PostgreSQL 64) against the writer's ~13k/s at ~107 µs (Node 42 + PostgreSQL 64):
 * deciding in the database saves Node's work but not PostgreSQL's, whose share alone is near the
 * 66 µs that 30,000/s on two cores allows. The plpgsql loop itself costs ~2 µs per transfer; the
 * rest is storing the rows (transfer insert with its three indexes, two account row versions,
 * existence probes, WAL), which no placement of the decision avoids.
 *
 * Later the same day, with the real ledger's cached path (one round trip for batches whose accounts
 * the store last wrote): oneshot 27–35k/s at ~50–59 µs per transfer (Node ~10, PostgreSQL ~40–48)
 * and locked 18–24k/s, while `npm run bench:ledger` gave the real ledger a median of ~23k/s at
 * ~66 µs (Node ~25, PostgreSQL ~41): its PostgreSQL share is now about the oneshot shape's, and the
 * difference is the Node side (decision, audit digests, encoding, the writer's bookkeeping).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { uuidv7 } from "../src/core/ledger/ids.js";
import { Ledger } from "../src/core/ledger/ledger.js";
import { AccountFlags } from "../src/core/ledger/types.js";
import { verifyAuditChain } from "../src/infra/db/audit-store.js";
import { verifyLedgerAgainstAudit } from "../src/infra/db/ledger-audit-verify.js";
import { verifyLedger } from "../src/infra/db/ledger-verify.js";
import { migrate } from "../src/infra/db/migrate.js";
import { SqlLedgerStore } from "../src/infra/db/ledger-store.js";
import { isRetryableSqlError, PostgresDb } from "../src/infra/db/sql.js";
import { DECIDE_FUNCTION, writeDecided } from "./ledger-bare-decide.js";
import { median } from "./stats.js";

const DATABASE_URL = process.env.DATABASE_URL ?? `postgresql://postgres@/test?host=${process.env.PGHOST ?? "/var/run/postgresql"}`;
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const SUBMITTERS = Number(process.env.BENCH_SUBMITTERS ?? 256);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IN_FLIGHT = 2;
const HOT = process.env.BENCH_HOT === "1";
const SCHEMA = `bench_bare_${process.pid}`;
const REAL_SCHEMA = `bench_bare_real_${process.pid}`;
const SHAPES = (process.env.BENCH_SHAPES ?? "locked,oneshot,decided,writer").split(",") as Shape[];

type Shape = "locked" | "oneshot" | "decided" | "writer";
interface Transfer { id: string; debit: string; credit: string; amount: bigint }
interface Waiting { t: Transfer; done: () => void; at: number }

// Idle connections are never closed: a closed backend's CPU would drop out of the measurement.
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, idleTimeoutMillis: 0 });
const realDb = new PostgresDb({ connectionString: DATABASE_URL, schema: REAL_SCHEMA, maxConnections: 4 });

// The PostgreSQL backends serving this bench, for their CPU (as bench:ledger measures it).
const backends = new Set<number>();
const track = (client: unknown) => backends.add((client as { processID: number }).processID);
pool.on("connect", track);
realDb.pool.on("connect", track);
realDb.pool.options.idleTimeoutMillis = 0;
realDb.pipelinePool.on("connect", track);
realDb.pipelinePool.options.idleTimeoutMillis = 0;

/** CPU ticks of each backend now; a run counts only backends alive at its end (none should close). */
function backendTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of backends) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      backends.delete(pid);
    }
  }
  return ticks;
}

function backendCpuUsSince(before: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of backendTicks()) ticks += t - (before.get(pid) ?? 0);
  return ticks * 10_000; // 100 clock ticks a second
}

/** The real schema (migrations), funded wallets, and the decided shape's function. */
async function setUpReal(): Promise<{ ids: string[]; ledger: Ledger }> {
  await realDb.exec(`CREATE SCHEMA ${REAL_SCHEMA}`);
  await migrate(realDb);
  await realDb.exec(DECIDE_FUNCTION);
  const ledger = new Ledger(new SqlLedgerStore(realDb), { isRetryable: isRetryableSqlError, maxBatchesInFlight: IN_FLIGHT });
  const institutionId = uuidv7();
  await realDb.query("INSERT INTO institutions (id, code, name, currency) VALUES ($1, 'bench', 'Bench Bank', 'KES')", [institutionId]);
  const [bank] = await ledger.createAccounts([{ institutionId, currency: "KES", kind: "bank" }]);
  const wallets = await ledger.createAccounts(
    Array.from({ length: ACCOUNTS }, () => ({ institutionId, currency: "KES", kind: "customer_wallet" as const, flags: AccountFlags.debitsMustNotExceedCredits })),
  );
  const funded = await Promise.all(
    wallets.map((w) => ledger.transfer({ id: uuidv7(), debitAccountId: bank!.id, creditAccountId: w.id, amountMinor: 1_000_000_000_000n, code: "funding" })),
  );
  if (funded.some((r) => r.result !== "ok")) throw new Error("funding failed");
  return { ids: wallets.map((w) => w.id), ledger };
}

async function setUp(): Promise<string[]> {
  await pool.query(`CREATE SCHEMA ${SCHEMA};
    CREATE TABLE ${SCHEMA}.accounts (id uuid PRIMARY KEY, debits bigint NOT NULL DEFAULT 0, credits bigint NOT NULL DEFAULT 0) WITH (fillfactor = 50);
    CREATE TABLE ${SCHEMA}.transfers (seq bigserial, id uuid PRIMARY KEY, debit uuid NOT NULL, credit uuid NOT NULL, amount bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX ON ${SCHEMA}.transfers (debit, seq);
    CREATE INDEX ON ${SCHEMA}.transfers (credit, seq);`);
  const ids = Array.from({ length: ACCOUNTS }, () => randomUUID());
  await pool.query(`INSERT INTO ${SCHEMA}.accounts (id, credits) SELECT unnest($1::uuid[]), 1000000000000`, [ids]);
  return ids;
}

const INSERT = `INSERT INTO ${SCHEMA}.transfers (id, debit, credit, amount) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[])`;

async function writeLocked(batch: Transfer[], accounts: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const locked = await client.query<{ id: string; debits: string; credits: string }>({
      name: "bare_lock", text: `SELECT id, debits, credits FROM ${SCHEMA}.accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, values: [accounts],
    });
    const balances = new Map(locked.rows.map((r) => [r.id, { d: BigInt(r.debits), c: BigInt(r.credits) }]));
    const accepted = batch.filter((t) => {
      const from = balances.get(t.debit)!;
      if (from.c - from.d < t.amount) return false;
      from.d += t.amount;
      balances.get(t.credit)!.c += t.amount;
      return true;
    });
    await client.query({
      name: "bare_write",
      text: `WITH i AS (${INSERT} RETURNING 1), u AS (UPDATE ${SCHEMA}.accounts a SET debits = v.d, credits = v.c
        FROM unnest($5::uuid[], $6::bigint[], $7::bigint[]) v(id, d, c) WHERE a.id = v.id RETURNING 1) SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM u)`,
      values: [...columns(accepted), [...balances.keys()], [...balances.values()].map((b) => b.d.toString()), [...balances.values()].map((b) => b.c.toString())],
    });
    await client.query("COMMIT");
  } finally {
    client.release();
  }
}

async function writeOneshot(batch: Transfer[]): Promise<void> {
  const delta = new Map<string, { d: bigint; c: bigint }>();
  for (const t of batch) {
    const from = delta.get(t.debit) ?? { d: 0n, c: 0n };
    from.d += t.amount;
    delta.set(t.debit, from);
    const to = delta.get(t.credit) ?? { d: 0n, c: 0n };
    to.c += t.amount;
    delta.set(t.credit, to);
  }
  const result = await pool.query<{ u: string }>({
    name: "bare_oneshot",
    text: `WITH u AS (UPDATE ${SCHEMA}.accounts a SET debits = a.debits + v.d, credits = a.credits + v.c
      FROM unnest($5::uuid[], $6::bigint[], $7::bigint[]) v(id, d, c) WHERE a.id = v.id AND a.credits + v.c - a.debits - v.d >= 0 RETURNING 1),
      i AS (${INSERT} RETURNING 1) SELECT (SELECT count(*) FROM u) AS u`,
    values: [...columns(batch), [...delta.keys()], [...delta.values()].map((v) => v.d.toString()), [...delta.values()].map((v) => v.c.toString())],
  });
  if (Number(result.rows[0]!.u) !== delta.size) throw new Error("an account would have gone negative: the prototype has no per-transfer path");
}

function columns(ts: Transfer[]): unknown[] {
  return [ts.map((t) => t.id), ts.map((t) => t.debit), ts.map((t) => t.credit), ts.map((t) => t.amount.toString())];
}

/** Batches of whatever is queued, two in flight that never share an account (as BatchingWriter does). */
class Writer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private readonly busy = new Set<string>();

  constructor(private readonly shape: Shape) {}

  submit(t: Transfer): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ t, done, at: performance.now() });
      this.pump();
    });
  }

  latencies: number[] = [];

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const batch: Waiting[] = [];
      const rest: Waiting[] = [];
      const keys = new Set<string>();
      for (const w of this.queue) {
        if (this.busy.has(w.t.debit) || this.busy.has(w.t.credit)) rest.push(w);
        else {
          batch.push(w);
          keys.add(w.t.debit).add(w.t.credit);
        }
      }
      this.queue = rest;
      if (batch.length === 0) return;
      for (const k of keys) this.busy.add(k);
      this.inFlight++;
      const transfers = batch.map((w) => w.t);
      const write =
        this.shape === "locked" ? writeLocked(transfers, [...keys].sort())
        : this.shape === "oneshot" ? writeOneshot(transfers)
        : writeDecided(realDb.pool, transfers).then((codes) => {
            const refused = codes.filter((c) => c !== "").length;
            if (refused > 0) throw new Error(`decided: ${refused} refused, e.g. ${codes.find((c) => c !== "")}`);
          });
      // A failed batch (oneshot has no per-transfer path) stops the bench rather than leaving its
      // accounts busy and its submitters waiting for ever.
      void write.then(
        () => {
          for (const k of keys) this.busy.delete(k);
          this.inFlight--;
          const now = performance.now();
          for (const w of batch) {
            this.latencies.push(now - w.at);
            w.done();
          }
          this.pump();
        },
        (error: unknown) => {
          console.error(`[bench:ledger-bare] ${this.shape} batch failed: ${String(error)}`);
          process.exit(1);
        },
      );
    }
  }
}

interface RunResult { perS: number; p99: number; nodeCpuUs: number; dbCpuUs: number }

async function run(shape: Shape, ids: string[], ledger: Ledger): Promise<RunResult> {
  const writer = new Writer(shape);
  const latencies: number[] = [];
  const submit = async (t: Transfer) => {
    if (shape !== "writer") return writer.submit(t);
    const at = performance.now();
    const r = await ledger.transfer({ id: t.id, debitAccountId: t.debit, creditAccountId: t.credit, amountMinor: t.amount, code: "p2p" });
    if (r.result !== "ok") throw new Error(`writer: ${r.result}`);
    latencies.push(performance.now() - at);
  };
  const cpu = process.cpuUsage();
  const db0 = backendTicks();
  const started = performance.now();
  let stop = false;
  let done = 0;
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      while (!stop) {
        const debit = ids[Math.floor(Math.random() * ids.length)]!;
        let credit = HOT && Math.random() < 0.5 ? ids[0]! : debit;
        while (credit === debit) credit = ids[Math.floor(Math.random() * ids.length)]!;
        await submit({ id: shape === "writer" || shape === "decided" ? uuidv7() : randomUUID(), debit, credit, amount: 100n });
        done++;
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const dbUs = backendCpuUsSince(db0);
  const sorted = (shape === "writer" ? latencies : writer.latencies).sort((a, b) => a - b);
  return { perS: done / seconds, p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0, nodeCpuUs: (used.user + used.system) / done, dbCpuUs: dbUs / done };
}


let real: Awaited<ReturnType<typeof setUpReal>> | undefined;
try {
  const ids = await setUp();
  real = await setUpReal();
  const idsOf = (shape: Shape) => (shape === "locked" || shape === "oneshot" ? ids : real!.ids);
  for (const shape of SHAPES) await run(shape, idsOf(shape), real.ledger); // warm-up: JIT, plans, caches
  const runs = new Map<Shape, RunResult[]>(SHAPES.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const shape of SHAPES) {
      const r = await run(shape, idsOf(shape), real.ledger);
      runs.get(shape)!.push(r);
      console.error(
        `[bench:ledger-bare] ${shape} round ${round + 1}: ${Math.round(r.perS)}/s, p99 ${r.p99.toFixed(1)} ms, cpu/transfer node ${r.nodeCpuUs.toFixed(1)} + db ${r.dbCpuUs.toFixed(1)} µs`,
      );
    }
  }
  const summary = (shape: Shape) => {
    const rs = runs.get(shape)!;
    const node = median(rs.map((r) => r.nodeCpuUs));
    const db = median(rs.map((r) => r.dbCpuUs));
    return {
      per_s: Math.round(median(rs.map((r) => r.perS))),
      p99_ms: Number(median(rs.map((r) => r.p99)).toFixed(1)),
      cpu_us_per_transfer: { node: Number(node.toFixed(1)), db: Number(db.toFixed(1)), total: Number((node + db).toFixed(1)) },
    };
  };
  await real.ledger.close();
  const report = await verifyLedger(realDb);
  if (!report.ok) console.error(report.violations.slice(0, 10).join("\n"));
  // The decided shape chains its own audit entries: the chain and the digests must check.
  const chain = await verifyAuditChain(realDb);
  const bound = await verifyLedgerAgainstAudit(realDb);
  if (!bound.ok) console.error(bound.problems.slice(0, 5).join("\n"));
  const auditOk = chain.ok && bound.ok;
  console.log(JSON.stringify({ bench: "ledger-bare", accounts: ACCOUNTS, submitters: SUBMITTERS, rounds: ROUNDS, hot: HOT, invariants_ok: report.ok, audit_ok: auditOk, ...Object.fromEntries(SHAPES.map((s) => [s, summary(s)])) }));
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${REAL_SCHEMA} CASCADE`);
  await pool.end();
  await realDb.close();
}
