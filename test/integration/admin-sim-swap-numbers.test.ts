// SIM-swap reports through the bank's admin API, on the real services (buildServices) and
// PostgreSQL: the report must land on the number the guards look up, whoever holds it.
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminRouter } from "../../src/http/admin/router.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/infra/log.js";
import { bearer, issueKey, PLATFORM_KEY } from "./admin-fixture.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

describe("SIM-swap reports of a number as the bank types it", () => {
  let w: AgentsWorld;
  let app: express.Express;
  let admin: string;
  let operator: string;
  let swaps: string;

  beforeAll(async () => {
    w = await openAgentsWorld("sim-swap-numbers");
    const s = w.services;
    const logger = createLogger("silent");
    app = express();
    app.use(adminRouter({ db: w.test.db, ledger: w.ledger, logger, platformApiKey: PLATFORM_KEY, directory: s.directory, pins: s.pins, simSwaps: s.simSwap, agents: s.agents, agentKeys: s.agentKeys }));
    app.use(createApp({ logger, checkDatabase: async () => undefined }));
    admin = await issueKey(app, PLATFORM_KEY, w.institutionId, "admin");
    operator = await issueKey(app, admin, w.institutionId, "operator");
    swaps = `/admin/v1/institutions/${w.institutionId}/sim-swaps`;
  });
  afterAll(async () => {
    await w?.close();
  });

  it("a customer's number with its trunk 0 kept is recorded as the customer's number: the cooling applies and the report is listed", async () => {
    const carol = await w.register("0712399001", "Carol Achieng", "5821");
    expect(carol.msisdn).toBe("+254712399001");
    const reported = await request(app).post(swaps).set(...bearer(operator)).send({ msisdn: "+2540712399001", kind: "sim_swap" });
    expect(reported.status, JSON.stringify(reported.body)).toBe(201);
    expect(reported.body.event.msisdn).toBe(carol.msisdn);
    const list = await request(app).get(swaps).set(...bearer(operator));
    expect(list.body.items).toContainEqual(expect.objectContaining({ customerId: carol.id, msisdn: carol.msisdn, kind: "sim_swap" }));
    const reset = await request(app).post(`/admin/v1/institutions/${w.institutionId}/customers/${carol.id}/pin/reset`).set(...bearer(admin)).send({ newPin: "7302" });
    expect([reset.status, reset.body.error?.code]).toEqual([409, "sim_swap_cooling"]);
  });

  it("the guard itself records a number in its canonical form, and refuses one that is no mobile number", async () => {
    const dan = await w.register("0712399002", "Dan Mwangi", "5821");
    const telco = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
    const report = await w.services.simSwap.report({ ...telco, msisdn: "+2540712399002", kind: "sim_swap" });
    expect(report.ok && report.event.msisdn).toBe(dan.msisdn);
    expect(await w.services.simSwap.coolingEndsAt(dan.msisdn)).toBeInstanceOf(Date);
    expect(await w.services.simSwap.report({ ...telco, msisdn: "+2541234", kind: "sim_swap" })).toEqual({ ok: false, code: "invalid_msisdn" });
  });

  it("a swap of an agent's number (no customer's) is recorded: the bank's reset of the agent's PIN waits out the cooling", async () => {
    const made = await request(app).post(`/admin/v1/institutions/${w.institutionId}/agents`).set(...bearer(admin))
      .send({ msisdn: "0718800123", storeNumber: "718123", name: "Duka la Swap", location: "Kisumu", pin: "4718" });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const agent = made.body as { id: string; msisdn: string };
    expect((await w.services.directory.findCustomerByMsisdn(agent.msisdn)).ok).toBe(false);
    const reported = await request(app).post(swaps).set(...bearer(operator)).send({ msisdn: "+2540718800123", kind: "sim_swap" });
    expect(reported.status, JSON.stringify(reported.body)).toBe(201);
    expect(reported.body.event.msisdn).toBe(agent.msisdn);
    const list = await request(app).get(swaps).set(...bearer(operator));
    expect(list.body.items).toContainEqual(expect.objectContaining({ customerId: null, agentId: agent.id, msisdn: agent.msisdn }));
    const reset = await request(app).post(`/admin/v1/institutions/${w.institutionId}/agents/${agent.id}/pin/reset`).set(...bearer(admin)).send({ newPin: "6093" });
    expect([reset.status, reset.body.error?.code]).toEqual([409, "sim_swap_cooling"]);
    // A number that is neither a customer's nor an agent's of the bank is still refused.
    const nobody = await request(app).post(swaps).set(...bearer(operator)).send({ msisdn: "+254718800999", kind: "sim_swap" });
    expect([nobody.status, nobody.body.error?.code]).toEqual([404, "customer_not_found"]);
  });
});
