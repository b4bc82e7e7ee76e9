// A gateway starting with FINGATE_DEMO=1 on PostgreSQL while another instance holds the demo seed's
// lock and never lets it go (a hung instance): the start gives up after FINGATE_DEMO_SEED_WAIT_MS
// with a message that says why, rather than waiting for ever; once the lock is free it seeds.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { DEMO_SEED_LOCK_KEY } from "../../src/demo/seed.js";
import { prepareDemo } from "../../src/demo/setup.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { createLogger } from "../../src/infra/log.js";
import { buildServices } from "../../src/services.js";
import { openTestDb, TEST_DATABASE_URL, type TestDb } from "../helpers/db.js";

let test: TestDb;
let holder: pg.Client;
/** Where prepareDemo keeps the demo's USSD secret. */
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "fingate-seed-wait-"));
  test = await openTestDb("postgres", { maxConnections: 4 });
  // The other instance: a session of its own in this schema, holding the lock as seedDemo takes it.
  holder = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${test.schema}"` });
  await holder.connect();
  await holder.query("SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '')))", [DEMO_SEED_LOCK_KEY]);
});

afterAll(async () => {
  await holder.end().catch(() => undefined);
  await test.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

describe("demo seed waiting on another instance", () => {
  it("gives up after FINGATE_DEMO_SEED_WAIT_MS with a clear message, then seeds once the lock is free", async () => {
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: test.schema, FINGATE_DEMO_SEED_WAIT_MS: "1000", FINGATE_DATA_DIR: dataDir });
    const ledger = new Ledger(new SqlLedgerStore(test.db));
    const services = buildServices(test.db, ledger, { schema: test.schema });
    const prepare = () => prepareDemo({ config, db: test.db, ledger, services, logger: createLogger("silent"), env: { FINGATE_DEMO: "1" } });
    try {
      const started = Date.now();
      const error = await prepare().then(
        () => new Error("expected the start to give up"),
        (e: unknown) => e as Error,
      );
      expect(error.message).toMatch(/^demo seed: another instance has held the demo seed lock for over 1000 ms \(FINGATE_DEMO_SEED_WAIT_MS\); start-up stopped/);
      expect(Date.now() - started).toBeLessThan(4_000);
      const institutions = await test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM institutions");
      expect(institutions.rows[0]!.n).toBe(0);

      await holder.query("SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))", [DEMO_SEED_LOCK_KEY]);
      expect((await prepare())?.status).toBe("seeded");
    } finally {
      await ledger.close();
      await services.close();
    }
  });
});
