/**
 * Micro-benchmark of session metering on PostgreSQL (diagnosis): sessions end at METER_RATE a second
 * (500) for METER_SECONDS (15), after a second of warm-up, each metered as the gateway does
 * (SessionMeter: record, ledger transfer, settle), or only recorded and settled (METER_MODE=store,
 * no ledger). METER_DUP_SHARE (0) of the reports repeat a recent session. Prints, as JSON, the CPU
 * per session of the PostgreSQL backends serving this process (all of it and the kernel's part)
 * and of this process, and the table's insert and (HOT) update counts. Each run uses a schema of
 * its own in a fresh state (never analyzed), as bench:ussd does.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Principal } from "../src/core/access/types.js";
import { Institutions } from "../src/core/institutions/institutions.js";
import { uuidv7 } from "../src/core/ledger/ids.js";
import { Ledger } from "../src/core/ledger/ledger.js";
import { SessionMeter, sessionChargeTransferId, type FinishedSession } from "../src/core/tariffs/metering.js";
import { TariffPlans } from "../src/core/tariffs/plans.js";
import { SqlInstitutionStore } from "../src/infra/db/institution-store.js";
import { SqlLedgerStore } from "../src/infra/db/ledger-store.js";
import { SqlSessionLog } from "../src/infra/db/metered-session-store.js";
import { migrate } from "../src/infra/db/migrate.js";
import { PostgresDb, isRetryableSqlError } from "../src/infra/db/sql.js";
import { SqlTariffStore } from "../src/infra/db/tariff-store.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgresql://postgres@localhost/test?host=/var/run/postgresql";
const RATE = Number(process.env.METER_RATE ?? 500);
const SECONDS = Number(process.env.METER_SECONDS ?? 15);
const MODE = process.env.METER_MODE ?? "meter";
const DUP_SHARE = Number(process.env.METER_DUP_SHARE ?? 0);
const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };

function procCpuUs(pid: number, part: "all" | "sys" = "all"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (part === "sys" ? Number(f[12]) : Number(f[11]) + Number(f[12])) * 1e4;
}

async function main() {
  const schema = `bench_meter_${randomBytes(4).toString("hex")}`;
  const admin = new PostgresDb({ connectionString: DATABASE_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const app = `meterbench_${schema}`;
  const url = new URL(DATABASE_URL);
  url.searchParams.set("application_name", app);
  const db = new PostgresDb({ connectionString: url.toString(), schema, maxConnections: 16 });
  // Idle connections stay open, so that their backends' CPU can be read at the end.
  (db.pool as unknown as { options: { idleTimeoutMillis: number } }).options.idleTimeoutMillis = 0;
  try {
    await migrate(db);
    const ledger = new Ledger(new SqlLedgerStore(db), { isRetryable: isRetryableSqlError });
    const institutions = new Institutions({ store: new SqlInstitutionStore(db), ledger });
    const created = await institutions.create(PLATFORM, { code: "bank-ke", name: "Bank KE", currency: "KES", timezone: "Africa/Nairobi" });
    if (!created.ok) throw new Error(created.code);
    const bank = created.institution;
    const store = new SqlTariffStore(db);
    // Set up at the plan's start: a plan starts no earlier than it is created.
    const tariffs = new TariffPlans(store, () => new Date("2026-01-01T00:00:00Z"));
    const telco = await tariffs.createTelco(PLATFORM, "demo-ke", { name: "Demo", networkCodes: ["63902"], smppLinkIds: [] });
    if (!telco.ok) throw new Error(telco.code);
    const plan = await tariffs.createPlan(PLATFORM, telco.telco.id, {
      name: "demo", currency: "KES", perSessionMinor: 100n, perStageMinor: 50n, ceilingMinor: 500n, maxStages: 12, payer: "bank",
      effectiveFrom: new Date("2026-01-01T00:00:00Z"),
    });
    if (!plan.ok) throw new Error(plan.code);
    const sessions = new SqlSessionLog(db);
    const meter = new SessionMeter({ tariffs: store, sessions, institutions, ledger });
    const session = (id: string): FinishedSession => ({
      sessionId: id, telco: { networkCode: "63902" }, institutionId: bank.id, msisdn: "+254712345678", customerAccountId: null, stages: 3,
      startedAt: new Date(Date.now() - 20_000), endedAt: new Date(), endReason: "end",
    });
    const bankAccount = await (async () => {
      const r = await meter.meter(session(`warm_${uuidv7()}`));
      if (!r.ok) throw new Error(r.code);
      return { debit: r.session.debitAccountId!, credit: r.session.creditAccountId! };
    })();
    let errors = 0;
    const one = async (id: string) => {
      try {
        if (MODE === "store") {
          const s = session(id);
          const { session: stored } = await sessions.record({
            sessionId: id, institutionId: bank.id, telcoId: telco.telco.id, tariffPlanId: plan.plan.id, msisdn: s.msisdn, stages: 3,
            startedAt: s.startedAt, endedAt: s.endedAt, durationMs: 20_000, endReason: "end", payer: "bank", currency: "KES", chargeMinor: 250n,
            debitAccountId: bankAccount.debit, creditAccountId: bankAccount.credit, transferId: sessionChargeTransferId(bank.id, id), chargeResult: null,
          });
          if (stored.chargeResult === null) await sessions.settle(bank.id, id, "posted");
        } else {
          const r = await meter.meter(session(id));
          if (!r.ok) throw new Error(r.code);
        }
      } catch (error) {
        if (errors++ < 3) console.error(error);
      }
    };
    // Warm-up: a second at the rate.
    const run = async (seconds: number) => {
      const inflight: Promise<void>[] = [];
      const t0 = performance.now();
      let started = 0;
      const recent: string[] = [];
      while (performance.now() - t0 < seconds * 1000) {
        const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
        for (; started < due; started++) {
          const dup = DUP_SHARE > 0 && recent.length > 0 && Math.random() < DUP_SHARE;
          const id = dup ? recent[Math.floor(Math.random() * recent.length)]! : `ATUid_${uuidv7()}`;
          if (!dup) {
            recent.push(id);
            if (recent.length > 50) recent.shift();
          }
          inflight.push(one(id));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(inflight);
      return started;
    };
    await run(1);
    const pids = (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [app])).rows.map((r) => r.pid);
    const pg0 = pids.map((p) => procCpuUs(p));
    const sys0 = pids.map((p) => procCpuUs(p, "sys"));
    const cpu0 = process.cpuUsage();
    const n = await run(SECONDS);
    const cpu1 = process.cpuUsage(cpu0);
    const pgUs = pids.map((p) => procCpuUs(p)).reduce((a, b, i) => a + b - pg0[i]!, 0);
    const sysUs = pids.map((p) => procCpuUs(p, "sys")).reduce((a, b, i) => a + b - sys0[i]!, 0);
    const stored = await db.query<{ n: number; nulls: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE charge_result IS NULL)::int AS nulls FROM metered_sessions`);
    const stats = await db.query(`SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'metered_sessions' AND schemaname = $1`, [schema]);
    await ledger.close();
    console.log(JSON.stringify({
      mode: MODE, rate: RATE, sessions: n, backends: pids.length, errors,
      pg_cpu_us_per_session: Math.round(pgUs / n), pg_sys_us_per_session: Math.round(sysUs / n), node_cpu_us_per_session: Math.round((cpu1.user + cpu1.system) / n),
      rows: stored.rows[0], table: stats.rows[0],
    }));
  } finally {
    await db.close();
    if (process.env.METER_KEEP === "1") console.error(`kept schema ${schema}`);
    else await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
}

await main();
