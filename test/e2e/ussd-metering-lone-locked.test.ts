/**
 * Africa's Talking's end notice of a one-hop session (`hopsCount` 1) for which no record is found
 * meters that session as one stage (EndOptions.lone). When another instance's hop of the session
 * held its lock past the notice's wait (a stalled database), the notice went ahead without the
 * lock, metered the lone session, and the hop then wrote its own record and metered the session
 * again when it ended: two charges, under two keys (the two starts differ). The notice now meters a
 * lone session only under the lock. Real form payloads to gateway instances sharing the real Redis,
 * over the real core on PostgreSQL; the slow hop's instance reads its database through a proxy of
 * this file's, and its meter is the rig's.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TcpProxy } from "../helpers/tcp-proxy.js";
import { addBankPaidPlan, coreThroughProxy, proxyToTestDb, type Cleanups } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const AT_SECRET = "e2e-lone-locked-at-0123456789abcdef";
const ENDED = "END This session has ended. Please dial again.";

let rig: UssdRig;
const cleanups: Cleanups = [];

async function settled(): Promise<void> {
  for (const { gateway } of rig.instances) await gateway.hops.drain();
}

async function metered(sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string; msisdn: string }>(
    "SELECT stages, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1 ORDER BY started_at",
    [`at:${sessionId}@%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "lone-locked-bank", secret: AT_SECRET, instances: 0 });
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
});

afterAll(async () => {
  await rig?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe("Africa's Talking: the notice of a one-hop session while another instance's hop of it holds the lock", () => {
  let proxy: TcpProxy;

  it("meters the session once", async () => {
    const phone = "+254713120004";
    await rig.customer(phone, "Halima Slow", "en", "4827", 1_000_00n);
    proxy = await proxyToTestDb();
    const { services, ledger } = coreThroughProxy(rig, proxy, cleanups);
    // The slow hop's instance answers END over budget soon; its session is closed and metered by it.
    const slow = await rig.addInstance({ services: { ...services, sessionMeter: rig.services.sessionMeter }, ledger, hopLimits: { hopBudgetMs: 300 } });
    // The notice's instance waits only briefly for a lock held elsewhere.
    const quick = await rig.addInstance({ hopLimits: { lockWaitMs: 200 } });
    const sessionId = `al-${randomBytes(4).toString("hex")}`;
    proxy.stall();
    const dial = rig.post(slow.app, sessionId, phone, "").then((r) => r);
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:at:${sessionId}`), { timeout: 3_000, interval: 20 }).toBe(1);
    expect((await dial).text).toMatch(/^END /);
    // Africa's Talking gave up on the slow hop and reports a session of one hop.
    const notice = request(quick.app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", AT_SECRET)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber: phone, networkCode: "63902", status: "Failed", durationInMillis: "900", hopsCount: "1", cost: "KES 0.00" })
      .then((r) => r);
    await new Promise((r) => setTimeout(r, 600));
    proxy.resume();
    expect((await notice).status).toBe(200);
    await settled();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await metered(sessionId)).toHaveLength(1);
    // A late retry of the dial hears that the session ended, and meters nothing more.
    expect((await rig.post(quick.app, sessionId, phone, "")).text).toBe(ENDED);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  }, 30_000);
  it("a hop that outlives its own lock meters nothing: its commit is refused, and the notice meters the session once", async () => {
    const phone = "+254713170201";
    const customer = await rig.customer(phone, "Baraka Frozen", "en", "4827", 1_000_00n);
    const bank = { actorType: "bank_user" as const, actorId: "e2e-bank", channel: "admin" as const, institutionId: rig.bankId };
    // A blocked customer's first screen is an END: the one-hop session ends in the hop itself.
    expect((await rig.services.directory.setStatus(bank, customer.id, "blocked")).ok).toBe(true);
    const stalled = await proxyToTestDb();
    const { services, ledger } = coreThroughProxy(rig, stalled, cleanups);
    const slow = await rig.addInstance({ services: { ...services, sessionMeter: rig.services.sessionMeter }, ledger, hopLimits: { hopBudgetMs: 300, lockTtlMs: 1_000 } });
    const quick = await rig.addInstance({ hopLimits: { lockWaitMs: 200, lockTtlMs: 1_000 } });
    const sessionId = `ab-${randomBytes(4).toString("hex")}`;
    stalled.stall();
    const dial = rig.post(slow.app, sessionId, phone, "").then((r) => r);
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:at:${sessionId}`), { timeout: 3_000, interval: 20 }).toBe(1);
    expect((await dial).text).toMatch(/^END /);
    // The notice takes the lock once the stalled hop's has lapsed (1 s), finds no record, and meters the lone session.
    const notice = await request(quick.app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", AT_SECRET)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber: phone, networkCode: "63902", status: "Failed", durationInMillis: "900", hopsCount: "1", cost: "KES 0.00" });
    expect(notice.status).toBe(200);
    // The database comes back 2.5 s in: the hop ends its session (account frozen), its commit refused.
    await new Promise((r) => setTimeout(r, 2_500 - 1_000));
    stalled.resume();
    await settled();
    await new Promise((r) => setTimeout(r, 500));
    expect(await metered(sessionId)).toEqual([{ stages: 1, end_reason: "abort", msisdn: phone }]);
  }, 30_000);
});
