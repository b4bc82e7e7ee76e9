/**
 * Each session's end is metered once, whatever arrives after it:
 * - the generic dialect's `end` keeps the ended record closed until it lapses (as Africa's
 *   Talking's notice and Hubtel's Release do), so a hop of the session delivered after it hears
 *   "this session has ended" and is not metered as a session of its own (it was: a second charge);
 * - yet the generic `begin` is explicit: one that reuses the id of a session closed (by our END or
 *   by the network's `end`) opens a new session, metered on its own, instead of hearing
 *   "this session has ended"; such a begin that ends "busy" is metered as a session of its own,
 *   and one after a mid-flow `end` gets the resume offer (it reads the point on its own: the lock's
 *   trip reads it only when the key holds nothing);
 * Real JSON payloads through two gateway instances sharing the real Redis, over the real core on
 * PostgreSQL. (USSD over SMPP's end: sms-ussd-abort-kept.)
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { JsonInstances } from "../helpers/ussd-json-instances.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

/** The rig wants an Africa's Talking secret; no instance of it runs here. */
const AT_SECRET = "e2e-end-kept-at-0123456789abcdef";
const GENERIC_SECRET = "e2e-end-kept-generic-0123456789abcdef";
const ENDED = "END This session has ended. Please dial again.";
const MENU = /^CON .*Balance/s;

type Body = Record<string, unknown>;

let rig: UssdRig;
const instances = new JsonInstances();
const { gateways, apps } = instances;

const begin = (sessionId: string, msisdn: string): Body => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" });
const next = (sessionId: string, msisdn: string, seq: number, input: string): Body => ({ sessionId, msisdn, serviceCode: "*384#", event: "continue", seq, input, networkCode: "63902" });
const end = (sessionId: string, msisdn: string): Body => ({ sessionId, msisdn, serviceCode: "*384#", event: "end", seq: 9, input: "" });

async function generic(instance: number, body: Body): Promise<string> {
  const r = await request(apps[instance]!).post("/ussd/gen").set("x-fingate-secret", GENERIC_SECRET).send(body);
  expect(r.status, JSON.stringify(body)).toBe(200);
  return `${r.body.action === "end" ? "END" : "CON"} ${r.body.message as string}`;
}

async function settled(): Promise<void> {
  for (const gateway of gateways) await gateway.hops.drain();
}

