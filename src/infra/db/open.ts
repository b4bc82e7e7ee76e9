import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../../config.js";
import { loadPglitePrismaAdapter } from "./prisma.js";
import { PgliteDb, PostgresDb, type SqlDb } from "./sql.js";

/** DATABASE_URL set → PostgreSQL; unset → PGlite persisted under the data directory. */
export async function openDatabase(config: Config): Promise<SqlDb> {
  if (config.databaseUrl) {
    return new PostgresDb({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema,
      maxConnections: config.dbPoolSize,
    });
  }
  const dir = path.join(config.dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  await loadPglitePrismaAdapter();
  return PgliteDb.open(dir);
}

/** Where the data lives, for the start-up log line (never includes a password). */
export function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `embedded PGlite in ${path.join(config.dataDir, "pglite")}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}${config.databaseSchema ? ` schema ${config.databaseSchema}` : ""}`;
}
