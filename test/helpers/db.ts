import { loadPglitePrismaAdapter } from "../../src/infra/db/prisma.js";
import { randomBytes } from "node:crypto";
import { migrate } from "../../src/infra/db/migrate.js";
import { PgliteDb, PostgresDb, type SqlDb } from "../../src/infra/db/sql.js";

/** The real PostgreSQL the integration tests use; CI starts it. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

export type StoreKind = "postgres" | "pglite";

export interface TestDb {
  db: SqlDb;
  kind: StoreKind;
  /** PostgreSQL schema of this test file (undefined on PGlite, which is a fresh instance). */
  schema?: string;
  cleanup(): Promise<void>;
}

/**
 * A freshly migrated database of its own for one test file: a new schema in the shared
 * PostgreSQL (dropped by cleanup), or a new in-memory PGlite. Files can run in parallel.
 * `migrationsDir` migrates it only as far as the migrations found there (an upgrade's test).
 */
export async function openTestDb(kind: StoreKind, options: { maxConnections?: number; migrationsDir?: string } = {}): Promise<TestDb> {
  if (kind === "pglite") {
    await loadPglitePrismaAdapter();
    const db = await PgliteDb.open();
    await migrate(db, options.migrationsDir);
    return { db, kind, cleanup: () => db.close() };
  }
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const db = new PostgresDb({ connectionString: TEST_DATABASE_URL, schema, maxConnections: options.maxConnections ?? 16 });
  await migrate(db, options.migrationsDir);
  return {
    db,
    kind,
    schema,
    cleanup: async () => {
      await db.close();
      await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close();
    },
  };
}

export const STORE_KINDS: StoreKind[] = ["postgres", "pglite"];
