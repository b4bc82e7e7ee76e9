/** The USSD channel as main.ts wires it: the whole gateway, configured from the environment. */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/log.js";
import { buildGateway, holdIdleConnections, type Gateway } from "../../src/main.js";
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

  // An aggregator's client keeps its connection open between hops. Node closes an idle one after
  // 5 s by default (6 s in practice: Node adds a second); a hop sent on it as it closed failed at the client with no answer.
  it("keeps an idle keep-alive connection open past Node's 5 s default, and answers the next hop on it", async () => {
    const hopOn = (port: number, agent: http.Agent, sessionId: string) =>
      new Promise<{ status: number; reused: boolean; closedBefore: boolean }>((resolve, reject) => {
        const body = new URLSearchParams({ sessionId, serviceCode: "*384#", phoneNumber: "+254722000009", networkCode: "63902", text: "" }).toString();
        const free = Object.values(agent.freeSockets).flat();
        const closedBefore = free.length === 0 || free.every((socket) => socket?.destroyed);
        const req = http.request(
          { agent, port, host: "127.0.0.1", path: "/ussd/at", method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body), "x-fingate-secret": SECRET } },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, closedBefore }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const serve = async (hold: boolean) => {
      const server = gateway.app.listen(0, "127.0.0.1");
      if (hold) holdIdleConnections(server);
      await new Promise<void>((resolve) => server.once("listening", resolve));
      const { port } = server.address() as AddressInfo;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const first = await hopOn(port, agent, `ka-${hold}-1`);
      await new Promise((resolve) => setTimeout(resolve, 6_500));
      const second = await hopOn(port, agent, `ka-${hold}-2`);
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return { first, second };
    };
    const [held, plain] = await Promise.all([serve(true), serve(false)]);
    expect(held.first.status).toBe(200);
    expect(held.second).toEqual({ status: 200, reused: true, closedBefore: false });
    // Without it, Node had closed the connection by then: the client had to open another.
    expect(plain.second).toMatchObject({ status: 200, reused: false, closedBefore: true });
  }, 15_000);
});
