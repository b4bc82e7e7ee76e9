/**
 * The sweep of unposted session charges keeps where it reached in the database
 * (charge_sweep_marks), so a gateway stopped for longer than the one-day look-back still posts
 * the charges it left, and the mark only ever moves forward, whichever instance saves it
 * (src/ussd/charge-sweep.ts). Real PostgreSQL and Redis, the real ledger.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { chargeSweepKit } from "../helpers/ussd-charge-sweep-kit.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const PHONE = "+254712960021";
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let rig: UssdRig;
let log: SqlSessionLog;
const { perStageTelco, leftUnposted, outcome, gateway, closeGateways } = chargeSweepKit(() => rig, PHONE, () => log);

beforeAll(async () => {
  rig = await openUssdRig({ code: "sweep-mark-bank", secret: "sweep-mark-secret-0123456789abcdef", instances: 0 });
  log = new SqlSessionLog(rig.test.db);
  await perStageTelco("Mark Telco", new Date(Date.now() - 10 * DAY));
});

afterAll(async () => {
  await closeGateways();
  await rig?.close();
});

describe("the charge sweep's saved mark", () => {
  it("lets a gateway stopped for days post the charges it left, and is saved where the sweep reached", async () => {
    // The last sweep before the stop reached four days ago; a session ended three days ago was
    // left unposted when the gateway stopped.
    await log.saveSweepMark(rig.bankId, { endedAt: new Date(Date.now() - 4 * DAY), sessionId: "" });
    const leftBehind = `at:mark-${randomBytes(4).toString("hex")}`;
    await leftUnposted(leftBehind, 3 * DAY);

    const restarted = await gateway();
    expect(await restarted.chargeSweep!.sweep()).toBe(1);
    expect(await outcome(leftBehind)).toBe("posted");

    // Caught up: the mark is where the sweep stopped, five minutes (its grace) back.
    const mark = await log.sweepMark(rig.bankId);
    expect(Date.now() - mark!.endedAt.getTime()).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(Date.now() - mark!.endedAt.getTime()).toBeLessThan(6 * MINUTE);
  });

  it("only moves forward: an instance lagging behind cannot pull it back", async () => {
    const before = await log.sweepMark(rig.bankId);
    await log.saveSweepMark(rig.bankId, { endedAt: new Date(before!.endedAt.getTime() - DAY), sessionId: "zzz" });
    expect(await log.sweepMark(rig.bankId)).toEqual(before);
    // Same instant, a later session id: forward.
    await log.saveSweepMark(rig.bankId, { endedAt: before!.endedAt, sessionId: "at:later" });
    expect(await log.sweepMark(rig.bankId)).toEqual({ endedAt: before!.endedAt, sessionId: "at:later" });
  });

  it("is kept per institution", async () => {
    expect(await log.sweepMark(randomUUID())).toBeNull();
  });

  it("does not stop a restarted gateway from reading the last day: a session recorded after the mark passed its end is still posted", async () => {
    const late = `at:mark-late-${randomBytes(4).toString("hex")}`;
    await leftUnposted(late, 2 * 60 * MINUTE);
    expect((await log.sweepMark(rig.bankId))!.endedAt.getTime()).toBeGreaterThan(Date.now() - 2 * 60 * MINUTE);
    const restarted = await gateway();
    expect(await restarted.chargeSweep!.sweep()).toBe(1);
    expect(await outcome(late)).toBe("posted");
  });
});
