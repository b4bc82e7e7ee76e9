/**
 * Ledger throughput benchmark. Prints one JSON object as its last line.
 *
 *   npm run bench:ledger      (DATABASE_URL defaults to the local test database, over its Unix socket)
 *
 * Workloads, each closed-loop: 256 submitters, each waiting for its result before the next.
 *   uniform  random pairs among 10,000 wallets
 *   hot      the same, but half of all transfers credit one merchant account
 *   baseline the uniform workload as one interactive transaction per transfer (raw SQL, pool of 32)
 * The uniform run alternates with the same workload on a ledger that does not chain audit entries,
 * which gives the cost of auditing (audit_overhead_pct).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { uuidv7 } from "../src/core/ledger/ids.js";
import { Ledger } from "../src/core/ledger/ledger.js";
import { AccountFlags, type Account } from "../src/core/ledger/types.js";
import { SqlLedgerStore } from "../src/infra/db/ledger-store.js";
import { verifyLedger } from "../src/infra/db/ledger-verify.js";
import { migrate } from "../src/infra/db/migrate.js";
import { isRetryableSqlError, PostgresDb } from "../src/infra/db/sql.js";

// PostgreSQL runs on the same machine, so the default connects over its Unix socket: loopback TCP
// costs the client ~25% of its throughput here (the kernel's TCP path runs inside each writev).
// PGHOST or DATABASE_URL point it elsewhere, e.g. postgresql://postgres@127.0.0.1:5432/test.
const DATABASE_URL = process.env.DATABASE_URL ?? `postgresql://postgres@/test?host=${process.env.PGHOST ?? "/var/run/postgresql"}`;
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const SUBMITTERS = Number(process.env.BENCH_SUBMITTERS ?? 256);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 5);
const FUNDING_MINOR = 1_000_000_000n;
const IN_FLIGHT = Number(process.env.LEDGER_BATCHES_IN_FLIGHT ?? 2);
/** Where to write a CPU profile of this process during the audited uniform runs only (a .cpuprofile). */
const PROFILE = process.env.BENCH_CPU_PROFILE;

interface RunStats {
  done: number;
  ok: number;
  rejected: number;
  errors: number;
  latenciesMs: number[];
  seconds: number;
  nodeCpuUs: number;
  dbCpuUs: number;
}

const randomIndex = (n: number) => Math.floor(Math.random() * n);

// CPU per transfer, the figure that a shared machine does not distort much: this process's CPU
// plus that of the PostgreSQL backends serving the ledger's pool (their ids recorded at connect).
const CLOCK_TICKS_PER_S = 100;
const ledgerBackends = new Set<number>();

function backendCpuUs(): number {
  let ticks = 0;
  for (const pid of ledgerBackends) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      ledgerBackends.delete(pid); // gone (idle timeout); its CPU so far is lost, so keep clients busy
    }
  }
  return (ticks * 1e6) / CLOCK_TICKS_PER_S;
}

interface CpuSample {
  node: number;
  db: number;
}

function cpuNow(): CpuSample {
  const u = process.cpuUsage();
  return { node: u.user + u.system, db: backendCpuUs() };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs SUBMITTERS closed loops for `seconds`, each calling `once` and timing it. */
async function closedLoop(seconds: number, once: () => Promise<"ok" | "rejected">): Promise<RunStats> {
  const stats: RunStats = { done: 0, ok: 0, rejected: 0, errors: 0, latenciesMs: [], seconds, nodeCpuUs: 0, dbCpuUs: 0 };
  const cpu0 = cpuNow();
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const outcome = await once();
          stats[outcome] += 1;
        } catch {
          stats.errors += 1;
        }
        stats.latenciesMs.push(performance.now() - t0);
        stats.done += 1;
      }
    }),
  );
  stats.seconds = (performance.now() - started) / 1000;
  const cpu1 = cpuNow();
  stats.nodeCpuUs = cpu1.node - cpu0.node;
  stats.dbCpuUs = cpu1.db - cpu0.db;
  stats.latenciesMs.sort((a, b) => a - b);
  return stats;
}

function merge(runs: RunStats[]): RunStats {
  const all: RunStats = { done: 0, ok: 0, rejected: 0, errors: 0, latenciesMs: [], seconds: 0, nodeCpuUs: 0, dbCpuUs: 0 };
  for (const r of runs) {
    all.done += r.done;
    all.ok += r.ok;
    all.rejected += r.rejected;
    all.errors += r.errors;
    all.seconds += r.seconds;
    all.nodeCpuUs += r.nodeCpuUs;
    all.dbCpuUs += r.dbCpuUs;
    for (const ms of r.latenciesMs) all.latenciesMs.push(ms);
  }
  all.latenciesMs.sort((a, b) => a - b);
  return all;
}

