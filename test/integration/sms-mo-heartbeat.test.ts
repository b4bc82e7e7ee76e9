/**
 * The heartbeat that keeps a running MO command's lease, against PostgreSQL: it extends the lease
 * every third of it while the run goes on, lets it lapse once stopped (no renewal left behind),
 * and stops renewing by itself once the run has gone on for the longest a run may take. The lease
 * is shortened to 1.2 s; time passes for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MoLeaseHeartbeat } from "../../src/sms/commands/mo-heartbeat.js";
import { SqlMoLog } from "../../src/sms/commands/mo-log.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const LEASE_SEC = 1.2;
let test: TestDb;
let log: SqlMoLog;
const warnings: string[] = [];
const logger = { warn: (_obj: object, msg: string) => void warnings.push(msg) };

beforeAll(async () => {
  test = await openTestDb("postgres");
  log = new SqlMoLog(test.db);
});
afterAll(async () => {
  await test?.cleanup();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const record = (moKey: string) => ({ linkId: "link-heartbeat", moKey, msisdn: "+254712970201", command: "send" });
/** Whether a run's lease on the record still holds. */
const leased = async (id: string) => (await test.db.query<{ held: boolean }>("SELECT running_until > CURRENT_TIMESTAMP AS held FROM sms_mo_messages WHERE id = $1", [id])).rows[0]!.held;

describe("MO lease heartbeat", () => {
  it("holds the lease past its length while running, and lets it lapse once stopped", async () => {
    const claim = await log.claim(record("beat-1"), 300, LEASE_SEC);
    const heartbeat = MoLeaseHeartbeat.start(log, [{ id: claim.id, runToken: claim.runToken! }], { leaseSec: LEASE_SEC, maxRunSec: 30, logger });
    await sleep(3_000); // two and a half leases
    expect(await leased(claim.id)).toBe(true);
    await heartbeat.stop();
    await sleep(1_500);
    expect(await leased(claim.id)).toBe(false);
  });

  it("stops renewing by itself once the run has gone on for maxRunSec, so a stuck run lets go", async () => {
    const claim = await log.claim(record("beat-2"), 300, LEASE_SEC);
    const heartbeat = MoLeaseHeartbeat.start(log, [{ id: claim.id, runToken: claim.runToken! }], { leaseSec: LEASE_SEC, maxRunSec: 2, logger });
    await sleep(1_500);
    expect(await leased(claim.id)).toBe(true);
    await sleep(2_200); // past maxRunSec plus a lease
    expect(await leased(claim.id)).toBe(false);
    expect(warnings).toContain("sms command running too long: its lease is no longer renewed");
    await heartbeat.stop();
  });
});
