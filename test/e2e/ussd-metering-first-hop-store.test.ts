/**
 * A session's first hop that fails before it could read the session store (Redis went away from
 * this instance: "service unavailable, no money was moved"; or another holder kept the session's
 * lock past the wait: "busy") showed that END and nothing else, and the telco bills it: once the
 * store answers again, it is metered, once, as one stage, however many retries and end notices
 * follow. A shortcut dial's first hop (text "1") cannot be told at the hop from a lost session's
 * continuation: Africa's Talking's notice of a one-hop session meters it. Real Africa's Talking payloads through two gateway instances on the real Redis and
 * PostgreSQL; the failing instance reaches Redis through a proxy of this file's own.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { openTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, TEST_REDIS_URL, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-metering-first-hop-store-0123456789abcdef";
const DOWN = "+254712910021";
const BUSY = "+254712910022";
const SHORTCUT = "+254712990021";
const UNAVAILABLE = "END Service unavailable. No money was moved. Please try later.";
const STILL_WORKING = /^END .*(still|working)/i;
const ENDED = "END This session has ended. Please dial again.";

let rig: UssdRig;
let proxy: TcpProxy;

async function metered(sessionId: string): Promise<{ stages: number; charge: string; end_reason: string; msisdn: string }[]> {
  const r = await rig.test.db.query<{ stages: number; charge: string; end_reason: string; msisdn: string }>(
    "SELECT stages, charge_minor::text AS charge, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1",
    [`at:${sessionId}@%`],
  );
  return r.rows;
}

async function settled(): Promise<void> {
  for (const { gateway } of rig.instances) await gateway.hops.drain();
}

const notice = (sessionId: string, phoneNumber: string, hopsCount = "1") =>
  request(rig.instances[0]!.app)
    .post("/ussd/at/events")
    .set("x-fingate-secret", SECRET)
    .type("form")
    .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", status: "Success", durationInMillis: "900", hopsCount, cost: "KES 0.00" });

beforeAll(async () => {
  rig = await openUssdRig({ code: "first-hop-store-bank", secret: SECRET, instances: 1 });
  await rig.customer(DOWN, "Jane Storedown", "en", "4827", 1_000_00n);
  await rig.customer(BUSY, "John Storebusy", "en", "4827", 1_000_00n);
  await rig.customer(SHORTCUT, "Ama Shortcut", "en", "4827", 1_000_00n);
  // KES 0.10 a session and 0.05 a stage, paid by the bank: one stage costs 15.
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 5n });
  const u = new URL(TEST_REDIS_URL);
  proxy = await openTcpProxy(u.hostname, Number(u.port || 6379));
});

afterAll(async () => {
  await rig?.close();
  await proxy?.close();
});

describe("a first hop that fails before it reads the session store", () => {
  it("Redis goes away from the instance for the dial: metered once as that END once Redis is back", async () => {
    const sessions = await RedisSessionStore.connect(proxy.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ sessions });
    const sessionId = `fs-${randomBytes(4).toString("hex")}`;
    proxy.refuse();
    expect((await rig.post(flaky.app, sessionId, DOWN, "")).text).toBe(UNAVAILABLE);
    proxy.accept();
    await settled();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "15", end_reason: "end", msisdn: DOWN }]);
    // The aggregator's retry of the dial hears that the session has ended; the notice meters nothing more.
    expect((await rig.post(0, sessionId, DOWN, "")).text).toBe(ENDED);
    expect((await notice(sessionId, DOWN)).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  });

  it("the session's lock stays held elsewhere past the wait (busy): metered once as that END once the lock lapses", async () => {
    const quick = await rig.addInstance({ hopLimits: { lockWaitMs: 200 } });
    const sessionId = `fb-${randomBytes(4).toString("hex")}`;
    // A holder that never writes the session (an instance that died mid-hop): its lock lapses in 1.5 s.
    await rig.redis.set(`${rig.prefix}lock:at:${sessionId}`, "ghost", "PX", 1_500);
    expect((await rig.post(quick.app, sessionId, BUSY, "")).text).toMatch(STILL_WORKING);
    await settled();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "15", end_reason: "end", msisdn: BUSY }]);
    expect((await rig.post(0, sessionId, BUSY, "")).text).toBe(ENDED);
    expect((await notice(sessionId, BUSY)).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  });

  it("a later hop whose store read failed, finding nothing afterwards, is not taken for a first hop: nothing is metered", async () => {
    const sessions = await RedisSessionStore.connect(proxy.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ sessions });
    const sessionId = `fl-${randomBytes(4).toString("hex")}`;
    proxy.refuse();
    expect((await rig.post(flaky.app, sessionId, DOWN, "1*4827")).text).toBe(UNAVAILABLE);
    proxy.accept();
    await settled();
    expect(await metered(sessionId)).toEqual([]);
    expect(await rig.keysOf(sessionId)).toEqual([]);
    // Africa's Talking's notice says the session had more hops than that one: still nothing to meter it by.
    expect((await notice(sessionId, DOWN, "3")).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toEqual([]);
  });

  it("a shortcut dial's first hop (text \"1\"): unmetered by the hop, metered once by Africa's Talking's notice of a one-hop session", async () => {
    const sessions = await RedisSessionStore.connect(proxy.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ sessions });
    const sessionId = `fsc-${randomBytes(4).toString("hex")}`;
    proxy.refuse();
    expect((await rig.post(flaky.app, sessionId, SHORTCUT, "1")).text).toBe(UNAVAILABLE);
    proxy.accept();
    await settled();
    // The hop alone cannot tell this dial (*384*1#) from the continuation of a lost session.
    expect(await metered(sessionId)).toEqual([]);
    // The notice can: one hop, and we hold no record of it. Its retry, on the other instance, meters nothing more.
    for (const app of [rig.instances[0]!.app, flaky.app]) {
      const r = await request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form")
        .send({ sessionId, serviceCode: "*384#", phoneNumber: SHORTCUT, networkCode: "63902", status: "Success", durationInMillis: "900", hopsCount: "1", cost: "KES 0.00" });
      expect(r.status).toBe(200);
      await settled();
    }
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "15", end_reason: "end", msisdn: SHORTCUT }]);
    expect((await rig.post(0, sessionId, SHORTCUT, "1")).text).toBe(ENDED);
  });
});
