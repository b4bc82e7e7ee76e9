/** The USSD channel as main.ts wires it: the whole gateway, configured from the environment. */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, type Gateway } from "../../src/main.js";
import { openTestDb, TEST_DATABASE_URL, type TestDb } from "../helpers/db.js";

const SECRET = "gateway-at-secret-0123456789";
let test: TestDb;
let gateway: Gateway;

beforeAll(async () => {
  test = await openTestDb("postgres");
  const institutionId = randomUUID();
  await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'gw-ke', 'GW KE', 'KES', 'Africa/Nairobi')`, [institutionId]);
  process.env.FINGATE_USSD_AT_SECRET = SECRET;
  process.env.FINGATE_USSD_INSTITUTION_ID = institutionId;
  const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: test.schema, LOG_LEVEL: "silent", DB_POOL_SIZE: "4" });
  gateway = await buildGateway(config, createLogger("silent"));
});

afterAll(async () => {
  delete process.env.FINGATE_USSD_AT_SECRET;
  delete process.env.FINGATE_USSD_INSTITUTION_ID;
  await gateway?.close();
  await test?.cleanup();
});

describe("gateway wiring", () => {
  it("serves Africa's Talking at /ussd/at next to the rest of the app", async () => {
    const hop = await request(gateway.app)
      .post("/ussd/at")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId: "gw-1", serviceCode: "*384#", phoneNumber: "+254722000001", networkCode: "63902", text: "" });
    expect(hop.status).toBe(200);
    expect(hop.text).toBe("CON Welcome! This number is not registered yet.\nEnter your full name:");
    const refused = await request(gateway.app).post("/ussd/at").type("form").send({ sessionId: "gw-2" });
    expect(refused.status).toBe(401);
    expect((await request(gateway.app).get("/healthz")).status).toBe(200);
    expect((await request(gateway.app).get("/no-such-route")).status).toBe(404);
  });
});