function pair(wallets: Account[]): [Account, Account] {
  const a = randomIndex(wallets.length);
  let b = randomIndex(wallets.length - 1);
  if (b >= a) b += 1;
  return [wallets[a]!, wallets[b]!];
}

async function setUp(db: PostgresDb, ledger: Ledger, code: string) {
  const institutionId = uuidv7();
  await db.query("INSERT INTO institutions (id, code, name, currency) VALUES ($1, $2, 'Bench Bank', 'KES')", [institutionId, code]);
  const [bank, merchant] = await ledger.createAccounts([
    { institutionId, currency: "KES", kind: "bank" },
    { institutionId, currency: "KES", kind: "merchant", flags: AccountFlags.debitsMustNotExceedCredits },
  ]);
  const wallets = await ledger.createAccounts(
    Array.from({ length: ACCOUNTS }, () => ({
      institutionId,
      currency: "KES",
      kind: "customer_wallet" as const,
      flags: AccountFlags.debitsMustNotExceedCredits,
    })),
  );
  const funded = await Promise.all(
    wallets.map((w) => ledger.transfer({ id: uuidv7(), debitAccountId: bank!.id, creditAccountId: w.id, amountMinor: FUNDING_MINOR, code: "funding" })),
  );
  if (funded.some((r) => r.result !== "ok")) throw new Error("funding failed");
  return { merchant: merchant!, wallets };
}

/** One transfer as its own interactive transaction: lock both rows in id order, check, write. */
async function baselineTransfer(db: PostgresDb, from: Account, to: Account, amount: bigint): Promise<"ok" | "rejected"> {
  return db.transaction(async (tx) => {
    const ids = [from.id, to.id].sort();
    const rows = await tx.query<{ id: string; dp: string; dpo: string; cpo: string }>(
      "SELECT id, debits_pending::text AS dp, debits_posted::text AS dpo, credits_posted::text AS cpo FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
      [ids],
    );
    const debit = rows.rows.find((r) => r.id === from.id)!;
    if (BigInt(debit.dp) + BigInt(debit.dpo) + amount > BigInt(debit.cpo)) return "rejected";
    await tx.query(
      `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, kind, code, created_at)
       VALUES ($1, $2, $3, $4, 'KES', 'single', 'p2p', now())`,
      [uuidv7(), from.id, to.id, amount.toString()],
    );
    await tx.query("UPDATE accounts SET debits_posted = debits_posted + $2 WHERE id = $1", [from.id, amount.toString()]);
    await tx.query("UPDATE accounts SET credits_posted = credits_posted + $2 WHERE id = $1", [to.id, amount.toString()]);
    return "ok";
  });
}

function summarize(stats: RunStats) {
  return {
    per_s: Math.round(stats.done / stats.seconds),
    p50_ms: Number(percentile(stats.latenciesMs, 50).toFixed(2)),
    p99_ms: Number(percentile(stats.latenciesMs, 99).toFixed(2)),
    transfers: stats.done,
    rejected: stats.rejected,
    errors: stats.errors,
    node_cpu_us: Number((stats.nodeCpuUs / Math.max(1, stats.done)).toFixed(1)),
    db_cpu_us: Number((stats.dbCpuUs / Math.max(1, stats.done)).toFixed(1)),
  };
}

