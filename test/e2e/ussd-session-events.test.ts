/**
 * Africa's Talking's end-of-session notification (POST /ussd/at/events) as Africa's Talking sends
 * it, with status, cost, duration, hop count, the last input and our last answer: the session is
 * metered once under the telco's plan, however often and on whichever of two instances the
 * notification is replayed; nothing of the input or our answer is logged.
 */
import { randomBytes, randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { sessionChargeTransferId } from "../../src/core/tariffs/metering.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-events-secret-0123456789abcdef";
const NETWORK = "63902";
const PIN = "4827";

let rig: UssdRig;
let phones = 0;
let telcoId: string;
const logs: { obj: Record<string, unknown>; msg: string }[] = [];
const logger = {
  info: (obj: object, msg: string) => void logs.push({ obj: obj as Record<string, unknown>, msg }),
  warn: (obj: object, msg: string) => void logs.push({ obj: obj as Record<string, unknown>, msg }),
  error: (obj: object, msg: string) => void logs.push({ obj: obj as Record<string, unknown>, msg }),
};

/** The notification as Africa's Talking posts it. */
const event = (instance: number, sessionId: string, status: string, extra: Record<string, string> = {}, phoneNumber = "+254744000000") =>
  request(rig.instances[instance]!.app)
    .post("/ussd/at/events")
    .set("x-fingate-secret", SECRET)
    .type("form")
    .send({
      date: "2026-11-27 10:15:00",
      sessionId,
      serviceCode: "*384#",
      networkCode: NETWORK,
      phoneNumber,
      status,
      cost: "KES 0.0500",
      durationInMillis: "12345",
      hopsCount: "2",
      input: PIN,
      lastAppResponse: "END Your balance is KES 100.00.",
      errorMessage: "",
      ...extra,
    });

async function meteredRows(sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; charge: string; end_reason: string; charge_result: string | null }>(
    "SELECT stages, charge_minor::text AS charge, end_reason, charge_result FROM metered_sessions WHERE session_id LIKE $1 || '@%'",
    [`at:${sessionId}`],
  );
  return r.rows;
}

/** Metering runs after the answer; every instance's drain waits for it. */
async function settled() {
  for (const { gateway } of rig.instances) await gateway.hops.drain();
}

async function chargesOn(accountId: string) {
  const transfers = await rig.ledger.listAccountTransfers(accountId, { limit: 100 });
  return transfers.filter((t) => t.code === "ussd_session");
}

/**
 * A customer of its own per test: a session left mid-flow keeps a resume point under the number,
 * and the number's next session would open on the resume offer.
 */
async function caller(): Promise<{ phone: string; customer: Customer }> {
  const phone = `+2547440001${String(++phones).padStart(2, "0")}`;
  return { phone, customer: await rig.customer(phone, "Jane Meter", "en", PIN, 100_00n) };
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "events-bank", secret: SECRET, logger });
  const tariffs = new SqlTariffStore(rig.test.db);
  telcoId = randomUUID();
  const since = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Events Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
  // 10 per session + 5 per stage, at most 30, paid by the customer.
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "capped", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 30n, maxStages: 8, payer: "customer", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
});

afterAll(() => rig?.close());

