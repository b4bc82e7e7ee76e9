import { loadPglitePrismaAdapter } from "../../src/infra/db/prisma.js";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MIGRATIONS_DIR, migrate } from "../../src/infra/db/migrate.js";
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

/**
 * A test database migrated up to the migration before `migration` (an upgrade's test: rows as the
 * older code wrote them, then `migrate` applies the rest). Cleanup also removes the copied folder.
 */
export async function openTestDbBefore(kind: StoreKind, migration: string): Promise<TestDb> {
  const dir = mkdtempSync(path.join(tmpdir(), "fingate-migrations-"));
  for (const name of readdirSync(MIGRATIONS_DIR)) {
    if (name < migration) cpSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
  }
  const test = await openTestDb(kind, { migrationsDir: dir });
  return {
    ...test,
    cleanup: async () => {
      await test.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
