/**
 * USSD channel benchmark (issue 5). Prints one JSON object as its last line.
 *
 *   npm run bench:ussd
 *
 * The gateway runs as the Docker image runs it: compiled (npm run build:bench, into dist/) under
 * plain node with the image's V8 flag (--max-semi-space-size=32). `tsx bench/ussd.ts` runs it from
 * source instead (tsx's loader thread adds ~25 MB of resident memory).
 *
 * This process runs the real gateway (buildGateway from src/main.ts: PostgreSQL in a fresh schema
 * of the local test database, sessions in Redis, Africa's Talking at POST /ussd/at) and creates
 * the subscribers through the core services (directory, PINs, funded wallets). Two
 * children are forked from bench/ussd-load.ts: the load generator, and a bare Express endpoint
 * answering a constant `CON` (the baseline). Phases, in order:
 *
 *   baseline  closed loop, BENCH_CONCURRENCY subscribers, against the bare endpoint
 *             then open loop at BENCH_RATE against it          → baseline_rate_hops_per_s, baseline_p50/p99_ms
 *   closed    the same generator and concurrency against the gateway       → hops_per_s
 *   menu-only the same, on send money cancelled at the confirmation (no PIN) → menu_only_*
 *   open      sessions started on schedule at BENCH_RATE hops/s            → rate_*, p50_ms, p99_ms
 *
 * Each session is a whole flow (balance with PIN, or send money with PIN), every reply checked.
 * PINs use the gateway's scheme: keyed HMAC-SHA-256 by default (microseconds per verify), or
 * Argon2id with FINGATE_PIN_SCHEME=argon2id (32 MiB, 4 passes, ~33 ms of CPU each, which caps PIN
 * hops at a few dozen per second on 2 cores); pin_hop_share and the per-kind latencies show it.
 * cpu_us_per_hop_*: this process's CPU (user + system) per hop answered, per phase, which stays
 * comparable when other processes load the machine. loop_thread_run_pct / loop_thread_wait_pct:
 * in the open loop, the shares of wall time the event loop's thread ran and waited runnable for a
 * CPU (Linux); their sum near 100 means the loop is saturated.
 *
 * Environment (all optional):
 *   BENCH_SECONDS 8            closed-loop and open-loop windows (baseline: BENCH_BASELINE_SECONDS 5,
 *                              menu-only: BENCH_MENU_SECONDS 4, 0 skips it)
 *   BENCH_WARMUP_HOPS 15000    hops each of the bare endpoint and the gateway answer, in 1 s closed-loop rounds,
 *                              before anything is measured (0: none). Counted in hops, not seconds, because V8
 *                              compiles a function once it has run enough, whatever the machine's speed: after a
 *                              1 s warm-up (~1,000 gateway hops on a slow host) TurboFan still compiled ~275
 *                              functions inside the closed-loop window, and its threads took ~10% of the machine
 *   BENCH_RATE 2000            open-loop target, hops/s
 *   BENCH_CONCURRENCY 200      closed-loop subscribers in flight
 *   BENCH_SUBSCRIBERS 1500     subscribers created (a subscriber runs one session at a time; each may send
 *                              10 times a day, so enough of them keep the send share true throughout: a fast
 *                              machine posts ~8,500 sends in a run, warm-up included: ~6 each)
 *   BENCH_SEND_SHARE 0.5       share of sessions that send money
 *   BENCH_DRAIN_SECONDS 20     how long sessions running at the end of a window may take to finish
 *   BENCH_HEAP_SNAPSHOT        a file to write a heap snapshot to at the end of the open loop
 *   BENCH_PG_STATS 0           1: the server logs every statement of the gateway's connections with its CPU (diagnosis only)
 *   BENCH_SQL_TOP 0            print the N most frequent SQL statements of the closed and open loops (stderr)
 *   BENCH_PROFILE              closed, menu_only or open: write a V8 CPU profile of the gateway during
 *                              that phase only, into BENCH_PROFILE_FILE (ussd-<phase>.cpuprofile);
 *                              BENCH_PROFILE_KIND=heap samples allocations instead (.heapprofile)
 *                              (BENCH_HEAP_MINOR=0: only what outlived the young generation, i.e. what the
 *                              old generation has to collect)
 *   BENCH_LOG_LEVEL info       the gateway logs as in production (LOG_BUFFER_BYTES), into BENCH_LOG_FILE (/dev/null)
 *   DATABASE_URL               default: the local test database over its Unix socket
 *   REDIS_URL                  default: redis://127.0.0.1:6379
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { runInNewContext } from "node:vm";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { ensureSystemAccount } from "../src/core/institutions/system-accounts.js";
import { uuidv7 } from "../src/core/ledger/ids.js";
import { DEMO } from "../src/demo/seed.js";
import { Argon2PinHasher } from "../src/infra/auth/argon2-hasher.js";
import { PostgresDb } from "../src/infra/db/sql.js";
import { SqlTariffStore } from "../src/infra/db/tariff-store.js";
import { createLogger, logDestination } from "../src/infra/log.js";
import { buildGateway, listen, type Gateway } from "../src/main.js";
import { ussdKeyPrefix } from "../src/ussd/gateway.js";
import type { ClosedPhase, InitMessage, OpenPhase, PhaseStats, Subscriber } from "./ussd-load.js";

const DATABASE_URL = process.env.DATABASE_URL ?? `postgresql://postgres@localhost/test?host=${process.env.PGHOST ?? "/var/run/postgresql"}`;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 5);
const MENU_SECONDS = Number(process.env.BENCH_MENU_SECONDS ?? 4);
const WARMUP_HOPS = Number(process.env.BENCH_WARMUP_HOPS ?? 15_000);
/** A bound on the warm-up's rounds, should a machine be too slow to reach WARMUP_HOPS in reasonable time. */
const MAX_WARMUP_ROUNDS = 60;
const RATE = Number(process.env.BENCH_RATE ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_500);
const SEND_SHARE = Number(process.env.BENCH_SEND_SHARE ?? 0.5);
const DRAIN_SECONDS = Number(process.env.BENCH_DRAIN_SECONDS ?? 20);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "info";
const LOG_FILE = process.env.BENCH_LOG_FILE ?? "/dev/null";
const SQL_TOP = Number(process.env.BENCH_SQL_TOP ?? 0);
const PG_STATS = process.env.BENCH_PG_STATS === "1";
const PROFILE = process.env.BENCH_PROFILE ?? "";
const PROFILE_HEAP = process.env.BENCH_PROFILE_KIND === "heap";
const PROFILE_FILE = process.env.BENCH_PROFILE_FILE ?? `ussd-${PROFILE}.${PROFILE_HEAP ? "heapprofile" : "cpuprofile"}`;
/** The tier-0 USSD daily count (src/core/limits/security-levels.ts, level 3): more sends would be refused. */
const MAX_SENDS_PER_SUBSCRIBER = 10;
let KEY_PREFIX = ""; // ussdKeyPrefix(the run's institution), set once it is known
const U = 100n;

