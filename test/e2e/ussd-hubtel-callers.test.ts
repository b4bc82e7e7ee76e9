/**
 * Who Hubtel says is calling, and for which service: a Ghanaian bank's Hubtel link, posted the
 * payloads Hubtel's Programmable Services send (developers.hubtel.com "API Reference - Prog
 * Services", its sample interaction: `Mobile` "233246912184", `ServiceCode` the code dialled,
 * "711*2", or the service's id, "b230733cd56b4a0fad820e39f66bc27c", `Sequence` "1"), through
 * supertest against the real gateway over the real core (PostgreSQL) and Redis.
 * - `Mobile` in local format ("0241…"): read with the institution's default country (GH here);
 * - `ServiceCode` naming another service's id than the link's configured `serviceId`: refused.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { SYSTEM } from "../helpers/ussd-env.js";
import { JsonInstances } from "../helpers/ussd-json-instances.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-hubtel-callers-secret-0123456789";
const PIN = "4827";
const MAIN = "Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";
const ASK_PIN = "Enter your PIN:";
const SERVICE_ID = "b230733cd56b4a0fad820e39f66bc27c";
const OTHER_ID = "n383he9jioe923232347423";

type Body = Record<string, unknown>;

let rig: UssdRig;
const instances = new JsonInstances();
const { gateways, apps } = instances;

// This file's numbers: +23324131xxxx (Ghana), +25471314xxxx (Kenya).
let phones = 0;
const nextGhPhone = () => `+23324131${String(++phones).padStart(4, "0")}`;
const sid = () => randomBytes(16).toString("hex");
/** "+233241310001" as Ghanaians write it: "0241310001". */
const local = (msisdn: string) => `0${msisdn.slice(4)}`;

function hubtel(sessionId: string, Mobile: string, more: Body): Body {
  return { Type: "Response", Mobile, SessionId: sessionId, ServiceCode: "713", Message: "", Operator: "mtn", ClientState: "", Platform: "USSD", ...more };
}

function send(instance: number, body: Body, aggregator = "hubtel"): request.Test {
  return request(apps[instance]!).post(`/ussd/${aggregator}`).set("x-fingate-secret", SECRET).send(body);
}

async function post(instance: number, body: Body, aggregator = "hubtel"): Promise<Body> {
  const r = await send(instance, body, aggregator);
  expect(r.status, `${JSON.stringify(body)} → ${r.text}`).toBe(200);
  return r.body as Body;
}

/** A request refused with 400 that left nothing: no session key, no row anywhere. */
async function expectRefusedUntouched(body: Body, aggregator = "hubtel"): Promise<void> {
  const before = await rig.counts();
  const r = await send(0, body, aggregator);
  expect([r.status, r.body], JSON.stringify(body)).toEqual([400, { error: "bad request" }]);
  await Promise.all(gateways.map((g) => g.hops.drain()));
  expect(await rig.keysOf(body.SessionId as string)).toEqual([]);
  expect(await rig.counts()).toEqual(before);
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "hubtel-callers-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  // A Ghanaian bank: numbers written without a country code are Ghana's.
  const country = await rig.services.directory.setDefaultCountry(SYSTEM, rig.bankId, "GH");
  if (!country.ok) throw new Error(country.code);
  const aggregators: AggregatorConfig[] = [
    { name: "hubtel", dialect: "hubtel", secret: SECRET, serviceCode: "*713#", serviceId: SERVICE_ID },
    // Configured with its short code only: an id cannot be checked, and is served as before.
    { name: "hubtel-coded", dialect: "hubtel", secret: SECRET, serviceCode: "*713#" },
    // Configured with its id only: a short code cannot be checked, so none is taken.
    { name: "hubtel-id", dialect: "hubtel", secret: SECRET, serviceId: SERVICE_ID },
  ];
  await instances.start(rig, aggregators);
});

afterAll(async () => {
  await instances.close();
  await rig?.close();
});

