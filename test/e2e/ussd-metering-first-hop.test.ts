/**
 * A session whose first hop fails (the database errors: the subscriber sees "service unavailable,
 * no money was moved") showed that END and nothing else, and the telco bills it all the same: it is
 * metered, once, as one stage, however many retries and end notices follow. Real Africa's Talking
 * payloads through two gateway instances on the real Redis and PostgreSQL; the failing instance
 * reaches the database through a proxy of this file's own that the test shuts (its meter does not).
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TcpProxy } from "../helpers/tcp-proxy.js";
import { addBankPaidPlan, coreThroughProxy, proxyToTestDb } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type RigInstance, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-metering-first-hop-0123456789abcdef";
const PHONE = "+254712640001";
const UNAVAILABLE = "END Service unavailable. No money was moved. Please try later.";
const ENDED = "END This session has ended. Please dial again.";

let rig: UssdRig;
let proxy: TcpProxy;
const cleanups: (() => Promise<unknown>)[] = [];

/** An instance whose menus read the database through the proxy; its sessions are metered by the rig's core. */
async function flakyInstance(): Promise<RigInstance> {
  proxy = await proxyToTestDb();
  const { services, ledger } = coreThroughProxy(rig, proxy, cleanups);
  return rig.addInstance({ services: { ...services, sessionMeter: rig.services.sessionMeter }, ledger });
}

async function metered(sessionId: string): Promise<{ stages: number; charge: string; end_reason: string; msisdn: string }[]> {
  const r = await rig.test.db.query<{ stages: number; charge: string; end_reason: string; msisdn: string }>(
    "SELECT stages, charge_minor::text AS charge, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1",
    [`at:${sessionId}@%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "first-hop-bank", secret: SECRET, instances: 1 });
  await rig.customer(PHONE, "Jane Firsthop", "en", "4827", 1_000_00n);
  // KES 0.10 a session and 0.05 a stage, paid by the bank: one stage costs 15.
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 5n });
});

afterAll(async () => {
  await rig?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe("a session whose first hop fails", () => {
  it("is metered once, as the one screen it showed (the END), whatever retries and end notices follow", async () => {
    const flaky = await flakyInstance();
    const sessionId = `fh-${randomBytes(4).toString("hex")}`;
    // The customer's read needs the database, which is gone: the dial itself fails.
    await proxy.close();
    expect((await rig.post(flaky.app, sessionId, PHONE, "")).text).toBe(UNAVAILABLE);
    await flaky.gateway.hops.drain();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "15", end_reason: "end", msisdn: PHONE }]);
    // The aggregator's retry of the dial (on the other instance) hears that the session has ended.
    expect((await rig.post(0, sessionId, PHONE, "")).text).toBe(ENDED);
    // Africa's Talking then reports the session's end: nothing more is metered.
    const notice = await request(rig.instances[0]!.app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber: PHONE, networkCode: "63902", status: "Success", durationInMillis: "900", hopsCount: "1", cost: "KES 0.00" });
    expect(notice.status).toBe(200);
    await rig.instances[0]!.gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
    // No lock left; the closed record stays until it lapses.
    expect(await rig.keysOf(sessionId)).toEqual([`${rig.prefix}at:${sessionId}`]);
  });
});
