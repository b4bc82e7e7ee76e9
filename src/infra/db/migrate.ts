import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { SqlDb } from "./sql.js";

/**
 * prisma/migrations, found by walking up from this file: three levels from src/infra/db when run
 * from source, four from dist/src/infra/db when compiled.
 */
export const MIGRATIONS_DIR = findUp(import.meta.dirname, path.join("prisma", "migrations"));

function findUp(from: string, relative: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${from}`);
  }
}

// Any constant works; it only has to be the same for every fingate process.
const MIGRATION_LOCK_KEY = 7_384_384;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;

/**
 * Applies pending migrations in name order, each in its own transaction, recording them in
 * Prisma's `_prisma_migrations` table so `prisma migrate deploy` on a connected machine agrees.
 * An advisory lock keeps two starting instances from migrating at once. Returns the names applied.
 */
export async function migrate(db: SqlDb, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readMigrations(dir);
  const schema = "schema" in db ? (db.schema as string | undefined) : undefined;
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    // A configured schema that does not exist yet is created, so DATABASE_SCHEMA works on a new
    // database. Under the lock: two instances starting at once both found it missing, and the
    // second one's CREATE SCHEMA IF NOT EXISTS failed on the catalog's unique index (the start crashed).
    if (schema) await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.exec(CREATE_TABLE);
    const done = await tx.query<{ migration_name: string; checksum: string; finished: boolean }>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    // A row without finished_at is a migration `prisma migrate deploy` started and did not finish
    // (ours leave no row when they fail: one transaction). Its SQL may be half applied; Prisma
    // refuses to go on (P3009) until it is resolved, and so does this, rather than take it as done.
    const failed = done.rows.find((r) => !r.finished);
    if (failed) {
      throw new Error(
        `migration ${failed.migration_name} failed when it was applied (no finished_at in _prisma_migrations): ` +
          "repair the database and mark it with `prisma migrate resolve --applied` or `--rolled-back` first",
      );
    }
    const applied = new Map(done.rows.map((r) => [r.migration_name, r.checksum]));
    const ran: string[] = [];
    for (const file of files) {
      const known = applied.get(file.name);
      if (known !== undefined) {
        if (known !== file.checksum) throw new Error(`migration ${file.name} was edited after it was applied`);
        continue;
      }
      await tx.exec(file.sql);
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
         VALUES ($1, $2, now(), $3, 1)`,
        [randomUUID(), file.checksum, file.name],
      );
      ran.push(file.name);
    }
    return ran;
  });
}