async function metered(aggregator: string, sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string; msisdn: string }>(
    "SELECT stages, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1 ORDER BY started_at",
    [`${aggregator}:${sessionId}@%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "end-kept-bank", secret: AT_SECRET, instances: 0 });
  await instances.start(rig, [{ name: "gen", dialect: "generic", secret: GENERIC_SECRET }]);
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
});

afterAll(async () => {
  await instances.close();
  await rig?.close();
});

describe("generic: a hop of a session delivered after its `end`", () => {
  it("hears that the session ended and is not metered again", async () => {
    const phone = "+254713120001";
    await rig.customer(phone, "Esther Late", "en", "4827", 1_000_00n);
    const sessionId = `gl-${randomBytes(4).toString("hex")}`;
    expect(await generic(0, begin(sessionId, phone))).toMatch(MENU);
    await settled();
    expect(await generic(1, end(sessionId, phone))).toBe("END ");
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "abort", msisdn: phone }]);

    // The caller's answer to the menu, delivered after the end (reordered), on either instance.
    for (const i of [0, 1]) expect(await generic(i, next(sessionId, phone, 1, "1"))).toBe(ENDED);
    await settled();
    expect(await metered("gen", sessionId)).toHaveLength(1);
  });
});

describe("generic: a begin that reuses the id of a closed session", () => {
  it("closed by our END: opens a new session, metered on its own", async () => {
    const phone = "+254713120002";
    await rig.customer(phone, "Faith Again", "en", "4827", 1_000_00n);
    const sessionId = `gr-${randomBytes(4).toString("hex")}`;
    expect(await generic(0, begin(sessionId, phone))).toMatch(MENU);
    expect(await generic(1, next(sessionId, phone, 1, "1"))).toMatch(/^CON .*PIN/);
    expect(await generic(0, next(sessionId, phone, 2, "4827"))).toMatch(/^END .*1,000\.00/);
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);

    // The aggregator hands the id out again for the caller's next dial.
    expect(await generic(1, begin(sessionId, phone))).toMatch(MENU);
    expect(await generic(0, next(sessionId, phone, 1, "1"))).toMatch(/^CON .*PIN/);
    expect(await generic(1, next(sessionId, phone, 2, "4827"))).toMatch(/^END .*1,000\.00/);
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(2);
    const rows = await metered("gen", sessionId);
    expect(rows.map((r) => r.end_reason)).toEqual(["end", "end"]);
  });

  it("closed by the network's `end`: opens a new session, metered on its own; its `end` meters it once", async () => {
    const phone = "+254713120003";
    await rig.customer(phone, "Grace Redial", "en", "4827", 1_000_00n);
    const sessionId = `gn-${randomBytes(4).toString("hex")}`;
    expect(await generic(0, begin(sessionId, phone))).toMatch(MENU);
    expect(await generic(1, next(sessionId, phone, 1, "1"))).toMatch(/^CON .*PIN/);
    expect(await generic(0, end(sessionId, phone))).toBe("END ");
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 2, end_reason: "abort", msisdn: phone }]);

    expect(await generic(1, begin(sessionId, phone))).toMatch(/^CON /);
    await settled();
    expect(await generic(0, end(sessionId, phone))).toBe("END ");
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(2);
    // A hop of that second session delivered after its end is metered no more.
    expect(await generic(1, next(sessionId, phone, 1, "1"))).toBe(ENDED);
    await settled();
    expect(await metered("gen", sessionId)).toHaveLength(2);
  });

  it("closed by the network's `end`, the new session's begin ending busy: that session is metered on its own", async () => {
    const phone = "+254713170301";
    await rig.customer(phone, "Imani Busy", "en", "4827", 1_000_00n);
    const sessionId = `gx-${randomBytes(4).toString("hex")}`;
    expect(await generic(0, begin(sessionId, phone))).toMatch(MENU);
    expect(await generic(1, end(sessionId, phone))).toBe("END ");
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    // A holder that never writes the session (an instance that died mid-hop): the redial's begin ends "busy".
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 5_800);
    expect(await generic(0, begin(sessionId, phone))).toMatch(/^END .*(still|working)/i);
    await settled();
    // The close after that END takes the closed record for the previous session's (supersedes) and meters this one.
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(2);
    expect((await metered("gen", sessionId)).map((r) => [r.stages, r.end_reason])).toEqual([
      [1, "abort"],
      [1, "end"],
    ]);
  }, 20_000);

  it("closed by the network's `end` mid-flow: the redial's begin gets the resume offer", async () => {
    const phone = "+254713170302";
    await rig.customer(phone, "Neema Resume", "en", "4827", 1_000_00n);
    const sessionId = `gi-${randomBytes(4).toString("hex")}`;
    expect(await generic(0, begin(sessionId, phone))).toMatch(MENU);
    expect(await generic(1, next(sessionId, phone, 1, "1"))).toMatch(/^CON .*PIN/);
    // The network drops the call at the PIN prompt.
    expect(await generic(0, end(sessionId, phone))).toBe("END ");
    await settled();
    // The caller dials again; the integrator hands out the same id. The closed record is still
    // there, so the lock's trip did not read the resume point: the begin reads it on its own.
    expect(await generic(1, begin(sessionId, phone))).toMatch(/^CON You were interrupted/);
    expect(await generic(0, next(sessionId, phone, 1, "1"))).toMatch(/^CON .*PIN/);
  });

  it("a one-hop session our END closed: the begin re-delivered soon (our answer lost) hears that END again, no second session", async () => {
    const phone = "+254713120005";
    const sessionId = `gb-${randomBytes(4).toString("hex")}`;
    // A holder that never writes the session (an instance that died mid-hop): the begin ends "busy".
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 5_800);
    expect(await generic(0, begin(sessionId, phone))).toMatch(/^END .*(still|working)/i);
    await settled();
    await expect.poll(() => metered("gen", sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    expect(await generic(1, begin(sessionId, phone))).toBe(ENDED);
    await settled();
    expect(await metered("gen", sessionId)).toHaveLength(1);
    // Another caller's begin under the id is a new session.
    expect(await generic(0, begin(sessionId, "+254713120006"))).toMatch(/^CON /);
  }, 20_000);
});