describe("Africa's Talking end-of-session notification (PostgreSQL + Redis, two instances)", () => {
  it("meters an abandoned session once, and replays (sequential, concurrent, on either instance) charge nothing more", async () => {
    const { phone, customer } = await caller();
    const sessionId = `ev-abort-${randomBytes(4).toString("hex")}`;
    expect((await rig.post(0, sessionId, phone, "")).text).toMatch(/^CON Welcome to fingate/);
    expect((await rig.post(1, sessionId, phone, "1")).text).toBe("CON Enter your PIN:");
    const before = await rig.balance(customer.walletAccountId);
    const first = await event(1, sessionId, "Incomplete", {}, phone);
    expect(first.status).toBe(200);
    expect(first.text).toBe("OK");
    await settled();
    expect(await meteredRows(sessionId)).toEqual([{ stages: 2, charge: "20", end_reason: "abort", charge_result: "posted" }]);
    const [{ id }] = (await rig.test.db.query<{ id: string }>("SELECT session_id AS id FROM metered_sessions WHERE session_id LIKE $1 || '@%'", [`at:${sessionId}`])).rows as [{ id: string }];
    const charge = await rig.ledger.getTransfer(sessionChargeTransferId(rig.bankId, id));
    expect(charge).toMatchObject({ debitAccountId: customer.walletAccountId, creditAccountId: systemAccountId(rig.bankId, { kind: "telco_payable", telcoId }), amountMinor: 20n });
    // No lock left in Redis; the record is kept closed until it lapses (a late hop of the session
    // hears that it has ended, and is not metered again).
    expect(await rig.keysOf(sessionId)).toEqual([`${rig.prefix}at:${sessionId}`]);
    expect(JSON.parse((await rig.redis.get(`${rig.prefix}at:${sessionId}`))!)).toMatchObject({ closed: true, ends: true });

    await event(0, sessionId, "Incomplete", {}, phone);
    const replays = await Promise.all(["Incomplete", "Incomplete", "Failed", "Expired"].map((status, i) => event(i % 2, sessionId, status, {}, phone)));
    for (const r of replays) expect([r.status, r.text]).toEqual([200, "OK"]);
    await settled();
    expect(await meteredRows(sessionId)).toEqual([{ stages: 2, charge: "20", end_reason: "abort", charge_result: "posted" }]);
    expect(await rig.balance(customer.walletAccountId)).toBe(before - 20n);
    expect(await chargesOn(customer.walletAccountId)).toHaveLength(1);
  });

  it("meters two instances' simultaneous first notifications of one session once", async () => {
    const { phone, customer } = await caller();
    const sessionId = `ev-race-${randomBytes(4).toString("hex")}`;
    await rig.post(0, sessionId, phone, "");
    const answers = await Promise.all([0, 1, 0, 1].map((i) => event(i, sessionId, "Incomplete", {}, phone)));
    for (const r of answers) expect(r.status).toBe(200);
    await settled();
    expect(await meteredRows(sessionId)).toEqual([{ stages: 1, charge: "15", end_reason: "abort", charge_result: "posted" }]);
    expect(await rig.balance(customer.walletAccountId)).toBe(100_00n - 15n);
    expect(await chargesOn(customer.walletAccountId)).toHaveLength(1);
  });

  it("a timeout is metered as a timeout; a session that ended with our END is metered once as an end, not again by its Success", async () => {
    const { phone, customer } = await caller();
    const timedOut = `ev-timeout-${randomBytes(4).toString("hex")}`;
    await rig.post(1, timedOut, phone, "");
    expect((await event(0, timedOut, "Expired", { errorMessage: "session timeout" }, phone)).status).toBe(200);
    await settled();
    expect(await meteredRows(timedOut)).toEqual([{ end_reason: "timeout", stages: 1, charge: "15", charge_result: "posted" }]);

    const ended = `ev-end-${randomBytes(4).toString("hex")}`;
    const replies = await rig.walk(ended, phone, ["1", PIN], { alternate: true });
    expect(replies.at(-1)).toMatch(/^END Your balance is KES /);
    await settled();
    const afterEnd = await rig.balance(customer.walletAccountId);
    expect(await meteredRows(ended)).toEqual([{ stages: 3, charge: "25", end_reason: "end", charge_result: "posted" }]);
    await Promise.all([event(0, ended, "Success", {}, phone), event(1, ended, "Success", {}, phone)]);
    await event(0, ended, "Success", {}, phone);
    await settled();
    expect(await meteredRows(ended)).toHaveLength(1);
    expect(await rig.balance(customer.walletAccountId)).toBe(afterEnd);
    expect(await chargesOn(customer.walletAccountId)).toHaveLength(2);
  });

  // The interrupted session's stages were metered with it; this one showed one screen, the offer.
  it("a session abandoned on the resume offer is metered for the one screen it showed", async () => {
    const { phone } = await caller();
    const interrupted = `ev-int-${randomBytes(4).toString("hex")}`;
    await rig.walk(interrupted, phone, ["2", "0744000999"]);
    await event(0, interrupted, "Incomplete", {}, phone);
    const offered = `ev-offer-${randomBytes(4).toString("hex")}`;
    expect((await rig.post(1, offered, phone, "")).text).toBe("CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again");
    await event(1, offered, "Incomplete", {}, phone);
    await settled();
    expect(await meteredRows(offered)).toEqual([{ stages: 1, charge: "15", end_reason: "abort", charge_result: "posted" }]);
  });

  it("a notification racing the session's last hop on the other instance still meters the session once", async () => {
    for (let round = 0; round < 4; round++) {
      const { phone, customer } = await caller();
      const sessionId = `ev-hop-race-${round}-${randomBytes(3).toString("hex")}`;
      await rig.post(round % 2, sessionId, phone, "");
      await rig.post(round % 2, sessionId, phone, "1");
      const [hop, notified] = await Promise.all([rig.post(round % 2, sessionId, phone, `1*${PIN}`), event((round + 1) % 2, sessionId, "Incomplete", {}, phone)]);
      expect(hop.status).toBe(200);
      expect(notified.status).toBe(200);
      await settled();
      const rows = await meteredRows(sessionId);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.charge_result).toBe("posted");
      expect(await chargesOn(customer.walletAccountId)).toHaveLength(1);
      expect(await rig.balance(customer.walletAccountId)).toBe(100_00n - BigInt(rows[0]!.charge));
    }
  });

  it("logs status and cost, but never the input (a PIN) or our last answer (a balance)", async () => {
    const { phone } = await caller();
    const sessionId = `ev-log-${randomBytes(4).toString("hex")}`;
    await rig.post(0, sessionId, phone, "");
    logs.length = 0;
    await event(1, sessionId, "Incomplete", { cost: `KES 0.0500${"9".repeat(100)}`, input: "1*7351", lastAppResponse: "END Your balance is KES 98,765.43." }, phone);
    await settled();
    const ended = logs.find((l) => l.msg === "ussd session ended");
    expect(ended?.obj).toMatchObject({ aggregator: "at", session: sessionId, status: "Incomplete", durationMs: 12345, hops: 2 });
    expect(String(ended?.obj.cost)).toMatch(/^KES 0\.0500/);
    expect(String(ended?.obj.cost).length).toBeLessThanOrEqual(32);
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain("7351");
    expect(everything).not.toContain("98,765");
  });

  it("refuses a notification without the secret or without a session id, and an unknown session meters nothing", async () => {
    const { phone } = await caller();
    const sessionId = `ev-bad-${randomBytes(4).toString("hex")}`;
    await rig.post(0, sessionId, phone, "");
    const before = await rig.counts();
    const wrong = await request(rig.instances[0]!.app).post("/ussd/at/events").set("x-fingate-secret", "not-the-secret-0123456789").type("form").send({ sessionId, status: "Incomplete" });
    expect(wrong.status).toBe(401);
    const none = await request(rig.instances[0]!.app).post("/ussd/at/events").type("form").send({ sessionId, status: "Incomplete" });
    expect(none.status).toBe(401);
    for (const bad of [{}, { sessionId: "" }, { sessionId: "x'; DROP TABLE metered_sessions;--" }, { sessionId: "a".repeat(200) }]) {
      const r = await request(rig.instances[1]!.app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ ...bad, status: "Incomplete" });
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await event(0, `ev-never-${randomBytes(4).toString("hex")}`, "Incomplete", {}, phone)).status).toBe(200);
    await settled();
    expect(await rig.counts()).toEqual(before);
    // The refused notifications left the real session alone: it goes on.
    expect((await rig.post(1, sessionId, phone, "1")).text).toBe("CON Enter your PIN:");
  });
});
