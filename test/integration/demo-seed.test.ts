// The demo seed: once per embedded data directory however often the gateway starts, resumable,
// never over other data, and never on PostgreSQL unless FINGATE_DEMO=1 says so.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { DEMO, DEMO_SEED_ACTION, seedDemo } from "../../src/demo/seed.js";
import { demoMode, prepareDemo } from "../../src/demo/setup.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { PostgresDb, type SqlExecutor } from "../../src/infra/db/sql.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, type Gateway } from "../../src/main.js";
import { buildServices } from "../../src/services.js";
import { openTestDb, TEST_DATABASE_URL } from "../helpers/db.js";

const silent = createLogger("silent");
const ENV_NAMES = ["FINGATE_DEMO", "FINGATE_USSD_AT_SECRET", "FINGATE_USSD_AGGREGATORS", "FINGATE_USSD_INSTITUTION_ID"];

beforeAll(() => {
  for (const name of ENV_NAMES) delete process.env[name];
});
afterEach(() => {
  delete process.env.FINGATE_DEMO;
});

async function count(db: SqlExecutor, sql: string, params: unknown[] = []): Promise<number> {
  const result = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return result.rows[0]!.n;
}

/** Everything the seed creates, counted. */
async function census(db: SqlExecutor) {
  return {
    institutions: await count(db, "institutions"),
    customers: await count(db, "customers"),
    pins: await count(db, "pin_credentials"),
    openingBalances: await count(db, "transfers WHERE code = 'cash_in'"),
    feeSchedules: await count(db, "fee_schedules"),
    agents: await count(db, "agents"),
    floatTopUps: await count(db, "transfers WHERE code = 'float_top_up'"),
    telcos: await count(db, "telcos"),
    tariffPlans: await count(db, "tariff_plans"),
    seedMarks: await count(db, "audit_log WHERE action = $1", [DEMO_SEED_ACTION]),
  };
}

/** A seeded customer dials the demo's short code through Africa's Talking and is welcomed. */
async function expectDemoWelcome(gateway: Gateway, secret: string, sessionId: string, msisdn: string): Promise<void> {
  const hop = await request(gateway.app)
    .post("/ussd/at")
    .set("x-fingate-secret", secret.trim())
    .type("form")
    .send({ sessionId, serviceCode: DEMO.serviceCode, phoneNumber: msisdn, networkCode: DEMO.telco.networkCode, text: "" });
  expect(hop.text).toMatch(/^CON Welcome to fingate\n/);
}

// Two customers' PINs and the agent's; p2p and cash-out fee schedules.
const SEEDED = { institutions: 1, customers: 2, pins: 3, openingBalances: 2, feeSchedules: 2, agents: 1, floatTopUps: 1, telcos: 1, tariffPlans: 1, seedMarks: 1 };

describe("demo seed on embedded PGlite", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "fingate-seed-"));
  });
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("runs once however often the gateway starts on the same data directory", async () => {
    const config = loadConfig({ FINGATE_DATA_DIR: dataDir, LOG_LEVEL: "silent" });
    const secretFile = path.join(dataDir, "demo-ussd-secret");
    let gateway: Gateway = await buildGateway(config, silent);
    let secret: string;
    try {
      expect(gateway.demo).toMatchObject({ status: "seeded" });
      expect(await census(gateway.db)).toEqual(SEEDED);
      secret = await readFile(secretFile, "utf8");
    } finally {
      await gateway.close();
    }
    gateway = await buildGateway(config, silent);
    try {
      expect(gateway.demo).toMatchObject({ status: "already_seeded" });
      expect(await census(gateway.db)).toEqual(SEEDED);
      expect(await readFile(secretFile, "utf8")).toBe(secret);
      await expectDemoWelcome(gateway, secret, "seed-1", DEMO.customers[0].msisdn);
    } finally {
      await gateway.close();
    }
  });
});

