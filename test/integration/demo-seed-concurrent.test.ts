// Two gateways starting at once on one empty PostgreSQL schema with FINGATE_DEMO=1: the demo is
// seeded once (one `demo.seed` mark, one tariff plan, no orphan accounts), with a pool of one
// connection too, and the instance that waited finds the seed done.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { DEMO_SEED_ACTION, seedDemo, type SeedOutcome } from "../../src/demo/seed.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { PostgresDb, type SqlExecutor } from "../../src/infra/db/sql.js";
import { buildServices } from "../../src/services.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";

const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
const schemas: string[] = [];

afterAll(async () => {
  for (const s of schemas) await admin.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.close();
});

async function count(db: SqlExecutor, sql: string, params: unknown[] = []): Promise<number> {
  const result = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return result.rows[0]!.n;
}

/** One gateway's worth of seeding machinery on its own pool, as a second process would have. */
async function instance(schema: string, poolSize: number) {
  const db = new PostgresDb({ connectionString: TEST_DATABASE_URL, schema, maxConnections: poolSize });
  const ledger = new Ledger(new SqlLedgerStore(db));
  const services = buildServices(db, ledger, { schema });
  return {
    seed: () => seedDemo({ db, ledger, services }),
    db,
    close: async () => {
      await ledger.close();
      await services.close();
      await db.close();
    },
  };
}

async function freshSchema(): Promise<string> {
  const schema = `t_seedrace_${Math.random().toString(16).slice(2, 10)}`;
  schemas.push(schema);
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const db = new PostgresDb({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 1 });
  await migrate(db);
  await db.close();
  return schema;
}

describe("demo seed racing on PostgreSQL", () => {
  /** The accounts one seed alone opens. */
  let soloAccounts: number;
  beforeAll(async () => {
    const solo = await instance(await freshSchema(), 4);
    try {
      expect((await solo.seed()).status).toBe("seeded");
      soloAccounts = await count(solo.db, "accounts");
    } finally {
      await solo.close();
    }
  });

  for (const poolSize of [4, 1]) {
    it(`seeds once when instances start together (DB_POOL_SIZE=${poolSize})`, async () => {
      for (let round = 0; round < 3; round++) {
        const schema = await freshSchema();
        const instances = await Promise.all([instance(schema, poolSize), instance(schema, poolSize), instance(schema, poolSize)]);
        try {
          const outcomes: SeedOutcome[] = await Promise.all(instances.map((i) => i.seed()));
          const db = instances[0]!.db;
          expect({
            institutions: await count(db, "institutions"),
            customers: await count(db, "customers"),
            agents: await count(db, "agents"),
            telcos: await count(db, "telcos"),
            tariffPlans: await count(db, "tariff_plans"),
            seedMarks: await count(db, "audit_log WHERE action = $1", [DEMO_SEED_ACTION]),
            // A losing register or onboard left a zero-balance wallet or float behind.
            accounts: await count(db, "accounts"),
          }).toEqual({ institutions: 1, customers: 2, agents: 1, telcos: 1, tariffPlans: 1, seedMarks: 1, accounts: soloAccounts });
          expect(outcomes.filter((o) => o.status === "seeded")).toHaveLength(1);
          expect(outcomes.filter((o) => o.status === "already_seeded")).toHaveLength(2);
          expect(new Set(outcomes.map((o) => ("institutionId" in o ? o.institutionId : null))).size).toBe(1);
        } finally {
          for (const i of instances) await i.close();
        }
      }
    });
  }
});
