/**
 * Africa's Talking hops we answer END without running them, refused as no hop of the session
 * (`err.out_of_order`: a text that does not extend the last answered one) or as the continuation
 * of a session we do not know (`err.session_expired`: its record lost): the telco carried that END
 * and bills the session, so the bank's metering records it like any other ended session, once,
 * whatever retries and end notices follow. A request refused before it is a hop at all (a wrong
 * secret, a malformed payload) touches nothing and is metered nowhere. Real Africa's Talking
 * payloads through two gateway instances on the real Redis and PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-metering-refused-0123456789abcdef";
const PAYEE = "+254712910002";
/** A caller per test: a session left mid-flow leaves a resume point under its number. */
const LOST = "+254712910011";
const LATE = "+254712910012";
const ORDER = "+254712910013";
const GOES_ON = "+254712910014";
const UNAUTH = "+254712910015";
const OUT_OF_ORDER = "END This request does not continue your session. Nothing was done. Please dial again.";
const EXPIRED = "END Your session has expired. Please dial again.";
const ENDED = "END This session has ended. Please dial again.";
const PIN_PROMPT = "CON Enter your PIN to confirm:";

let rig: UssdRig;

interface Metered {
  stages: number;
  charge: string;
  end_reason: string;
  msisdn: string;
}

async function metered(sessionId: string): Promise<Metered[]> {
  const r = await rig.test.db.query<Metered>("SELECT stages, charge_minor::text AS charge, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1", [
    `at:${sessionId}@%`,
  ]);
  return r.rows;
}

/** Every hop and end under way on both instances is over, meterings included. */
async function settled(): Promise<void> {
  for (const { gateway } of rig.instances) await gateway.hops.drain();
}

/** Africa's Talking's end-of-session notification, to instance i. */
const notice = (instance: number, sessionId: string, phoneNumber: string, status: string) =>
  request(rig.instances[instance]!.app)
    .post("/ussd/at/events")
    .set("x-fingate-secret", SECRET)
    .type("form")
    .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", status, durationInMillis: "9000", hopsCount: "5", cost: "KES 0.00" });

const id = (name: string) => `mr-${name}-${randomBytes(4).toString("hex")}`;

/** The send flow up to its PIN prompt: main menu, payee, amount, confirm, PIN: five screens. */
const TO_PIN = ["2", "0712910002", "100", "1"];

beforeAll(async () => {
  rig = await openUssdRig({ code: "refused-bank", secret: SECRET });
  for (const [i, phone] of [LOST, LATE, ORDER, GOES_ON, UNAUTH].entries()) await rig.customer(phone, `Rose Metered${"abcde"[i]}`, "en", "4827", 1_000_00n);
  await rig.customer(PAYEE, "Peter Metered", "en", "5831", 0n);
  // KES 0.10 a session and 0.01 a stage, paid by the bank: the charge is 10 + stages.
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
});

afterAll(() => rig?.close());

describe("Africa's Talking: the continuation of a session whose record was lost", () => {
  it("is metered once, as the one screen it showed (the END), however often the aggregator retries it and whatever notice follows", async () => {
    const sessionId = id("lost");
    expect((await rig.walk(sessionId, LOST, TO_PIN.slice(0, 2))).at(-1)).toBe("CON Pay PETER M***. Enter the amount in KES:");
    await rig.redis.del(`${rig.prefix}at:${sessionId}`);
    const before = await rig.counts();

    // The aggregator's retries of the hop, on both instances, one concurrent with another.
    const texts = await Promise.all([0, 1].map((i) => rig.post(i, sessionId, LOST, "2*0712910002*100*1")));
    for (const r of texts) expect([r.status, r.text]).toEqual([200, EXPIRED]);
    await settled();
    for (const i of [1, 0]) expect((await rig.post(i, sessionId, LOST, "2*0712910002*100*1")).text).toBe(EXPIRED);
    await settled();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "11", end_reason: "end", msisdn: LOST }]);

    // The notice that follows our END meters nothing more; nothing else changed (no transfer but the charge).
    expect((await notice(1, sessionId, LOST, "Success")).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
    const after = await rig.counts();
    expect({ ...after, audit: before.audit, transfers: before.transfers }).toEqual({ ...before, metered: before.metered + 1 });
    // The caller's resume point is still there for the next dial.
    expect((await rig.post(0, id("lost-again"), LOST, "")).text).toMatch(/^CON You were interrupted/);
  });

  it("a late hop of a session Africa's Talking already reported ended is not metered a second time", async () => {
    const sessionId = id("late");
    expect((await rig.walk(sessionId, LATE, TO_PIN.slice(0, 2), { alternate: true })).at(-1)).toMatch(/^CON Pay PETER/);
    expect((await notice(0, sessionId, LATE, "Incomplete")).status).toBe(200);
    await settled();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 3, charge: "13", end_reason: "abort", msisdn: LATE }]);
    // A hop of that session delivered after the notice: the session is over, and billed already.
    expect((await rig.post(1, sessionId, LATE, "2*0712910002*100*1")).text).toBe(ENDED);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  });
});

