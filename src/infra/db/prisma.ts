import { PrismaPg } from "@prisma/adapter-pg";
import type { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/client.js";
import type { PgliteDb, PostgresDb, SqlDb } from "./sql.js";

let pgliteAdapter: typeof PrismaPGlite | undefined;

/**
 * Loads Prisma's PGlite adapter, which loads PGlite itself (~50 MB of memory): only an embedded
 * database needs it, so whoever opens one calls this first (src/infra/db/open.ts, the tests).
 */
export async function loadPglitePrismaAdapter(): Promise<void> {
  pgliteAdapter ??= (await import("pglite-prisma-adapter")).PrismaPGlite;
}

export type { PrismaClient };

/**
 * A Prisma client over the same connection pool (or PGlite instance) as the hand-written SQL
 * stores, so both see one database and one schema. Prisma serves everything but the ledger's hot
 * path, which batches raw SQL for throughput.
 */
export function createPrisma(db: SqlDb, schema?: string): PrismaClient {
  if (db.kind === "pglite") {
    if (!pgliteAdapter) throw new Error("loadPglitePrismaAdapter() must run before createPrisma on PGlite");
    return new PrismaClient({ adapter: new pgliteAdapter((db as PgliteDb).pglite) });
  }
  return new PrismaClient({ adapter: new PrismaPg((db as PostgresDb).pool, schema ? { schema } : undefined) });
}