for (const [name, value, min] of [
  ["BENCH_SECONDS", SECONDS, 1],
  ["BENCH_BASELINE_SECONDS", BASELINE_SECONDS, 1],
  ["BENCH_WARMUP_HOPS", WARMUP_HOPS, 0],
  ["BENCH_MENU_SECONDS", MENU_SECONDS, 0],
  ["BENCH_RATE", RATE, 1],
  ["BENCH_CONCURRENCY", CONCURRENCY, 1],
  ["BENCH_SUBSCRIBERS", SUBSCRIBERS, 2],
  ["BENCH_DRAIN_SECONDS", DRAIN_SECONDS, 1],
] as const) {
  if (!Number.isFinite(value) || value < min || value > 100_000) throw new Error(`${name} must be a number from ${min} to 100000`);
}
if (!(SEND_SHARE >= 0 && SEND_SHARE <= 1)) throw new Error("BENCH_SEND_SHARE must be from 0 to 1");
if (SUBSCRIBERS < CONCURRENCY) throw new Error("BENCH_SUBSCRIBERS must be at least BENCH_CONCURRENCY (one session per subscriber at a time)");
if (!/^redis:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/\d+)?$/.test(REDIS_URL)) throw new Error("REDIS_URL must point at 127.0.0.1");

const here = path.dirname(fileURLToPath(import.meta.url));
const SYSTEM = { actorType: "system" as const, actorId: "bench-ussd", channel: "system" as const };
const log = (msg: string) => console.error(`[bench:ussd] ${msg}`);

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** An institution like a real one: default country, a p2p fee schedule, a telco with a tariff plan (sessions get metered). */
async function setUpInstitution(gw: Gateway, institutionId: string) {
  await gw.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'bench-ussd', 'Bench Bank', 'KES', 'Africa/Nairobi')", [
    institutionId,
  ]);
  const country = await gw.services.directory.setDefaultCountry(SYSTEM, institutionId, "KE");
  if (!country.ok) throw new Error(`default country refused: ${country.code}`);
  await gw.services.fees.put(
    institutionId,
    "p2p",
    { type: "p2p", agentShareBps: 0, bands: DEMO.p2pFees.map((b) => ({ ...b })) },
    new Date(),
    () => [],
  );
  const institution = await gw.services.institutions.get(institutionId);
  if (!institution) throw new Error("institution not found");
  await ensureSystemAccount(gw.ledger, institution, { kind: "fee_income" });
  const bankId = await ensureSystemAccount(gw.ledger, institution, { kind: "bank" });
  const tariffs = new SqlTariffStore(gw.db);
  const now = new Date();
  const telco = { id: uuidv7(), code: DEMO.telco.code, name: DEMO.telco.name, networkCodes: [DEMO.telco.networkCode], smppLinkIds: [], createdAt: now };
  if ((await tariffs.insertTelco(telco, [])) !== "ok") throw new Error("telco not created");
  const plan = { id: uuidv7(), telcoId: telco.id, ...DEMO.tariff, effectiveFrom: new Date(now.getTime() - 60_000), createdAt: now, updatedAt: now };
  if ((await tariffs.insertPlan(plan, [])) !== "ok") throw new Error("tariff plan not created");
  return bankId;
}