describe("Hubtel's Mobile in local format (0241…)", () => {
  it("is read with the institution's country: the customer +233… is served, whichever form each hop uses", async () => {
    const c = await rig.customer(nextGhPhone(), "Kofi Mensah", "en", PIN, 1_000_00n);
    const sessionId = sid();
    const first = await post(0, hubtel(sessionId, local(c.msisdn), { Type: "Initiation", Sequence: "1", Message: "*713#" }));
    expect([first.Type, first.Message]).toEqual(["response", MAIN]);
    const askPin = await post(1, hubtel(sessionId, c.msisdn.slice(1), { Sequence: "2", Message: "1", ClientState: first.ClientState }));
    expect(askPin.Message).toBe(ASK_PIN);
    const balance = await post(0, hubtel(sessionId, local(c.msisdn), { Sequence: "3", Message: PIN, ClientState: askPin.ClientState }));
    expect([balance.Type, balance.Message]).toEqual(["release", "Your balance is KES 1,000.00."]);
  });

  it("a number that does not read as one in the institution's country is refused (400) and touches nothing", async () => {
    const c = await rig.customer(nextGhPhone(), "Ama Owusu", "en", PIN);
    // A Kenyan local number (+25471314… written nationally) is no Ghanaian number; too short; not digits.
    for (const Mobile of ["0713140001", "0241", "024131000", local(c.msisdn) + "0", "0-", "0 ", `${local(c.msisdn)}\n`, "0241310x01"]) {
      await expectRefusedUntouched(hubtel(sid(), Mobile, { Type: "Initiation", Sequence: "1", Message: "*713#" }));
    }
  });
});

describe("Hubtel's ServiceCode naming a service id", () => {
  it("the link's own id is served (the configured short code reads the dial's shortcut)", async () => {
    const c = await rig.customer(nextGhPhone(), "Akosua Darko", "en", PIN, 1_000_00n);
    const first = await post(1, hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: SERVICE_ID, Message: "*713*1#" }));
    expect([first.Type, first.Message]).toEqual(["response", ASK_PIN]);
    // Ids are GUIDs: their case says nothing. (Another caller: the first left a PIN screen to resume.)
    const d = await rig.customer(nextGhPhone(), "Kojo Antwi", "en", PIN);
    const upper = await post(0, hubtel(sid(), d.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: SERVICE_ID.toUpperCase(), Message: "*713#" }));
    expect([upper.Type, upper.Message]).toEqual(["response", MAIN]);
  });

  it("another service's id is refused (400) before any session is touched", async () => {
    const c = await rig.customer(nextGhPhone(), "Kwame Addo", "en", PIN, 1_000_00n);
    for (const ServiceCode of [OTHER_ID, `${SERVICE_ID}0`, SERVICE_ID.slice(1), "7c920dc49b7a40588c657119ce599044"]) {
      await expectRefusedUntouched(hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode, Message: "*713#" }));
    }
    // A hop of a session under way that names another id runs nothing either.
    const sessionId = sid();
    const first = await post(0, hubtel(sessionId, c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: SERVICE_ID, Message: "*713#" }));
    expect(first.Message).toBe(MAIN);
    const r = await send(1, hubtel(sessionId, c.msisdn.slice(1), { Sequence: 2, ServiceCode: OTHER_ID, Message: "1", ClientState: first.ClientState }));
    expect([r.status, r.body]).toEqual([400, { error: "bad request" }]);
    const next = await post(1, hubtel(sessionId, c.msisdn.slice(1), { Sequence: 2, ServiceCode: SERVICE_ID, Message: "1", ClientState: first.ClientState }));
    expect(next.Message).toBe(ASK_PIN);
  });

  it("a short code is still checked against the configured one", async () => {
    const c = await rig.customer(nextGhPhone(), "Yaw Boateng", "en", PIN);
    await expectRefusedUntouched(hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: "714", Message: "*714#" }));
    const ok = await post(0, hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: "713", Message: "*713#" }));
    expect(ok.Message).toBe(MAIN);
  });

  // Found in review: with only an id configured, any short code was served (servesCode with no
  // configured code takes every code), so another service's dial reaching this URL got the bank's menu.
  it("on a link configured with its id only, a short code is refused and the id is served", async () => {
    const c = await rig.customer(nextGhPhone(), "Abena Quaye", "en", PIN);
    for (const ServiceCode of ["999", "*999#", "713"]) {
      await expectRefusedUntouched(hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode, Message: `*${ServiceCode.replace(/[*#]/g, "")}#` }), "hubtel-id");
    }
    const ok = await post(0, hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: SERVICE_ID, Message: "*713#" }), "hubtel-id");
    expect([ok.Type, ok.Message]).toEqual(["response", MAIN]);
  });

  it("on a link configured without an id, any id is served as before (it cannot be checked)", async () => {
    const c = await rig.customer(nextGhPhone(), "Efua Asante", "en", PIN);
    const first = await post(1, hubtel(sid(), c.msisdn.slice(1), { Type: "Initiation", Sequence: 1, ServiceCode: OTHER_ID, Message: "*713#" }), "hubtel-coded");
    expect([first.Type, first.Message]).toEqual(["response", MAIN]);
  });
});
