/**
 * Hubtel's USSD payloads as Hubtel itself documents and sends them, against the real gateway (two
 * instances sharing sessions in Redis, the real core on PostgreSQL). Shapes taken from Hubtel's
 * Programmable Services reference and sample interaction (developers.hubtel.com, hubtel.readme.io)
 * and its SDK (github.com/hubtel/programmable-services-sdk-dotnet):
 * - `Sequence` as a JSON string ("Sequence":"1" in Hubtel's own sample), `Platform`, a null
 *   `ClientState`, `Operator` capitalised ("Vodafone") or suffixed ("mtn-gh", as the SDK lists);
 * - `ServiceCode` the service's id ("7c920dc49b7a40588c657119ce599044") with the dial in `Message`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { JsonInstances } from "../helpers/ussd-json-instances.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-hubtel-protocol-secret-0123456789";
const PIN = "4827";
const MAIN = "Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";
const ASK_PIN = "Enter your PIN:";
const WRONG_PIN = "Wrong PIN. Try again.\nEnter your PIN:";
const SERVICE_ID = "7c920dc49b7a40588c657119ce599044";

type Body = Record<string, unknown>;

let rig: UssdRig;
const instances = new JsonInstances();
const { gateways, apps } = instances;

let phones = 0;
const nextPhone = () => `+25471296${String(++phones).padStart(4, "0")}`;
const sid = () => randomBytes(16).toString("hex");

/** A Hubtel request as its USSD channel sends one: Mobile without the plus, Platform, the hop's Sequence. */
function hubtel(sessionId: string, msisdn: string, more: Body): Body {
  return { Type: "Response", Mobile: msisdn.slice(1), SessionId: sessionId, ServiceCode: "384", Message: "", Operator: "mtn", ClientState: "", Platform: "USSD", ...more };
}

async function post(instance: number, body: Body, aggregator = "hubtel"): Promise<Body> {
  const r = await request(apps[instance]!).post(`/ussd/${aggregator}`).set("x-fingate-secret", SECRET).send(body);
  expect(r.status, `${JSON.stringify(body)} → ${r.text}`).toBe(200);
  expect(r.headers["content-type"]).toMatch(/^application\/json/);
  return r.body as Body;
}

async function settle(): Promise<void> {
  await Promise.all(gateways.map((g) => g.hops.drain()));
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "hubtel-protocol-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  await instances.start(rig, [
    // No networkCode: a session is billed only under the network its Operator names.
    { name: "hubtel", dialect: "hubtel", secret: SECRET },
    { name: "hubtel-coded", dialect: "hubtel", secret: SECRET, serviceCode: "*384#" },
  ]);
});

afterAll(async () => {
  await instances.close();
  await rig?.close();
});

describe("Hubtel's Sequence sent as a string (its own sample sends \"Sequence\":\"1\")", () => {
  it("a late re-delivery of an older PIN hop runs nothing: the PIN is not tried again, the customer not locked", async () => {
    const c = await rig.customer(nextPhone(), "Kofi Mensah", "en", PIN, 1_000_00n);
    const sessionId = sid();
    const at = (Sequence: string, Message: string, ClientState: string, Type = "Response") => hubtel(sessionId, c.msisdn, { Type, Sequence, Message, ClientState });
    const first = await post(0, at("1", "*384#", "", "Initiation"));
    expect(first.Message).toBe(MAIN);
    const askPin = await post(1, at("2", "1", first.ClientState as string));
    expect(askPin.Message).toBe(ASK_PIN);
    const wrong1 = await post(0, at("3", "1111", askPin.ClientState as string));
    expect(wrong1.Message).toBe(WRONG_PIN);
    const wrong2 = await post(1, at("4", "2222", wrong1.ClientState as string));
    expect(wrong2.Message).toBe(WRONG_PIN);
    // Hop 3 delivered again, late, with the ClientState it first carried: the current screen, no third wrong PIN.
    const late = await post(0, at("3", "1111", askPin.ClientState as string));
    expect([late.Type, late.Message]).toEqual(["response", WRONG_PIN]);
    const balance = await post(1, at("5", PIN, wrong2.ClientState as string));
    expect([balance.Type, balance.Message]).toEqual(["release", "Your balance is KES 1,000.00."]);
  });

  it("a retry of the same hop (same string Sequence) on the other instance gets the same reply", async () => {
    const c = await rig.customer(nextPhone(), "Ama Owusu", "en", PIN, 1_000_00n);
    const sessionId = sid();
    const first = await post(0, hubtel(sessionId, c.msisdn, { Type: "Initiation", Sequence: "1", Message: "*384#", ClientState: null }));
    const hop2 = hubtel(sessionId, c.msisdn, { Sequence: "2", Message: "1", ClientState: first.ClientState });
    const a = await post(0, hop2);
    const b = await post(1, hop2);
    expect(a.Message).toBe(ASK_PIN);
    expect(b).toEqual(a);
  });

  it("a Sequence that is no hop number is refused (400) and leaves no session", async () => {
    const c = await rig.customer(nextPhone(), "Yaw Boateng", "en", PIN);
    for (const Sequence of ["1; DROP TABLE transfers", "-1", "1.5", "0x10", true, { $gt: 0 }, [1]]) {
      const sessionId = sid();
      const r = await request(apps[0]!).post("/ussd/hubtel").set("x-fingate-secret", SECRET).send(hubtel(sessionId, c.msisdn, { Type: "Initiation", Message: "*384#", Sequence }));
      expect([r.status, r.body], JSON.stringify(Sequence)).toEqual([400, { error: "bad request" }]);
      expect(await rig.keysOf(sessionId)).toEqual([]);
    }
  });
});