/** Registered customers with a PIN (Argon2id, through the PIN service) and KES 10,000 each. */
async function createSubscribers(gw: Gateway, institutionId: string, bankAccountId: string, base: number): Promise<Subscriber[]> {
  const numbers = Array.from({ length: SUBSCRIBERS }, (_, i) => `+2547${String(base + i).padStart(8, "0")}`);
  // Hashing is what takes time: as many at once as libuv has threads.
  return pool(numbers, 4, async (msisdn, i) => {
    const made = await gw.services.directory.register(SYSTEM, { institutionId, msisdn, displayName: `Subscriber ${alpha(i)}`, language: "en" });
    if (!made.ok) throw new Error(`register ${msisdn}: ${made.code}`);
    let pin = "";
    for (let attempt = 0; ; attempt++) {
      pin = String(randomInt(0, 10_000)).padStart(4, "0");
      const set = await gw.services.pins.setPin({ actor: { type: "system", id: "bench" }, channel: "system", subjectId: made.value.id, msisdn, pin });
      if (set.ok) break;
      if (attempt > 20) throw new Error(`setPin ${msisdn}: ${set.code}`); // weak PINs are refused: draw another
    }
    const funded = await gw.ledger.transfer({
      id: uuidv7(),
      debitAccountId: bankAccountId,
      creditAccountId: made.value.walletAccountId,
      amountMinor: 10_000n * U,
      code: "cash_in",
    });
    if (funded.result !== "ok") throw new Error(`funding ${msisdn}: ${funded.result}`);
    return { msisdn, pin };
  });
}

/** Names are letters only (the directory refuses digits): 0 → "AAA", 1 → "AAB" … */
function alpha(i: number): string {
  let s = "";
  for (let n = i, k = 0; k < 4; k++, n = Math.floor(n / 26)) s = String.fromCharCode(65 + (n % 26)) + s;
  return s;
}

/** Median wall time of one Argon2id verify with the gateway's parameters, alone on an idle machine. */
async function argon2VerifyMs(): Promise<number> {
  const hasher = new Argon2PinHasher();
  const encoded = await hasher.hash("4827");
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await hasher.verify(encoded, "4827");
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Number(times[3]!.toFixed(1));
}

class Child {
  private readonly waiting: ((msg: { type: string } & Record<string, unknown>) => void)[] = [];
  private readonly queued: ({ type: string } & Record<string, unknown>)[] = [];

  constructor(readonly proc: ChildProcess) {
    proc.on("message", (m) => {
      const msg = m as { type: string } & Record<string, unknown>;
      const w = this.waiting.shift();
      if (w) w(msg);
      else this.queued.push(msg);
    });
  }

  /** The children run plain node, without this process's flags: compiled beside it, or through tsx when it runs from source. */
  static start(role: "generator" | "baseline"): Child {
    const compiled = import.meta.url.endsWith(".js");
    const file = path.join(here, compiled ? "ussd-load.js" : "ussd-load.ts");
    const proc = fork(file, [role], { execArgv: compiled ? [] : ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new Child(proc);
  }

  next(timeoutMs: number): Promise<{ type: string } & Record<string, unknown>> {
    const q = this.queued.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child did not answer in time")), timeoutMs);
      const exited = () => reject(new Error("child exited"));
      this.proc.once("exit", exited);
      this.waiting.push((msg) => {
        clearTimeout(timer);
        this.proc.off("exit", exited);
        resolve(msg);
      });
    });
  }

  async run(phase: ClosedPhase | OpenPhase): Promise<PhaseStats> {
    this.proc.send(phase);
    const msg = await this.next((phase.seconds + phase.drainSeconds + 30) * 1000);
    if (msg.type !== "result") throw new Error(`generator failed: ${String(msg.message)}`);
    return msg.stats as PhaseStats;
  }

  stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
  }
}

/** Scans keys under the gateway's prefix with this run's session ids. */
async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** Mean size of this run's stored session values (not locks, not resume points). */
async function sessionBytes(redis: Redis, runId: string): Promise<{ mean: number; max: number; keys: number }> {
  const keys = await scanKeys(redis, `${KEY_PREFIX}at:ATUid_${runId}_*`);
  if (keys.length === 0) return { mean: 0, max: 0, keys: 0 };
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.strlen(k);
  const sizes = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n)).filter((n) => n > 0);
  const total = sizes.reduce((a, b) => a + b, 0);
  return { mean: sizes.length ? Math.round(total / sizes.length) : 0, max: Math.max(0, ...sizes), keys: sizes.length };
}

const rate = (s: PhaseStats) => Math.round(s.hops / s.seconds);
const perHop = (us: number, hops: number) => Math.round(us / Math.max(1, hops));

