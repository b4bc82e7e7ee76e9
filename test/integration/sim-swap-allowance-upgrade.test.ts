// Migration 20261130100000 moves the SIM-swap allowance from one row per report to one row per
// number: what was spent under a number's reports carries over, summed and dated by its latest
// report, so an upgrade never hands a cooling number a fresh allowance.
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/infra/db/migrate.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDbBefore, type TestDb } from "../helpers/db.js";

let test: TestDb | undefined;
afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

const COOLING_MS = 72 * 3_600_000;

describe("upgrade to the allowance per number", () => {
  it("carries what each report's row spent over to the number's row", async () => {
    test = await openTestDbBefore("postgres", "20261130100000");
    const msisdn = "+254712620901";
    const first = new Date(Date.now() - 10 * 3_600_000);
    const second = new Date(Date.now() - 3_600_000);
    const events = [randomUUID(), randomUUID()];
    for (const [i, at] of [first, second].entries()) {
      await test.db.query(
        `INSERT INTO sim_swap_events (id, msisdn, kind, occurred_at, reported_at, reporter_type, reporter_id) VALUES ($1::uuid, $2, 'sim_swap', $3::timestamptz, now(), 'telco', 'safaricom')`,
        [events[i], msisdn, at.toISOString()],
      );
      await test.db.query(`INSERT INTO sim_swap_spent (event_id, spent_minor) VALUES ($1::uuid, $2)`, [events[i], i === 0 ? "300" : "400"]);
    }
    await migrate(test.db);
    const rows = await test.db.query<{ since: Date; spent_minor: string }>(`SELECT since, spent_minor::text FROM sim_swap_allowance WHERE msisdn = $1`, [msisdn]);
    expect(rows.rows).toEqual([{ since: second, spent_minor: "700" }]);
    // The number cools on from its first report: 300 of the 1,000 is left, not a new 1,000.
    const store = new SqlSimSwapStore(test.db);
    expect(await store.spend(msisdn, 301n, 1_000n, COOLING_MS)).toBeNull();
    expect(await store.spend(msisdn, 300n, 1_000n, COOLING_MS)).toEqual(first);
  });
});