describe("seedDemo", () => {
  it("finishes a seed that was interrupted after the institution was created", async () => {
    const test = await openTestDb("pglite");
    const ledger = new Ledger(new SqlLedgerStore(test.db));
    const services = buildServices(test.db, ledger);
    try {
      const id = uuidv7();
      await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, $2, 'Half done', 'KES', 'Africa/Nairobi')`, [id, DEMO.institution.code]);
      expect(await seedDemo({ db: test.db, ledger, services })).toEqual({ status: "seeded", institutionId: id });
      expect(await census(test.db)).toEqual(SEEDED);
      expect(await seedDemo({ db: test.db, ledger, services })).toEqual({ status: "already_seeded", institutionId: id });
    } finally {
      await ledger.close();
      await services.close();
      await test.cleanup();
    }
  });

  it("leaves a database with other institutions alone, and does nothing when FINGATE_DEMO=0", async () => {
    const test = await openTestDb("pglite");
    const ledger = new Ledger(new SqlLedgerStore(test.db));
    const services = buildServices(test.db, ledger);
    try {
      const config = { databaseUrl: undefined, dataDir: path.join(tmpdir(), "fingate-never-written"), host: "127.0.0.1", production: false };
      expect(await prepareDemo({ config, db: test.db, ledger, services, logger: silent, env: { FINGATE_DEMO: "0" } })).toBeNull();
      expect(await count(test.db, "institutions")).toBe(0);
      await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'real-bank', 'Real', 'KES', 'Africa/Nairobi')`, [uuidv7()]);
      expect(await seedDemo({ db: test.db, ledger, services })).toEqual({ status: "not_empty" });
      expect(await prepareDemo({ config, db: test.db, ledger, services, logger: silent, env: {} })).toBeNull();
      expect(await census(test.db)).toMatchObject({ institutions: 1, customers: 0, agents: 0, telcos: 0, seedMarks: 0 });
    } finally {
      await ledger.close();
      await services.close();
      await test.cleanup();
    }
  });

  it("reads FINGATE_DEMO strictly", () => {
    expect(demoMode({})).toBe("auto");
    expect(demoMode({ FINGATE_DEMO: "1" })).toBe("on");
    expect(demoMode({ FINGATE_DEMO: "0" })).toBe("off");
    expect(() => demoMode({ FINGATE_DEMO: "maybe" })).toThrow(/FINGATE_DEMO/);
  });
});

describe("demo seed on PostgreSQL", () => {
  const schemas: string[] = [];
  const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "fingate-seed-pg-"));
  });
  afterAll(async () => {
    for (const s of schemas) await admin.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function gatewayOnFreshSchema(): Promise<Gateway> {
    const schema = `t_demo_${uuidv7().replace(/-/g, "").slice(-12)}`;
    schemas.push(schema);
    await admin.exec(`CREATE SCHEMA "${schema}"`);
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DB_POOL_SIZE: "4", LOG_LEVEL: "silent", FINGATE_DATA_DIR: dataDir });
    return buildGateway(config, silent);
  }

  it("does nothing without FINGATE_DEMO=1: no data, and USSD stays off", async () => {
    const gateway = await gatewayOnFreshSchema();
    try {
      expect(gateway.demo).toBeNull();
      expect(await census(gateway.db)).toEqual({ institutions: 0, customers: 0, pins: 0, openingBalances: 0, feeSchedules: 0, agents: 0, floatTopUps: 0, telcos: 0, tariffPlans: 0, seedMarks: 0 });
      expect((await request(gateway.app).post("/ussd/at").type("form").send({})).status).toBe(404);
    } finally {
      await gateway.close();
    }
  });

  it("seeds an empty schema when FINGATE_DEMO=1", async () => {
    process.env.FINGATE_DEMO = "1";
    const gateway = await gatewayOnFreshSchema();
    try {
      expect(gateway.demo).toMatchObject({ status: "seeded" });
      expect(await census(gateway.db)).toEqual(SEEDED);
      const secret = await readFile(path.join(dataDir, "demo-ussd-secret"), "utf8");
      await expectDemoWelcome(gateway, secret, "seed-pg-1", DEMO.customers[1].msisdn);
    } finally {
      await gateway.close();
    }
  });
});
