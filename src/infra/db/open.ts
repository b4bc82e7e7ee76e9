import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../../config.js";
import { lockDataDir } from "./data-dir-lock.js";
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

/** Where the data lives, for the start-up log line (never includes a password). */
export function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `embedded PGlite in ${path.join(config.dataDir, "pglite")}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}${config.databaseSchema ? ` schema ${config.databaseSchema}` : ""}`;
}