/** Starts counting this process's CPU time; the returned function answers the microseconds since. */
function cpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
}

/**
 * Starts measuring how the gateway's main thread (the event loop) spent the wall time: running, or
 * runnable but waiting for a CPU another process held (Linux schedstat; null elsewhere). Running
 * plus waiting near 100% is a saturated loop, and the waiting share is the CPU other processes
 * (PostgreSQL, the generator, Redis) took from it on its core.
 */
function mainThreadMeter(): () => { runPct: number; waitPct: number } | null {
  const file = `/proc/self/task/${process.pid}/schedstat`;
  const read = (): number[] | null => {
    try {
      return readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    } catch {
      return null;
    }
  };
  const start = read();
  const startedAt = process.hrtime.bigint();
  return () => {
    const end = read();
    if (!start || !end) return null;
    const wallNs = Number(process.hrtime.bigint() - startedAt);
    const pct = (i: number) => Number(((100 * (end[i]! - start[i]!)) / wallNs).toFixed(1));
    return { runPct: pct(0), waitPct: pct(1) };
  };
}

/**
 * Gives the seeded schema's tables their planner statistics, as autovacuum would within a minute
 * in production. Autovacuum is off on these machines, and a fresh schema never analyzed had every
 * named statement's generic plan (made on its sixth run, during seeding) scan whole tables:
 * accounts, transfers, PIN credentials and limit usage once per batch, most of PostgreSQL's CPU
 * per hop. ANALYZE also drops the plans cached on the gateway's connections, so they are made again.
 */
