// The runner shares Prisma's `_prisma_migrations` table with `prisma migrate deploy` (run on a
// connected machine), so it reads what Prisma records there as Prisma does.
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "../../src/infra/db/migrate.js";
import { openTestDbBefore, type TestDb } from "../helpers/db.js";

let test: TestDb | undefined;
afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

describe("migrate and the rows prisma migrate deploy leaves", () => {
  it("refuses to start over a migration Prisma started and did not finish, instead of taking it as applied", async () => {
    const files = await readMigrations();
    const last = files.at(-1)!;
    test = await openTestDbBefore("postgres", last.name);
    // What `prisma migrate deploy` records when a migration's SQL fails part-way: no finished_at.
    await test.db.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES ($1, $2, $3, 'error', now(), 0)`,
      [randomUUID(), last.checksum, last.name],
    );
    await expect(migrate(test.db)).rejects.toThrow(`migration ${last.name} failed when it was applied`);
    // Once resolved as rolled back (prisma migrate resolve --rolled-back), it is applied again.
    await test.db.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [last.name]);
    expect(await migrate(test.db)).toEqual([last.name]);
    expect(await migrate(test.db)).toEqual([]);
  });
});
