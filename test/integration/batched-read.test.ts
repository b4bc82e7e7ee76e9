/**
 * BatchedRead (src/infra/db/batched-read.ts): calls made together share one statement, and each
 * still gets exactly what its own query returns (order and LIMIT included); a call with a bad
 * parameter fails alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchedRead } from "../../src/infra/db/batched-read.js";
import type { SqlExecutor } from "../../src/infra/db/sql.js";
import { openTestDb, STORE_KINDS, type TestDb } from "../helpers/db.js";

/** Counts the statements that reach the database. */
function counting(db: SqlExecutor): SqlExecutor & { statements: number } {
  const counted = {
    statements: 0,
    query: <R>(text: string, params?: unknown[]) => {
      counted.statements += 1;
      return db.query<R>(text, params);
    },
    exec: (script: string) => db.exec(script),
  };
  return counted;
}

describe.each(STORE_KINDS)("batched reads on %s", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind);
    await t.db.exec(`CREATE TABLE batch_items (owner uuid NOT NULL, n int NOT NULL, label text NOT NULL);
      INSERT INTO batch_items SELECT ('00000000-0000-0000-0000-00000000000' || o)::uuid, n, 'item ' || o || '-' || n
      FROM generate_series(1, 3) o, generate_series(1, 5) n;`);
  });
  afterAll(() => t.cleanup());

  const SQL = `SELECT label, n FROM batch_items WHERE owner = $1::uuid AND n >= $2::int ORDER BY n DESC LIMIT $3::int`;
  const owner = (o: number) => `00000000-0000-0000-0000-00000000000${o}`;

  it("answers calls made together from one statement, each as its own query would", async () => {
    const db = counting(t.db);
    const read = new BatchedRead<{ label: string; n: number }>(db, SQL, 3);
    const calls: [string, number, number][] = [
      [owner(1), 1, 2],
      [owner(2), 3, 10],
      [owner(9), 1, 5],
      [owner(3), 5, 1],
      [owner(1), 1, 2],
    ];
    const batched = await Promise.all(calls.map((p) => read.query(p)));
    expect(db.statements).toBe(1);
    const alone = await Promise.all(calls.map(async (p) => (await t.db.query<{ label: string; n: number }>(SQL, p)).rows));
    expect(batched).toEqual(alone);
    expect(batched[0]!.map((r) => r.label)).toEqual(["item 1-5", "item 1-4"]);
    expect(batched[2]).toEqual([]);
  });

  it("fails only the call whose parameter is bad", async () => {
    const read = new BatchedRead<{ label: string }>(t.db, SQL, 3);
    const results = await Promise.allSettled([read.query([owner(1), 4, 5]), read.query(["not-a-uuid", 1, 1]), read.query([owner(2), 5, 5])]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[0] as PromiseFulfilledResult<{ label: string }[]>).value.map((r) => r.label)).toEqual(["item 1-5", "item 1-4"]);
  });

  it("refuses a query naming a parameter beyond its arity, and a call with the wrong number of parameters", async () => {
    expect(() => new BatchedRead(t.db, "SELECT $2::int AS x", 1)).toThrow(/beyond/);
    await expect(new BatchedRead(t.db, SQL, 3).query([owner(1)])).rejects.toThrow(/3 parameters/);
  });
});

describe("batched reads' plans on postgres", () => {
  let t: TestDb;
  // One connection: the statement is prepared once, and pg_prepared_statements shows that session's.
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 1 });
    await t.db.exec(`CREATE TABLE plan_items (key text PRIMARY KEY, label text NOT NULL);
      INSERT INTO plan_items SELECT 'k' || g, 'item ' || g FROM generate_series(1, 2000) g; ANALYZE plan_items;`);
  });
  afterAll(() => t.cleanup());

  it("lets PostgreSQL keep one generic plan instead of planning every batch again", async () => {
    const read = new BatchedRead<{ label: string }>(t.db, "SELECT label FROM plan_items WHERE key = $1", 1);
    for (let round = 0; round < 8; round++) {
      const keys = round % 2 === 0 ? [`k${round + 1}`, "nope"] : [`k${round + 1}`, `k${round + 100}`, `k${round + 200}`];
      const rows = await Promise.all(keys.map((k) => read.query([k])));
      expect(rows.map((r) => r.map((x) => x.label))).toEqual(keys.map((k) => (k === "nope" ? [] : [`item ${k.slice(1)}`])));
    }
    const plans = await t.db.query<{ generic: string; custom: string }>(
      "SELECT generic_plans::text AS generic, custom_plans::text AS custom FROM pg_prepared_statements WHERE statement LIKE '%fg_batch%'",
    );
    expect(plans.rows).toHaveLength(1);
    // PostgreSQL tries five custom plans first; from then on the batch runs the generic one.
    expect(Number(plans.rows[0]!.custom)).toBe(5);
    expect(Number(plans.rows[0]!.generic)).toBe(3);
  });
});
