import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/client.js";
import type { PgliteDb, PostgresDb, SqlDb } from "./sql.js";

export type { PrismaClient };

/**
 * A Prisma client over the same connection pool (or PGlite instance) as the hand-written SQL
 * stores, so both see one database and one schema. Prisma serves everything but the ledger's hot
 * path, which batches raw SQL for throughput.
 */
export function createPrisma(db: SqlDb, schema?: string): PrismaClient {
  if (db.kind === "pglite") return new PrismaClient({ adapter: new PrismaPGlite((db as PgliteDb).pglite) });
  return new PrismaClient({ adapter: new PrismaPg((db as PostgresDb).pool, schema ? { schema } : undefined) });
}
