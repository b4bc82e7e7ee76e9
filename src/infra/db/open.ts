import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../../config.js";
import { lockDataDir } from "./data-dir-lock.js";
import { loadPglitePrismaAdapter } from "./prisma.js";
import { PgliteDb, PostgresDb, type SqlDb } from "./sql.js";

/**
 * DATABASE_URL set → PostgreSQL; unset → PGlite persisted under the data directory.
 * `maintenance`: a command whose statements may rightly run long (migrations, `fingate ledger
 * verify`), opened without DB_STATEMENT_TIMEOUT_MS; the connect timeout still holds.
 */
export async function openDatabase(config: Config, use: "serve" | "maintenance" = "serve"): Promise<SqlDb> {
  if (config.databaseUrl) {
    return new PostgresDb({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema,
      maxConnections: config.dbPoolSize,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      statementTimeoutMs: use === "serve" ? config.dbStatementTimeoutMs : 0,
    });
  }
  const dir = path.join(config.dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  // Before PGlite touches the files: a second process on them would go over the first one's writes.
  const release = await lockDataDir(config.dataDir);
  try {
    await loadPglitePrismaAdapter();
    return await PgliteDb.open(dir, release);
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * Runs fn on db as maintenance: on PostgreSQL over a connection of its own without the statement
 * timeout (a migration that rewrites a large table must not be cancelled half way at start-up);
 * PGlite, in the process, has none to lift.
 */
export async function withoutStatementTimeout<T>(db: SqlDb, fn: (db: SqlDb) => Promise<T>): Promise<T> {
  if (!(db instanceof PostgresDb)) return fn(db);
  const maintenance = db.withOptions({ maxConnections: 1, statementTimeoutMs: 0 });
  try {
    return await fn(maintenance);
  } finally {
    await maintenance.close();
  }
}

/** Where the data lives, for the start-up log line (never includes a password). */
export function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `embedded PGlite in ${path.join(config.dataDir, "pglite")}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}${config.databaseSchema ? ` schema ${config.databaseSchema}` : ""}`;
}