async function analyzeSchema(admin: PostgresDb, schema: string): Promise<void> {
  const tables = await admin.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = $1`, [schema]);
  for (const { name } of tables.rows) {
    // A table still empty (metered sessions, before the warm-up) is left as it is: analyzed empty,
    // its plans would scan it as it fills, where autovacuum would analyze it again as it grew.
    const rows = await admin.query(`SELECT 1 FROM "${schema}"."${name}" LIMIT 1`);
    if (rows.rows.length > 0) await admin.exec(`ANALYZE "${schema}"."${name}"`);
  }
}

/**
 * Counts the statements this process sends to PostgreSQL (every pg client: the pool, Prisma's
 * adapter, transactions' BEGIN/COMMIT), by text, so that round trips per hop are reported with the rest.
 */
const statements = new Map<string, number>();
/** The server processes (backends) of this process's connections, for their CPU time. */
const backends = new Set<number>();
let pgStatsOn = false;
const pgStatsSet = new Set<number>();
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const pid = (this as unknown as { processID?: number }).processID;
  if (pid) backends.add(pid);
  // Diagnosis, from the closed loop on: each statement's duration and CPU in the server log (superuser connections only).
  if (pid && pgStatsOn && !pgStatsSet.has(pid)) {
    pgStatsSet.add(pid);
    clientQuery.call(this, "SET log_min_duration_statement = 0; SET log_statement_stats = on");
  }
  const first = args[0] as string | { text?: string } | undefined;
  const text = typeof first === "string" ? first : (first?.text ?? "?");
  // Only the head of the text: the write statements run to kilobytes, and whitespace-collapsing
  // all of it on every query cost the measured process ~1% of its CPU.
  // A batched read is named by the query it batches (src/infra/db/batched-read.ts).
  const inner = text.startsWith("SELECT fg_batch.") ? text.indexOf("batch_row FROM (") : -1;
  const head = inner < 0 ? text.slice(0, 180) : `batched: ${text.slice(inner + 16, inner + 196)}`;
  const key = head.replace(/\s+/g, " ").slice(0, 100);
  statements.set(key, (statements.get(key) ?? 0) + 1);
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

/** Starts counting statements; the returned function answers how many since, and by text. */
function sqlMeter(): () => { total: number; byText: Map<string, number> } {
  const start = new Map(statements);
  return () => {
    const byText = new Map<string, number>();
    let total = 0;
    for (const [k, v] of statements) {
      const n = v - (start.get(k) ?? 0);
      if (n > 0) byText.set(k, n);
      total += n;
    }
    return { total, byText };
  };
}

/** The heap in use right after a full garbage collection (the gc function exposed for this call only). */
function liveHeapUsed(): number {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}

/** CPU time (µs, user + system) of one process on this machine, from /proc (Linux); null once it is gone. */
function procCpuUs(pid: number): number | null {
  try {
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100;

/** Starts counting the CPU of the processes `pids` names (read again at the end: ones that appeared meanwhile count from 0). */
function processMeter(pids: () => Iterable<number>): () => number {
  const start = new Map<number, number>();
  for (const pid of pids()) start.set(pid, procCpuUs(pid) ?? 0);
  return () => {
    let total = 0;
    for (const pid of pids()) {
      const us = procCpuUs(pid);
      if (us === null) backends.delete(pid); // a closed connection's backend
      else total += us - (start.get(pid) ?? 0);
    }
    return total;
  };
}

/** The PostgreSQL backends serving this process (connections closed meanwhile are missed). */
const backendMeter = () => processMeter(() => [...backends]);

/** The Redis server's process id, when it runs on this machine (its CPU is then read from /proc). */
async function redisPid(redis: Redis): Promise<number | null> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
  return Number.isInteger(pid) && procCpuUs(pid) !== null ? pid : null;
}

/** Runs `phase`, profiling this process's CPU (or allocations) during it when BENCH_PROFILE names it (diagnosis only). */
async function profiled<T>(name: string, phase: () => Promise<T>): Promise<T> {
  if (PROFILE !== name) return phase();
  const session = new Session();
  session.connect();
  if (PROFILE_HEAP) await session.post("HeapProfiler.startSampling", { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP_MINOR !== "0" });
  else {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  try {
    return await phase();
  } finally {
    const { profile } = PROFILE_HEAP ? await session.post("HeapProfiler.stopSampling") : await session.post("Profiler.stop");
    writeFileSync(PROFILE_FILE, JSON.stringify(profile));
    log(`${PROFILE_HEAP ? "allocation" : "cpu"} profile of the ${name} phase: ${PROFILE_FILE}`);
    session.disconnect();
  }
}

const perHopFixed = (n: number, hops: number) => Number((n / Math.max(1, hops)).toFixed(2));
const sumOf = (phases: PhaseStats[], f: (p: PhaseStats) => number) => phases.reduce((a, p) => a + f(p), 0);

/** 1 s closed-loop rounds until WARMUP_HOPS hops were answered (or MAX_WARMUP_ROUNDS ran); their stats. */
async function warmUp(round: (seconds: number) => Promise<PhaseStats>): Promise<PhaseStats[]> {
  const rounds: PhaseStats[] = [];
  while (sumOf(rounds, (p) => p.hopsTotal) < WARMUP_HOPS && rounds.length < MAX_WARMUP_ROUNDS) rounds.push(await round(1));
  return rounds;
}

async function main() {
  const runId = randomBytes(4).toString("hex");
  const schema = `bench_ussd_${runId}`;
  const institutionId = randomUUID();
  KEY_PREFIX = ussdKeyPrefix(institutionId);
  const secret = randomBytes(16).toString("hex");
  // The gateway reads its USSD settings from the environment (src/ussd/gateway.ts).
  Object.assign(process.env, {
    FINGATE_DEMO: "0",
    FINGATE_USSD_AT_SECRET: secret,
    FINGATE_USSD_INSTITUTION_ID: institutionId,
    FINGATE_USSD_SECRET_KEY: randomBytes(32).toString("hex"),
    FINGATE_USSD_LANGUAGE: "en",
    // The keyed PIN scheme's secret; FINGATE_PIN_SCHEME=argon2id measures the Argon2id scheme instead.
    FINGATE_PIN_KEY: process.env.FINGATE_PIN_KEY ?? randomBytes(32).toString("hex"),
  });
  const config = loadConfig({ ...process.env, DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: LOG_LEVEL });
  const admin = new PostgresDb({ connectionString: DATABASE_URL, maxConnections: 1 });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const children: Child[] = [];
  let gw: Gateway | null = null;
  let server: import("node:http").Server | null = null;
  let subscribers: Subscriber[] = [];
  try {
    // Argon2id's 32 MiB per verify stays in the allocator's arenas: measured only when it is the scheme under test.
    const argon2Ms = config.pinScheme === "argon2id" ? await argon2VerifyMs() : null;
    // Logs as in production (one line per hop at info), written where they cost the same but do not flood the output.
    gw = await buildGateway(config, createLogger(config.logLevel, logDestination(config.logBufferBytes, LOG_FILE)));
    const bankAccountId = await setUpInstitution(gw, institutionId);
    const t0 = performance.now();
    // Numbers +2547XXXXXXXX from a random block, so that concurrent runs do not share resume keys.
    subscribers = await createSubscribers(gw, institutionId, bankAccountId, 10_000_000 + randomInt(0, 80) * 1_000_000 + randomInt(0, 500_000));
    log(`${subscribers.length} subscribers with PINs (${config.pinScheme}) and funded wallets in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await analyzeSchema(admin, schema);

    // The gateway at rest, set up, before any hop: what it holds whatever the load.
    const rest = process.memoryUsage();
    const s = await listen(gw.app, 0, "127.0.0.1");
    server = s;
    const port = (s.address() as import("node:net").AddressInfo).port;
    const gatewayUrl = `http://127.0.0.1:${port}/ussd/at`;

    const baseline = Child.start("baseline");
    children.push(baseline);
    const listening = await baseline.next(30_000);
    const baselineUrl = `http://127.0.0.1:${String(listening.port)}/ussd/at`;
    const generator = Child.start("generator");
    children.push(generator);
    const init: InitMessage = {
      type: "init",
      subscribers,
      secret,
      runId,
      sendShare: SEND_SHARE,
      maxSendsPerSubscriber: MAX_SENDS_PER_SUBSCRIBER,
      requestTimeoutMs: 10_000,
    };
    generator.proc.send(init);
    await generator.next(30_000);

    const closed = (url: string, seconds: number, checkScreens: boolean, flows: ClosedPhase["flows"] = "mixed"): ClosedPhase => ({
      type: "closed",
      url,
      checkScreens,
      flows,
      seconds,
      concurrency: CONCURRENCY,
      drainSeconds: DRAIN_SECONDS,
    });
    // Both servers get the same warm-up, so that neither is measured while V8 is still compiling it.
    await warmUp((seconds) => generator.run(closed(baselineUrl, seconds, false)));
    const warmups = await warmUp((seconds) => generator.run(closed(gatewayUrl, seconds, true)));
    log(`warm-up: ${sumOf(warmups, (p) => p.hopsTotal)} gateway hops in ${warmups.length} rounds`);
    // What autovacuum (off on these machines) would have done by now: the warm-up filled tables
    // that were empty at seeding (limit usage, metered sessions), and plans made for them empty
    // scan them whole (the ledger's limit-usage read was a hash join over a sequential scan).
    await analyzeSchema(admin, schema);
    // The other processes' CPU per hop, so that the whole machine's cost of a hop is on record.
    const redisProcess = await redisPid(redis);
    const generatorCpu = () => processMeter(() => [generator.proc.pid!]);
    const redisCpu = () => processMeter(() => (redisProcess === null ? [] : [redisProcess]));
    log("baseline (bare Express, closed loop)");
    const baseGen = generatorCpu();
    const baseServer = processMeter(() => [baseline.proc.pid!]);
    const base = await generator.run(closed(baselineUrl, BASELINE_SECONDS, false));
    const baseGenUs = baseGen();
    const baseServerUs = baseServer();
    // The yardstick for p99_ms: the bare endpoint's own latency at the open loop's rate, on this
    // machine as it is today. Where it cannot hold the rate either, no gateway could.
    log(`baseline (bare Express, open loop at ${RATE} hops/s)`);
    const baseOpen = await generator.run({ type: "open", url: baselineUrl, checkScreens: false, seconds: BASELINE_SECONDS, rate: RATE, drainSeconds: DRAIN_SECONDS });
    baseline.stop(); // it would only compete for the 2 cores from here on

    log("gateway, closed loop");
    let stored: Awaited<ReturnType<typeof sessionBytes>> = { mean: 0, max: 0, keys: 0 };
    const sample = new Promise<void>((resolve) =>
      setTimeout(() => {
        sessionBytes(redis, runId)
          .then((v) => (stored = v))
          .catch((error: unknown) => log(`session size sample failed: ${String(error)}`))
          .finally(resolve);
      }, (SECONDS * 1000) / 2),
    );
    const closedCpu = cpuMeter();
    const closedSql = sqlMeter();
    pgStatsOn = PG_STATS;
    const closedPg = backendMeter();
    const closedGen = generatorCpu();
    const closedRedis = redisCpu();
    const closedStats = await profiled("closed", () => generator.run(closed(gatewayUrl, SECONDS, true)));
    const closedCpuUs = closedCpu();
    const closedGenUs = closedGen();
    const closedRedisUs = closedRedis();
    const closedStatements = closedSql();
    if (PG_STATS) log(`backends logging statements: ${[...pgStatsSet].join(" ")} (closed loop: ${closedStats.hopsTotal} hops, ${closedStats.pinHops} PIN hops in the window, ${closedStats.sessions} sessions)`);
    const closedPgUs = closedPg();
    if (SQL_TOP > 0) {
      const top = [...closedStatements.byText].sort((a, b) => b[1] - a[1]).slice(0, SQL_TOP);
      for (const [text, n] of top) log(`sql ${(n / Math.max(1, closedStats.sessions)).toFixed(3)}/session  ${text}`);
    }
    await sample;

    // The same closed loop on flows without a PIN (send money cancelled at the confirmation): what
    // the gateway does when Argon2id is out of the way.
    let menuOnly: PhaseStats | null = null;
    let menuCpuUs = 0;
    let menuStatements = 0;
    let menuPgUs = 0;
    if (MENU_SECONDS > 0) {
      log("gateway, closed loop, no PIN hops");
      const menuCpu = cpuMeter();
      const menuSql = sqlMeter();
      const menuPg = backendMeter();
      menuOnly = await profiled("menu_only", () => generator.run(closed(gatewayUrl, MENU_SECONDS, true, "menu_only")));
      menuCpuUs = menuCpu();
      menuStatements = menuSql().total;
      menuPgUs = menuPg();
    }

    log(`gateway, open loop at ${RATE} hops/s`);
    const openCpu = cpuMeter();
    const openThread = mainThreadMeter();
    const openSql = sqlMeter();
    const openPg = backendMeter();
    // How late the gateway's event loop ran what was due (ms): long synchronous stretches and GC pauses, as any hop would wait them.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const open = await profiled("open", () => generator.run({ type: "open", url: gatewayUrl, checkScreens: true, seconds: SECONDS, rate: RATE, drainSeconds: DRAIN_SECONDS }));
    const openCpuUs = openCpu();
    const openLoop = openThread();
    const openStatements = openSql();
    const openPgUs = openPg();
    if (SQL_TOP > 0) {
      const top = [...openStatements.byText].sort((a, b) => b[1] - a[1]).slice(0, SQL_TOP);
      for (const [text, n] of top) log(`open sql ${(n / Math.max(1, open.hops)).toFixed(3)}/hop  ${text}`);
    }
    loopDelay.disable();
    const memory = process.memoryUsage();
    const rssMb = Math.round(memory.rss / 2 ** 20);
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    const spaces = v8.getHeapSpaceStatistics().map((sp) => `${sp.space_name} ${Math.round(sp.space_size / 2 ** 20)}/${Math.round(sp.space_used_size / 2 ** 20)}`);
    log(`heap spaces at the end (MB size/used): ${spaces.join(", ")}`);
    // What of the heap is live (after a full collection), measured after rss_mb so as not to change it.
    if (process.env.BENCH_HEAP_SNAPSHOT) log(`heap snapshot: ${v8.writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT)}`);
    const liveHeapMb = Math.round(liveHeapUsed() / 2 ** 20);
    generator.proc.send({ type: "exit" });

    // Metering runs after the END reply: give it a moment before counting.
    await new Promise((r) => setTimeout(r, 500));
    const counted = await gw.db.query<{ p2p: number; metered: number }>(
      "SELECT (SELECT count(*)::int FROM transfers WHERE code = 'p2p') AS p2p, (SELECT count(*)::int FROM metered_sessions) AS metered",
    );
    const transfers = counted.rows[0]?.p2p ?? 0;
    const phases = [closedStats, open, ...(menuOnly ? [menuOnly] : [])];
    const sum = (f: (p: PhaseStats) => number) => phases.reduce((a, p) => a + f(p), 0);
    // Of the flows with a PIN (closed and open loop): the share of hops that verify one.
    const pinHops = closedStats.latency.pin.count + open.latency.pin.count;
    const allHops = pinHops + closedStats.latency.menu.count + open.latency.menu.count;
    // Warm-up sends post too, so they are part of what the ledger count is compared with.
    const receipts = sum((p) => p.receipts) + sumOf(warmups, (p) => p.receipts);
    const result = {
      bench: "ussd",
      dialect: "africastalking",
      database: DATABASE_URL.replace(/\/\/[^@/]*@/, "//"),
      subscribers: SUBSCRIBERS,
      concurrency: CONCURRENCY,
      send_share: SEND_SHARE,
      hops_per_s: rate(closedStats),
      baseline_hops_per_s: rate(base),
      vs_baseline_pct: Number(((100 * rate(closedStats)) / Math.max(1, rate(base))).toFixed(1)),
      closed_p50_ms: closedStats.all.p50,
      closed_p99_ms: closedStats.all.p99,
      closed_menu_p50_ms: closedStats.latency.menu.p50,
      closed_menu_p99_ms: closedStats.latency.menu.p99,
      closed_pin_p50_ms: closedStats.latency.pin.p50,
      closed_pin_p99_ms: closedStats.latency.pin.p99,
      closed_pin_hops_per_s: Math.round(closedStats.pinHops / closedStats.seconds),
      menu_only_hops_per_s: menuOnly ? rate(menuOnly) : null,
      menu_only_p50_ms: menuOnly?.all.p50 ?? null,
      menu_only_p99_ms: menuOnly?.all.p99 ?? null,
      target_rate_hops_per_s: RATE,
      rate_hops_per_s: rate(open),
      rate_sessions_offered_per_s: Number(open.offeredSessionsPerS.toFixed(1)),
      rate_sessions_not_started: open.sessionsNotStarted,
      p50_ms: open.all.p50,
      p99_ms: open.all.p99,
      baseline_rate_hops_per_s: rate(baseOpen),
      baseline_p50_ms: baseOpen.all.p50,
      baseline_p99_ms: baseOpen.all.p99,
      menu_p50_ms: open.latency.menu.p50,
      menu_p99_ms: open.latency.menu.p99,
      pin_p50_ms: open.latency.pin.p50,
      pin_p99_ms: open.latency.pin.p99,
      loop_delay_p50_ms: Number((loopDelay.percentile(50) / 1e6).toFixed(2)),
      loop_delay_p99_ms: Number((loopDelay.percentile(99) / 1e6).toFixed(2)),
      loop_delay_max_ms: Number((loopDelay.max / 1e6).toFixed(2)),
      // Shares of the open loop's wall time the event loop's thread ran, and waited runnable for a CPU.
      loop_thread_run_pct: openLoop?.runPct ?? null,
      loop_thread_wait_pct: openLoop?.waitPct ?? null,
      pin_hop_share: Number((pinHops / Math.max(1, allHops)).toFixed(3)),
      pin_scheme: config.pinScheme,
      argon2_verify_ms: argon2Ms,
      // The gateway's CPU (this process: user + system) per hop answered, per phase: comparable across runs on a loaded machine.
      cpu_us_per_hop_closed: perHop(closedCpuUs, closedStats.hops),
      cpu_us_per_hop_menu_only: menuOnly ? perHop(menuCpuUs, menuOnly.hops) : null,
      cpu_us_per_hop_open: perHop(openCpuUs, open.hops),
      // SQL statements sent (round trips, BEGIN/COMMIT included) per hop and per session, closed loop; per hop without PINs.
      sql_per_hop_closed: perHopFixed(closedStatements.total, closedStats.hopsTotal),
      sql_per_hop_open: perHopFixed(openStatements.total, open.hops),
      sql_per_session_closed: perHopFixed(closedStatements.total, closedStats.sessions),
      sql_per_hop_menu_only: menuOnly ? perHopFixed(menuStatements, menuOnly.hopsTotal) : null,
      // The CPU of the PostgreSQL backends serving this process (from /proc; connections closed meanwhile are missed), per hop.
      pg_cpu_us_per_hop_closed: perHop(closedPgUs, closedStats.hopsTotal),
      pg_cpu_us_per_hop_menu_only: menuOnly ? perHop(menuPgUs, menuOnly.hopsTotal) : null,
      pg_cpu_us_per_hop_open: perHop(openPgUs, open.hops),
      // The rest of the machine, closed loop: the Redis server and the load generator, per hop; and
      // the whole machine's CPU per hop (gateway + PostgreSQL + Redis + generator) against the
      // baseline's per request (bare Express + generator). Over the whole phase, drain included.
      redis_cpu_us_per_hop_closed: redisProcess === null ? null : perHop(closedRedisUs, closedStats.hopsTotal),
      generator_cpu_us_per_hop_closed: perHop(closedGenUs, closedStats.hopsTotal),
      machine_cpu_us_per_hop_closed: perHop(closedCpuUs + closedPgUs + closedRedisUs + closedGenUs, closedStats.hopsTotal),
      baseline_server_cpu_us_per_hop: perHop(baseServerUs, base.hopsTotal),
      generator_cpu_us_per_hop_baseline: perHop(baseGenUs, base.hopsTotal),
      machine_cpu_us_per_hop_baseline: perHop(baseServerUs + baseGenUs, base.hopsTotal),
      sessions: sum((p) => p.sessions),
      sessions_completed: sum((p) => p.sessionsCompleted),
      warmup_hops: sumOf(warmups, (p) => p.hopsTotal),
      warmup_sessions: sumOf(warmups, (p) => p.sessions),
      sessions_metered: counted.rows[0]?.metered ?? 0,
      transfers,
      receipts,
      balances: sum((p) => p.balances),
      errors: sum((p) => p.errors) + base.errors + baseOpen.errors + sumOf(warmups, (p) => p.errors),
      error_kinds: mergeKinds([base, baseOpen, ...phases, ...warmups]),
      // Where they happened: a timeout in the open loop is a hop still unanswered after 10 s of overload.
      errors_by_phase: Object.fromEntries(
        Object.entries({ baseline: base, baseline_open: baseOpen, closed: closedStats, menu_only: menuOnly, open })
          .filter(([, p]) => p !== null && p.errors > 0)
          .map(([name, p]) => [name, p!.errors])
          .concat(warmups.some((p) => p.errors > 0) ? [["warmup", sumOf(warmups, (p) => p.errors)]] : []),
      ),
      rss_mb: rssMb,
      rss_peak_mb: peakRssMb,
      rss_rest_mb: Math.round(rest.rss / 2 ** 20),
      heap_used_rest_mb: Math.round(rest.heapUsed / 2 ** 20),
      heap_used_mb: Math.round(memory.heapUsed / 2 ** 20),
      heap_live_mb: liveHeapMb,
      heap_total_mb: Math.round(memory.heapTotal / 2 ** 20),
      external_mb: Math.round(memory.external / 2 ** 20),
      session_bytes: stored.mean,
      session_bytes_max: stored.max,
      session_keys_sampled: stored.keys,
    };
    const samples = phases.flatMap((p) => p.errorSamples);
    if (samples.length > 0) log(`errors and unexpected replies (first of each phase): ${JSON.stringify(samples)}`);
    if (transfers !== receipts) log(`the ledger posted ${transfers} p2p transfers, the generator saw ${receipts} receipts`);
    console.log(JSON.stringify(result));
  } finally {
    for (const c of children) c.stop();
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await gw?.close().catch((error: unknown) => log(`gateway close: ${String(error)}`));
    try {
      // The run's institution is its own: everything under its prefix is this run's.
      const keys = KEY_PREFIX === "" ? [] : await scanKeys(redis, `${KEY_PREFIX}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    } finally {
      redis.disconnect();
      await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close();
    }
  }
}

function mergeKinds(phases: PhaseStats[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of phases) for (const [k, v] of Object.entries(p.errorKinds)) out[k] = (out[k] ?? 0) + v;
  return out;
}

await main();
