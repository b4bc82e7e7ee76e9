// The gateway's PostgreSQL pools against a database that stops answering (test/helpers/tcp-proxy.ts
// holds its bytes: hung server, black-holed network): a connection or a statement gives up at
// DB_CONNECT_TIMEOUT_MS / DB_STATEMENT_TIMEOUT_MS with an error that names them, rather than
// holding the hop or admin request (and its pool connection) for ever. Maintenance runs without
// the statement timeout.
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { openDatabase, withoutStatementTimeout } from "../../src/infra/db/open.js";
import { createPrisma } from "../../src/infra/db/prisma.js";
import { DatabaseTimeout, type SqlDb } from "../../src/infra/db/sql.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";
import { openTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const CONNECT_MS = 300;
const STATEMENT_MS = 400;
/** The client's own wait past the server's statement timeout (ANSWER_GRACE_MS) and slack for a busy machine. */
const BOUND_MS = STATEMENT_MS + 1_000 + 800;

let proxy: TcpProxy | undefined;
let db: SqlDb | undefined;

afterEach(async () => {
  // The proxy first: it cuts the held connections, which the pools' end would otherwise wait on.
  await proxy?.close();
  await db?.close();
  proxy = db = undefined;
});

async function behindProxy(): Promise<{ proxy: TcpProxy; db: SqlDb }> {
  proxy = await openTcpProxy("127.0.0.1", Number(new URL(TEST_DATABASE_URL).port || 5432));
  const config = loadConfig({
    DATABASE_URL: proxy.url(TEST_DATABASE_URL),
    DB_POOL_SIZE: "2",
    DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
    DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
  });
  db = await openDatabase(config);
  return { proxy, db };
}

/** How long `work` took to fail, and with what. */
async function failure(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await work.then(
    () => new Error("expected a failure"),
    (e: unknown) => e,
  );
  return { ms: Date.now() - started, error };
}

describe("PostgreSQL that does not answer", () => {
  it("a connection never answered fails at DB_CONNECT_TIMEOUT_MS, for a query and a transaction", async () => {
    const { proxy, db } = await behindProxy();
    proxy.stall();
    for (const work of [() => db.query("SELECT 1"), () => db.transaction((tx) => tx.query("SELECT 1"))]) {
      const { ms, error } = await failure(work());
      expect(error).toBeInstanceOf(DatabaseTimeout);
      expect((error as Error).message).toMatch(/PostgreSQL gave no connection within 300 ms \(DB_CONNECT_TIMEOUT_MS\)/);
      expect(ms).toBeLessThan(CONNECT_MS + 1_500);
    }
  });

  it("a statement never answered on an open connection fails at DB_STATEMENT_TIMEOUT_MS, and the pool recovers", async () => {
    const { proxy, db } = await behindProxy();
    // Both of the pool's connections open, so that each call below meets a warm one gone silent.
    await Promise.all([db.query("SELECT pg_sleep(0.05)"), db.query("SELECT pg_sleep(0.05)")]);
    proxy.stall();
    const single = await failure(db.query("SELECT 1"));
    expect(single.error).toBeInstanceOf(DatabaseTimeout);
    expect((single.error as Error).message).toMatch(/did not answer a statement within 1400 ms \(DB_STATEMENT_TIMEOUT_MS\)/);
    expect(single.ms).toBeLessThan(BOUND_MS);
    // A transaction's connection is dropped, not made to wait out a second timeout for its ROLLBACK.
    const tx = await failure(db.transaction((t) => t.query("SELECT 1")));
    expect((tx.error as Error).message).toMatch(/did not answer a statement within 1400 ms/);
    expect(tx.ms).toBeLessThan(BOUND_MS);
    proxy.resume();
    expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("Prisma's queries over the same pool give up too (the admin API's reads)", async () => {
    const { proxy, db } = await behindProxy();
    const prisma = createPrisma(db);
    try {
      await prisma.$queryRawUnsafe("SELECT 1");
      proxy.stall();
      const { ms, error } = await failure(prisma.$queryRawUnsafe("SELECT 1"));
      expect(error).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(BOUND_MS);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("the server cancels a statement that runs past DB_STATEMENT_TIMEOUT_MS", async () => {
    const { db } = await behindProxy();
    const { ms, error } = await failure(db.query("SELECT pg_sleep(5)"));
    expect((error as { code?: string }).code).toBe("57014");
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it("maintenance (migrations at start-up, the CLI's commands) runs without the statement timeout", async () => {
    const { db } = await behindProxy();
    const slow = "SELECT pg_sleep(0.8) AS slept";
    expect((await withoutStatementTimeout(db, (m) => m.query(slow))).rowCount).toBe(1);
    const config = loadConfig({ DATABASE_URL: proxy!.url(TEST_DATABASE_URL), DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS) });
    const maintenance = await openDatabase(config, "maintenance");
    try {
      expect((await maintenance.query(slow)).rowCount).toBe(1);
    } finally {
      await maintenance.close();
    }
  });
});

describe("DB_CONNECT_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS", () => {
  it("default to 5 s and 30 s, take 0 for no limit, and refuse what is not a number of ms", () => {
    expect(loadConfig({})).toMatchObject({ dbConnectTimeoutMs: 5_000, dbStatementTimeoutMs: 30_000, demoSeedWaitMs: 60_000 });
    expect(loadConfig({ DB_CONNECT_TIMEOUT_MS: "0", DB_STATEMENT_TIMEOUT_MS: "0" })).toMatchObject({ dbConnectTimeoutMs: 0, dbStatementTimeoutMs: 0 });
    expect(() => loadConfig({ DB_STATEMENT_TIMEOUT_MS: "30s" })).toThrow(/DB_STATEMENT_TIMEOUT_MS/);
    expect(() => loadConfig({ DB_CONNECT_TIMEOUT_MS: "-1" })).toThrow(/DB_CONNECT_TIMEOUT_MS/);
  });
});