describe("Hubtel's Operator names", () => {
  it("'mtn-gh' (the SDK's spelling), 'Vodafone' and 'VODAFONE-GH' bill the session under that network's tariff", async () => {
    const created = new Date(Date.now() - 60_000);
    const tariffs = new SqlTariffStore(rig.test.db);
    const mtn = randomUUID();
    const vodafone = randomUUID();
    const tag = randomBytes(3).toString("hex");
    await tariffs.insertTelco({ id: mtn, code: `mtn-gh-${tag}`, name: "MTN Ghana", networkCodes: ["62001"], smppLinkIds: [], createdAt: created }, []);
    await tariffs.insertTelco({ id: vodafone, code: `telecel-gh-${tag}`, name: "Telecel Ghana", networkCodes: ["62002"], smppLinkIds: [], createdAt: created }, []);
    for (const [operator, telco] of [["mtn-gh", mtn], ["Vodafone", vodafone], ["VODAFONE-GH", vodafone]] as const) {
      const c = await rig.customer(nextPhone(), "Efua Asante", "en", PIN);
      const sessionId = sid();
      const first = await post(0, hubtel(sessionId, c.msisdn, { Type: "Initiation", Sequence: 1, Message: "*384#", Operator: operator }));
      await post(1, hubtel(sessionId, c.msisdn, { Sequence: 2, Message: "1", Operator: operator, ClientState: first.ClientState }));
      await post(0, hubtel(sessionId, c.msisdn, { Type: "Timeout", Operator: operator }));
      await settle();
      const metered = await rig.test.db.query<{ telco_id: string | null }>("SELECT telco_id FROM metered_sessions WHERE session_id LIKE $1 || '@%'", [`hubtel:${sessionId}`]);
      expect(metered.rows, operator).toEqual([{ telco_id: telco }]);
    }
  });
});

describe("Hubtel's ServiceCode as the service's id (Programmable Services), the dial in Message", () => {
  it("is served: the configured short code reads the dial's shortcut", async () => {
    const c = await rig.customer(nextPhone(), "Akosua Darko", "en", PIN, 1_000_00n);
    const sessionId = sid();
    const first = await post(0, hubtel(sessionId, c.msisdn, { Type: "initiation", Sequence: 1, ServiceCode: SERVICE_ID, Message: "*384*1#" }), "hubtel-coded");
    expect([first.Type, first.Message]).toEqual(["response", ASK_PIN]);
    const balance = await post(1, hubtel(sessionId, c.msisdn, { Sequence: 2, ServiceCode: SERVICE_ID, Message: PIN, ClientState: first.ClientState }), "hubtel-coded");
    expect([balance.Type, balance.Message]).toEqual(["release", "Your balance is KES 1,000.00."]);
  });

  it("is served without a configured short code too (the dial then opens the menu: its code cannot be told from a shortcut)", async () => {
    const c = await rig.customer(nextPhone(), "Kwame Addo", "en", PIN, 1_000_00n);
    const first = await post(1, hubtel(sid(), c.msisdn, { Type: "Initiation", Sequence: 1, ServiceCode: SERVICE_ID, Message: "*384*1#" }));
    expect([first.Type, first.Message]).toEqual(["response", MAIN]);
  });

  it("an id that is no id (punctuation, too long) is refused (400) and leaves no session", async () => {
    const c = await rig.customer(nextPhone(), "Abena Sarpong", "en", PIN);
    for (const ServiceCode of ["7c920dc4-9b7a", "x".repeat(65), "abc def", "ab'c"]) {
      const sessionId = sid();
      const r = await request(apps[0]!).post("/ussd/hubtel").set("x-fingate-secret", SECRET).send(hubtel(sessionId, c.msisdn, { Type: "Initiation", Sequence: 1, ServiceCode, Message: "*384#" }));
      expect([r.status, r.body], ServiceCode).toEqual([400, { error: "bad request" }]);
      expect(await rig.keysOf(sessionId)).toEqual([]);
    }
  });
});
