import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "../../src/infra/db/migrate.js";
import { PostgresDb } from "../../src/infra/db/sql.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";

const admin = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.close();
});

describe("migrate on PostgreSQL with DATABASE_SCHEMA", () => {
  it("instances starting at once on a schema that does not exist yet both start, and every migration is applied once", async () => {
    const files = await readMigrations();
    // The race (both find the schema missing, the second CREATE SCHEMA IF NOT EXISTS fails on the
    // catalog's unique index) failed in about half the rounds of two: several rounds make it show.
    for (let round = 0; round < 5; round++) {
      const schema = `t_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      const instances = [0, 1, 2].map(() => new PostgresDb({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 2 }));
      try {
        const outcomes = await Promise.allSettled(instances.map((db) => migrate(db)));
        const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
        expect(failed, `round ${round}`).toEqual([]);
        const applied = outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value : []));
        expect(applied.sort()).toEqual(files.map((f) => f.name));
        const recorded = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."_prisma_migrations"`);
        expect(recorded.rows[0]!.n).toBe(files.length);
        // The tables are in the configured schema (its search_path), not anywhere else.
        const ledger = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'transfers'`, [schema]);
        expect(ledger.rows[0]!.n).toBe(1);
      } finally {
        for (const db of instances) await db.close();
      }
    }
  });
});