describe("Africa's Talking: a hop refused as out of order", () => {
  it("ends the session it reached: metered once, its END counted, when the notice follows", async () => {
    const sessionId = id("order");
    expect((await rig.walk(sessionId, ORDER, TO_PIN, { alternate: true })).at(-1)).toBe(PIN_PROMPT);
    for (const i of [0, 1, 0]) expect((await rig.post(i, sessionId, ORDER, "2*0712910002*150*1*4827")).text).toBe(OUT_OF_ORDER);
    await settled();
    expect(await metered(sessionId)).toEqual([]);
    expect((await notice(1, sessionId, ORDER, "Success")).status).toBe(200);
    await settled();
    // Five screens, then the END: six; the payment never ran.
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 6, charge: "16", end_reason: "end", msisdn: ORDER }]);
    expect((await notice(0, sessionId, ORDER, "Success")).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  });

  it("a session that went on after the refusal (its real next hop ran) is metered for the screens it showed, the refusal not counted", async () => {
    const sessionId = id("goes-on");
    await rig.walk(sessionId, GOES_ON, ["1"]);
    expect((await rig.post(1, sessionId, GOES_ON, "9*4827")).text).toBe(OUT_OF_ORDER);
    expect((await rig.post(0, sessionId, GOES_ON, "1*4827")).text).toBe("END Your balance is KES 1,000.00.");
    await settled();
    // Main menu, PIN prompt, balance.
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 3, charge: "13", end_reason: "end", msisdn: GOES_ON }]);
    expect((await notice(1, sessionId, GOES_ON, "Success")).status).toBe(200);
    await settled();
    expect(await metered(sessionId)).toHaveLength(1);
  });
});

describe("a request refused before it is a hop", () => {
  it("a wrong secret or a malformed payload touches no session and is metered nowhere", async () => {
    const sessionId = id("unauth");
    await rig.walk(sessionId, UNAUTH, ["1"]);
    await settled();
    const record = await rig.redis.get(`${rig.prefix}at:${sessionId}`);
    const before = await rig.counts();
    const fields = { sessionId, serviceCode: "*384#", phoneNumber: UNAUTH, networkCode: "63902", text: "9*4827" };
    const app = rig.instances[0]!.app;
    const wrong = await request(app).post("/ussd/at").set("x-fingate-secret", "not-the-secret").type("form").send(fields);
    expect(wrong.status).toBe(401);
    for (const bad of [{ networkCode: "abc" }, { phoneNumber: "" }, { serviceCode: "" }, { text: "1\u0000" }]) {
      const r = await request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ ...fields, ...bad });
      expect([r.status, r.text], JSON.stringify(bad)).toEqual([400, "END bad request"]);
    }
    // A lost session's continuation, malformed: not metered as the expired one would be.
    const lost = id("unauth-lost");
    const r = await request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ ...fields, sessionId: lost, text: "2*0712910002*100*1", networkCode: "x" });
    expect(r.status).toBe(400);
    await settled();
    expect(await rig.redis.get(`${rig.prefix}at:${sessionId}`)).toBe(record);
    expect(await rig.keysOf(lost)).toEqual([]);
    expect(await rig.counts()).toEqual(before);
  });
});
