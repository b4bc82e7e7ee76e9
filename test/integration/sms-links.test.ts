/**
 * SMS links through the admin API of the whole gateway (src/main.ts): the platform operator
 * creates, reads, changes and removes links, passwords are never returned (nor audited), banks may
 * not touch them, the state endpoint shows each link, and the configuration survives a restart
 * (the gateway rebuilt on the same database), where the telco binds with the same password.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, type Gateway } from "../../src/main.js";
import { ESME_RINVPASWD, ESME_ROK } from "../../src/sms/smpp-status.js";
import { openTestDb, TEST_DATABASE_URL, type TestDb } from "../helpers/db.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const PLATFORM_KEY = "sms-links-platform-key-0123456789abcdef";
const MO_SECRET = "links-http-mo-secret-0123456789";
const ENV = {
  FINGATE_SMPP_LISTEN: "1",
  FINGATE_SMPP_PORT: "0",
  FINGATE_SMPP_HOST: "127.0.0.1",
  FINGATE_SMS_SECRET_KEY: randomBytes(32).toString("hex"),
  FINGATE_SMS_AGGREGATORS: JSON.stringify([{ name: "at", secret: MO_SECRET, institutionId: "00000000-0000-4000-8000-000000000001" }]),
};

let test: TestDb;
let gateway: Gateway;
let bankId: string;
let bankAdminKey: string;
const telcos: TestTelco[] = [];

const platform = (): [string, string] => ["Authorization", `Bearer ${PLATFORM_KEY}`];

async function build(): Promise<Gateway> {
  const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: test.schema, LOG_LEVEL: "silent", DB_POOL_SIZE: "4", FINGATE_PLATFORM_API_KEY: PLATFORM_KEY });
  return buildGateway(config, createLogger("silent"));
}

async function bindStatus(systemId: string, password: string): Promise<number> {
  const t = await TestTelco.connect(gateway.sms.smppPort!);
  telcos.push(t);
  return t.bind(systemId, password);
}

const serverLink = () => ({
  id: "airtel-ke",
  mode: "server",
  password: "Pw1234!x",
  institutionId: bankId,
  systemId: "airtel",
  throughputPerS: 50,
  maxBinds: 2,
  shortCodes: ["22555"],
  msisdnPrefixes: ["+25473", "+25410"],
});

beforeAll(async () => {
  Object.assign(process.env, ENV);
  test = await openTestDb("postgres");
  gateway = await build();
  const bank = await request(gateway.app).post("/admin/v1/institutions").set(...platform()).send({ code: "links-bank", name: "Links Bank", currency: "KES", timezone: "Africa/Nairobi" });
  expect(bank.status).toBe(201);
  bankId = bank.body.id;
  const key = await request(gateway.app).post(`/admin/v1/institutions/${bankId}/api-keys`).set(...platform()).send({ name: "admin", role: "admin" });
  bankAdminKey = key.body.secret;
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await gateway?.close();
  await test?.cleanup();
  for (const name of Object.keys(ENV)) delete process.env[name];
});

describe("SMS link configuration", () => {
  it("creates a server link without ever returning or auditing its password", async () => {
    const created = await request(gateway.app).post("/admin/v1/sms-links").set(...platform()).send(serverLink());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: "airtel-ke", mode: "server", systemId: "airtel", throughputPerS: 50, enabled: true, ussd: null });
    expect(Object.keys(created.body).filter((k) => /password/i.test(k))).toEqual([]);
    expect(JSON.stringify(created.body)).not.toContain("Pw1234!x");
    const { rows } = await test.db.query<{ payload: unknown }>("SELECT payload FROM audit_log WHERE action = 'sms_link.create'");
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toMatch(/Pw1234!x|scrypt/);
    expect(await bindStatus("airtel", "Pw1234!x")).toBe(ESME_ROK);
  });

  it("refuses bad input and duplicates, changing nothing", async () => {
    const post = (body: object) => request(gateway.app).post("/admin/v1/sms-links").set(...platform()).send(body);
    expect((await post({ ...serverLink(), id: "client-1", mode: "client", systemId: "fingate" })).status).toBe(400); // no host/port
    expect((await post({ ...serverLink(), id: "Bad Id" })).status).toBe(400);
    expect((await post({ ...serverLink(), id: "long-pw", password: "much-too-long" })).status).toBe(400);
    // SMPP caps passwords at 8 characters: a server account the bank issues must use all 8, mixed.
    for (const weak of ["Pw12!", "password", "PASSWORD", "12345678", "pass1234"]) {
      const refused = await post({ ...serverLink(), id: "weak-pw", systemId: "weak", password: weak });
      expect([refused.status, refused.body.error.code]).toEqual([400, "weak_link_password"]);
    }
    expect((await post({ ...serverLink(), id: "other", msisdnPrefixes: ["2547"] })).status).toBe(400);
    expect((await post(serverLink())).body.error.code).toBe("sms_link_id_taken");
    expect((await post({ ...serverLink(), id: "airtel-2" })).body.error.code).toBe("sms_system_id_taken");
    expect((await post({ ...serverLink(), id: "nobank", systemId: "nobank", institutionId: "00000000-0000-4000-8000-000000000000" })).status).toBe(404);
    const list = await request(gateway.app).get("/admin/v1/sms-links").set(...platform());
    expect(list.body.items.map((l: { id: string }) => l.id)).toEqual(["airtel-ke"]);
  });

  it("is for the platform operator only", async () => {
    const bank = (): [string, string] => ["Authorization", `Bearer ${bankAdminKey}`];
    expect((await request(gateway.app).get("/admin/v1/sms-links").set(...bank())).status).toBe(403);
    expect((await request(gateway.app).post("/admin/v1/sms-links").set(...bank()).send({ ...serverLink(), id: "bank-made" })).status).toBe(403);
    expect((await request(gateway.app).get("/admin/v1/sms-links-status")).status).toBe(401);
    expect((await request(gateway.app).delete("/admin/v1/sms-links/airtel-ke").set(...bank())).status).toBe(403);
  });

  it("adds a client link that binds (here to our own listener) and shows every link's state", async () => {
    const client = { ...serverLink(), id: "loop", mode: "client", systemId: "airtel", host: "127.0.0.1", port: gateway.sms.smppPort, msisdnPrefixes: [] };
    const created = await request(gateway.app).post("/admin/v1/sms-links").set(...platform()).send(client);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ mode: "client", host: "127.0.0.1" });
    let loop: { state: string } | undefined;
    // Wait for the bind to complete (an event on the socket), not for a time.
    for (let i = 0; i < 200 && loop?.state !== "bound"; i++) {
      const status = await request(gateway.app).get("/admin/v1/sms-links-status").set(...platform());
      loop = status.body.items.find((s: { id: string }) => s.id === "loop");
      if (loop?.state !== "bound") await new Promise((r) => setTimeout(r, 25));
    }
    expect(loop).toMatchObject({ state: "bound", mode: "client", bound: true, problem: null });
    const status = await request(gateway.app).get("/admin/v1/sms-links-status").set(...platform());
    expect(status.body.items.find((s: { id: string }) => s.id === "airtel-ke")).toMatchObject({ mode: "server", bound: true, boundSessions: 2, throttled: 0 });
  });

  it("changes a link without its password, keeping the old one", async () => {
    const { id: _id, mode: _mode, password: _pw, ...fields } = serverLink();
    const updated = await request(gateway.app).put("/admin/v1/sms-links/airtel-ke").set(...platform()).send({ ...fields, throughputPerS: 80 });
    expect(updated.status).toBe(200);
    expect(updated.body.throughputPerS).toBe(80);
    expect((await request(gateway.app).put("/admin/v1/sms-links/nope").set(...platform()).send(fields)).status).toBe(404);
    const weak = await request(gateway.app).put("/admin/v1/sms-links/airtel-ke").set(...platform()).send({ ...fields, password: "airtel12" });
    expect([weak.status, weak.body.error.code]).toEqual([400, "weak_link_password"]);
  });

  it("survives a restart, and the telco binds with the same password", async () => {
    await gateway.close();
    gateway = await build();
    const got = await request(gateway.app).get("/admin/v1/sms-links/airtel-ke").set(...platform());
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ throughputPerS: 80, shortCodes: ["22555"], msisdnPrefixes: ["+25473", "+25410"] });
    expect(gateway.sms.manager.route("+254730000001")).toEqual({ linkId: "airtel-ke", from: "22555" });
    expect(await bindStatus("airtel", "Pw1234!x")).toBe(ESME_ROK);
    expect(await bindStatus("airtel", "pw99999")).toBe(ESME_RINVPASWD);
  });

  it("deletes a link, which stops it at once", async () => {
    const deleted = await request(gateway.app).delete("/admin/v1/sms-links/airtel-ke").set(...platform());
    expect(deleted.status).toBe(200);
    expect((await request(gateway.app).get("/admin/v1/sms-links/airtel-ke").set(...platform())).status).toBe(404);
    // A deleted account is refused like a wrong password: callers learn nothing of which ids exist.
    expect(await bindStatus("airtel", "Pw1234!x")).toBe(ESME_RINVPASWD);
    expect(gateway.sms.manager.route("+254730000001")).toBeNull();
  });

  it("serves HTTP MO for the aggregators in FINGATE_SMS_AGGREGATORS", async () => {
    const body = { from: "+254730000009", to: "22555", text: "HELP", id: "ATXid_links_1", date: "2026-11-25 21:00:00", linkId: "x" };
    expect((await request(gateway.app).post("/sms/at/mo").type("form").send(body)).status).toBe(401);
    const ok = await request(gateway.app).post("/sms/at/mo").set("x-fingate-secret", MO_SECRET).type("form").send(body);
    expect(ok.status).toBe(200);
    const { rows } = await test.db.query("SELECT link_id, command FROM sms_mo_messages");
    expect(rows).toEqual([{ link_id: "http-at", command: "help" }]);
  });

  it("is in the OpenAPI document", async () => {
    const doc = await request(gateway.app).get("/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/admin/v1/sms-links", "/admin/v1/sms-links/{linkId}", "/admin/v1/sms-links-status"]));
  });
});