async function main() {
  const schema = `bench_ledger_${randomBytes(4).toString("hex")}`;
  const admin = new PostgresDb({ connectionString: DATABASE_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const db = new PostgresDb({ connectionString: DATABASE_URL, schema, maxConnections: 8 });
  // The ledger's batches run on the pipelined pool; the set-up and the verification on the other.
  for (const pool of [db.pool, db.pipelinePool]) pool.on("connect", (client) => ledgerBackends.add((client as unknown as { processID: number }).processID));
  const baselineDb = new PostgresDb({ connectionString: DATABASE_URL, schema, maxConnections: 32 });
  try {
    await migrate(db);
    const writer = { isRetryable: isRetryableSqlError, maxBatchesInFlight: IN_FLIGHT };
    // BENCH_LEDGER_CACHE=0: every batch locks and reads its accounts first (the store's locked path only).
    const cache = process.env.BENCH_LEDGER_CACHE !== "0";
    const store = new SqlLedgerStore(db, { prepare: true, audit: true, cache });
    const ledger = new Ledger(store, writer);
    // The same ledger without the audit chain, to measure what auditing costs in the same run.
    const unaudited = new Ledger(new SqlLedgerStore(db, { prepare: true, audit: false, cache }), writer);
    const { merchant, wallets } = await setUp(db, ledger, "bench");
    // Wallets of its own for the unaudited ledger: each ledger keeps copies of the accounts it
    // writes (SqlLedgerStore's cache), which the other's writes would make stale at every switch.
    const { wallets: unauditedWallets } = await setUp(db, unaudited, "bench-unaudited");
    const transferOn = (l: Ledger) => async (from: Account, to: Account): Promise<"ok" | "rejected"> => {
      const amountMinor = BigInt(1 + randomIndex(10_000));
      const r = await l.transfer({ id: uuidv7(), debitAccountId: from.id, creditAccountId: to.id, amountMinor, code: "p2p" });
      if (r.result === "ok") return "ok";
      if (r.result === "exceeds_credits") return "rejected";
      throw new Error(r.result);
    };
    const transfer = transferOn(ledger);
    const transferUnaudited = transferOn(unaudited);
    // Warm-up: JIT, plans, and each store's copies of the accounts it writes (as in a running gateway).
    await closedLoop(2, () => transfer(...pair(wallets)));
    await closedLoop(2, () => transferUnaudited(...pair(unauditedWallets)));
    // Audited and unaudited runs alternate, so a noisy neighbour hurts both alike.
    const uniformRuns: RunStats[] = [];
    const unauditedRuns: RunStats[] = [];
    const profiler = PROFILE ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
      if (process.env.BENCH_HEAP_PROFILE) await profiler.post("HeapProfiler.enable");
    }
    for (let round = 0; round < 2; round += 1) {
      const heap = profiler && process.env.BENCH_HEAP_PROFILE;
      if (heap) await profiler.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      else await profiler?.post("Profiler.start");
      uniformRuns.push(await closedLoop(SECONDS / 2, () => transfer(...pair(wallets))));
      if (heap) writeFileSync(`${PROFILE}.${round}.heapprofile`, JSON.stringify((await profiler.post("HeapProfiler.stopSampling")).profile));
      const stopped = heap ? undefined : await profiler?.post("Profiler.stop");
      if (stopped) writeFileSync(`${PROFILE}.${round}.cpuprofile`, JSON.stringify(stopped.profile));
      unauditedRuns.push(await closedLoop(SECONDS / 2, () => transferUnaudited(...pair(unauditedWallets))));
    }
    profiler?.disconnect();
    const uniform = merge(uniformRuns);
    const noAudit = merge(unauditedRuns);
    const hot = await closedLoop(SECONDS, () => {
      const [from, to] = pair(wallets);
      return transfer(from, Math.random() < 0.5 ? merchant : to);
    });
    const baseline = await closedLoop(BASELINE_SECONDS, () => {
      const [from, to] = pair(wallets);
      return baselineTransfer(baselineDb, from, to, BigInt(1 + randomIndex(10_000)));
    });
    await ledger.close();
    await unaudited.close();
    const report = await verifyLedger(db);
    const u = summarize(uniform);
    const h = summarize(hot);
    const b = summarize(baseline);
    const n = summarize(noAudit);
    const result = {
      bench: "ledger",
      database: DATABASE_URL.replace(/\/\/[^@/]*@/, "//"),
      accounts: ACCOUNTS,
      submitters: SUBMITTERS,
      batches_in_flight: IN_FLIGHT,
      transfers_per_s: u.per_s,
      p50_ms: u.p50_ms,
      p99_ms: u.p99_ms,
      hot_transfers_per_s: h.per_s,
      hot_p50_ms: h.p50_ms,
      hot_p99_ms: h.p99_ms,
      no_audit_transfers_per_s: n.per_s,
      audit_overhead_pct: Number((100 * (1 - u.per_s / Math.max(1, n.per_s))).toFixed(1)),
      baseline_per_s: b.per_s,
      baseline_p99_ms: b.p99_ms,
      cpu_us_per_transfer: { node: u.node_cpu_us, db: u.db_cpu_us, total: Number((u.node_cpu_us + u.db_cpu_us).toFixed(1)) },
      hot_cpu_us_per_transfer: { node: h.node_cpu_us, db: h.db_cpu_us, total: Number((h.node_cpu_us + h.db_cpu_us).toFixed(1)) },
      no_audit_cpu_us_per_transfer: Number((n.node_cpu_us + n.db_cpu_us).toFixed(1)),
      speedup_vs_baseline: Number((u.per_s / Math.max(1, b.per_s)).toFixed(1)),
      transfers: u.transfers + h.transfers + n.transfers,
      rejected: u.rejected + h.rejected + b.rejected + n.rejected,
      errors: u.errors + h.errors + b.errors + n.errors,
      invariants_ok: report.ok,
      cache,
      /** Batches of the audited ledger by path: decided on its own copies, or on accounts locked and read first; conflicts retried. */
      batch_paths: store.paths,
    };
    if (!report.ok) console.error(report.violations.slice(0, 10).join("\n"));
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
    await baselineDb.close();
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
}

await main();
