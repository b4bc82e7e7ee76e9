/**
 * A session is priced by the telco's plan in effect when it started. A plan created with its start
 * a few seconds in the past (while no session of the telco had been metered since, so
 * effective_from_billed saw nothing) re-priced the sessions already under way: it is now refused
 * (409 effective_from_past), and a plan starts no earlier than it is created. Real Africa's
 * Talking payloads to the gateway and the real admin API, on the real Redis and PostgreSQL.
 */
import { randomBytes, randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRouter } from "../../src/http/admin/router.js";
import { createApp } from "../../src/http/app.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { createLogger } from "../../src/infra/log.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-plan-backdated-0123456789abcdef";
const PLATFORM_KEY = "e2e-plan-backdated-platform-key-0123456789abcdef";
const PHONE = "+254712640004";

let rig: UssdRig;
let admin: express.Express;
let telcoId: string;
let planId: string;

async function metered(sessionId: string) {
  const r = await rig.test.db.query<{ plan: string; charge: string }>(
    "SELECT tariff_plan_id AS plan, charge_minor::text AS charge FROM metered_sessions WHERE session_id LIKE $1",
    [`at:${sessionId}@%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "backdated-bank", secret: SECRET, instances: 1 });
  await rig.customer(PHONE, "Jane Backdated", "en", "4827", 1_000_00n);
  const tariffs = new SqlTariffStore(rig.test.db);
  telcoId = randomUUID();
  planId = randomUUID();
  const since = new Date(Date.now() - 3_600_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Backdated Telco", networkCodes: ["63902"], smppLinkIds: [], createdAt: since }, []);
  // 1 a stage, paid by the bank, in effect for an hour.
  await tariffs.insertPlan(
    { id: planId, telcoId, name: "per stage", currency: "KES", perSessionMinor: 0n, perStageMinor: 1n, ceilingMinor: 1_000n, maxStages: 100, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
  const logger = createLogger("silent");
  admin = express();
  admin.use(adminRouter({ db: rig.test.db, ledger: rig.ledger, logger, platformApiKey: PLATFORM_KEY, directory: rig.services.directory, pins: rig.services.pins, simSwaps: rig.services.simSwap }));
  admin.use(createApp({ logger, checkDatabase: async () => undefined }));
});

afterAll(async () => {
  await rig?.close();
});

describe("a plan dated back while a session is under way", () => {
  it("is refused, and the session is priced by the plan it started under; a plan from now on is taken", async () => {
    const sessionId = `bd-${randomBytes(4).toString("hex")}`;
    expect((await rig.post(0, sessionId, PHONE, "")).text).toMatch(/^CON Welcome/);
    const startedAt = Date.now();
    // A flat 5.00 a session, dated five seconds back: over the session just started.
    const plan = { telcoId, name: "flat", currency: "KES", perSessionMinor: "500", perStageMinor: "0", ceilingMinor: "500", maxStages: 8, payer: "bank" };
    const backDated = await request(admin).post("/admin/v1/tariff-plans").set("Authorization", `Bearer ${PLATFORM_KEY}`).send({ ...plan, effectiveFrom: new Date(startedAt - 5_000).toISOString() });
    expect([backDated.status, backDated.body.error?.code]).toEqual([409, "effective_from_past"]);
    const fromNow = await request(admin).post("/admin/v1/tariff-plans").set("Authorization", `Bearer ${PLATFORM_KEY}`).send({ ...plan, effectiveFrom: new Date(Date.now() + 60_000).toISOString() });
    expect(fromNow.status).toBe(201);
    // The session goes on one screen and the subscriber hangs up: Africa's Talking reports its end.
    expect((await rig.post(0, sessionId, PHONE, "2")).text).toMatch(/^CON /);
    const notice = await request(rig.instances[0]!.app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId, serviceCode: "*384#", phoneNumber: PHONE, networkCode: "63902", status: "UserTerminated", durationInMillis: "4000", hopsCount: "2", cost: "KES 0.00" });
    expect(notice.status).toBe(200);
    await rig.instances[0]!.gateway.hops.drain();
    // Two screens at 1 a stage, under the plan in effect when it started.
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ plan: planId, charge: "2" }]);
  });
});
