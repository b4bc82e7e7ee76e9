/**
 * An Africa's Talking session that one of our error ENDs ended (a hop that failed: "service
 * unavailable") is billed for the screens the subscriber saw, that END included, as Hubtel,
 * generic and SMPP sessions are (docs/ussd.md). Real Africa's Talking payloads through two gateway
 * instances on the real Redis and PostgreSQL; the failing instance reaches the database through a
 * proxy of this file's own that the test shuts (its meter does not: a blip of the menus' reads).
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TcpProxy } from "../helpers/tcp-proxy.js";
import { addBankPaidPlan, coreThroughProxy, proxyToTestDb } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type RigInstance, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-metering-error-end-0123456789abcdef";
const PHONE = "+254712230001";
const UNAVAILABLE = "END Service unavailable. No money was moved. Please try later.";

let rig: UssdRig;
let proxy: TcpProxy;
const cleanups: (() => Promise<unknown>)[] = [];

/** An instance whose menus read the database through the proxy; its sessions are metered by the rig's core. */
async function flakyInstance(): Promise<RigInstance> {
  proxy = await proxyToTestDb();
  const { services, ledger } = coreThroughProxy(rig, proxy, cleanups);
  return rig.addInstance({ services: { ...services, sessionMeter: rig.services.sessionMeter }, ledger });
}

async function meteredStages(sessionId: string): Promise<{ stages: number; charge: string; end_reason: string }[]> {
  const r = await rig.test.db.query<{ stages: number; charge: string; end_reason: string }>(
    "SELECT stages, charge_minor::text AS charge, end_reason FROM metered_sessions WHERE session_id LIKE $1",
    [`at:${sessionId}%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "err-end-bank", secret: SECRET, instances: 1 });
  await rig.customer(PHONE, "Jane Errorend", "en", "4827", 1_000_00n);
  // 1 a stage, paid by the bank: the charge is the stage count.
  await addBankPaidPlan(rig, { perSessionMinor: 0n, perStageMinor: 1n });
});

afterAll(async () => {
  await rig?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe("Africa's Talking: a session ended by a failed hop", () => {
  it("is metered with the END 'service unavailable' among its screens, once, whatever the end notification says after", async () => {
    const flaky = await flakyInstance();
    const sessionId = `ee-${randomBytes(4).toString("hex")}`;
    expect((await rig.post(flaky.app, sessionId, PHONE, "")).text).toMatch(/^CON Welcome/);
    expect((await rig.post(flaky.app, sessionId, PHONE, "2")).text).toMatch(/^CON /);
    await flaky.gateway.hops.drain();
    // The payee's lookup needs the database, which is gone: the hop fails, the subscriber sees END.
    await proxy.close();
    expect((await rig.post(flaky.app, sessionId, PHONE, "2*0712230002")).text).toBe(UNAVAILABLE);
    await flaky.gateway.hops.drain();
    // A retry of the failed hop (on the other instance) hears that the session has ended.
    expect((await rig.post(0, sessionId, PHONE, "2*0712230002")).text).toBe("END This session has ended. Please dial again.");
    // Africa's Talking then reports the session's end (to the other instance).
    const notice = await request(rig.instances[0]!.app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber: PHONE, networkCode: "63902", status: "Success", durationInMillis: "9000", hopsCount: "3", cost: "KES 0.00" });
    expect(notice.status).toBe(200);
    await rig.instances[0]!.gateway.hops.drain();
    // Three screens: the main menu, "enter the number", the END.
    await expect.poll(() => meteredStages(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 3, charge: "3", end_reason: "end" }]);
  });
});
