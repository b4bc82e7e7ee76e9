// Two banks on one gateway, over the real admin and agent routers and PostgreSQL: a caller
// authenticated for bank A names bank B's agents, keys, customers and cash-outs by id or number.
// Each attempt is a 404 (the id is not confirmed to exist) and changes nothing of bank B's.
// (Institution paths, getAgent, getCustomer and the KYC tier are covered in admin-authz,
// agents-http and admin-customers.)
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { adminRouter } from "../../src/http/admin/router.js";
import { agentApiRouter } from "../../src/http/agent/router.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/infra/log.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { bearer, issueKey, PLATFORM_KEY } from "./admin-fixture.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

let w: AgentsWorld;
let app: express.Express;
let aAdmin: string;
let bAdmin: string;
let bId: string;
let aAgent: Agent;
let bAgent: Agent;
let aDevice: string;
let bDevice: string;
let bDeviceKeyId: string;
let bCustomer: Customer;

const aBase = () => `/admin/v1/institutions/${w.institutionId}`;

async function onboard(institutionId: string, n: number): Promise<Agent> {
  const made = await w.services.agents.onboard({
    institutionId, msisdn: `+2547128304${String(n).padStart(2, "0")}`, storeNumber: String(830400 + n), name: `Duka ${n}`, location: "Nakuru", actor: BANK, pin: AGENT_PIN,
  });
  if (!made.ok) throw new Error(made.code);
  const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: 50_000n, actor: BANK });
  if (!topUp.ok) throw new Error(topUp.code);
  return made.agent;
}

async function deviceKey(admin: string, institutionId: string, agentId: string): Promise<{ id: string; secret: string }> {
  const res = await request(app).post(`/admin/v1/institutions/${institutionId}/agents/${agentId}/device-keys`).set(...bearer(admin)).send({ name: "till" });
  expect(res.status).toBe(201);
  return { id: res.body.key.id as string, secret: res.body.secret as string };
}

/** What of bank B's agent and customer an attempt could have changed. */
async function bSnapshot() {
  const agent = await request(app).get(`/admin/v1/institutions/${bId}/agents/${bAgent.id}`).set(...bearer(bAdmin));
  const keys = await request(app).get(`/admin/v1/institutions/${bId}/agents/${bAgent.id}/device-keys`).set(...bearer(bAdmin));
  const customer = await request(app).get(`/admin/v1/institutions/${bId}/customers/${bCustomer.id}`).set(...bearer(bAdmin));
  const wallet = await w.balance(bCustomer.walletAccountId);
  const audit = await w.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
  return { agent: agent.body, keys: keys.body, customer: customer.body, wallet, pinRows: await pinRows(), auditCount: audit.rows[0]!.n };
}

async function pinRows() {
  const { rows } = await w.test.db.query("SELECT subject_id, pin_hash, failed_attempts, locked_until, updated_at FROM pin_credentials WHERE subject_id = ANY($1::uuid[]) ORDER BY subject_id", [[bAgent.id, bCustomer.id]]);
  return rows;
}

beforeAll(async () => {
  w = await openAgentsWorld("tenant-http-a");
  const logger = createLogger("silent");
  const s = w.services;
  app = express();
  app.use(adminRouter({ db: w.test.db, ledger: w.ledger, logger, platformApiKey: PLATFORM_KEY, directory: s.directory, pins: s.pins, simSwaps: s.simSwap, agents: s.agents, agentKeys: s.agentKeys }));
  app.use(agentApiRouter({ agents: s.agents, keys: s.agentKeys, logger }));
  app.use(createApp({ logger, checkDatabase: async () => undefined }));
  const b = await openKenyanInstitution(w.test.db, s, w.ledger, "tenant-http-b", "Bank B");
  bId = b.institutionId;
  const bands = [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor: 100n }];
  await s.fees.put(bId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands }, new Date(), () => []);
  await s.fees.put(bId, "cash_out", { type: "cash_out", agentShareBps: 5_000, bands }, new Date(), () => []);
  aAdmin = await issueKey(app, PLATFORM_KEY, w.institutionId, "admin");
  bAdmin = await issueKey(app, PLATFORM_KEY, bId, "admin");
  aAgent = await onboard(w.institutionId, 1);
  bAgent = await onboard(bId, 2);
  aDevice = (await deviceKey(aAdmin, w.institutionId, aAgent.id)).secret;
  const bKey = await deviceKey(bAdmin, bId, bAgent.id);
  bDevice = bKey.secret;
  bDeviceKeyId = bKey.id;
  bCustomer = await registerWithPin(s, bId, { msisdn: "+254712830301", name: "Bob Otieno", pin: "5903" });
  const treasury = await w.ledger.createAccount({ institutionId: bId, currency: "KES", kind: "settlement" });
  const funded = await w.ledger.transfer({ id: uuidv7(), debitAccountId: treasury.id, creditAccountId: bCustomer.walletAccountId, amountMinor: 20_000n, code: "deposit" });
  expect(funded.result).toBe("ok");
});

afterAll(async () => {
  await w?.close();
});

describe("bank A's admin key and bank B's ids", () => {
  it("every agent route under bank A's path with bank B's agent id is a 404 agent_not_found, and changes nothing of B's", async () => {
    const before = await bSnapshot();
    const agent = `${aBase()}/agents/${bAgent.id}`;
    const attempts: Array<[string, request.Test]> = [
      ["status", request(app).put(`${agent}/status`).set(...bearer(aAdmin)).send({ status: "suspended" })],
      ["limits", request(app).put(`${agent}/limits`).set(...bearer(aAdmin)).send({ maxPerTransactionMinor: "1" })],
      ["top-up", request(app).post(`${agent}/float/top-ups`).set(...bearer(aAdmin)).send({ requestId: uuidv7(), amountMinor: "100" })],
      ["withdrawal", request(app).post(`${agent}/float/withdrawals`).set(...bearer(aAdmin)).send({ requestId: uuidv7(), amountMinor: "100" })],
      ["statement", request(app).get(`${agent}/statement`).set(...bearer(aAdmin))],
      ["list keys", request(app).get(`${agent}/device-keys`).set(...bearer(aAdmin))],
      ["issue key", request(app).post(`${agent}/device-keys`).set(...bearer(aAdmin)).send({ name: "stolen" })],
      ["revoke key", request(app).delete(`${agent}/device-keys/${bDeviceKeyId}`).set(...bearer(aAdmin))],
      ["pin unlock", request(app).post(`${agent}/pin/unlock`).set(...bearer(aAdmin)).send({})],
      ["pin reset", request(app).post(`${agent}/pin/reset`).set(...bearer(aAdmin)).send({ newPin: "7391" })],
    ];
    for (const [what, attempt] of attempts) {
      const res = await attempt;
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(["agent_not_found", "device_key_not_found"], what).toContain(res.body.error.code);
    }
    expect(await bSnapshot()).toEqual(before);
    // B's device still works: its key was not revoked.
    expect((await request(app).get("/agent/v1/float").set(...bearer(bDevice))).status).toBe(200);
  });

  it("bank B's device key id under bank A's own agent is a 404 and stays active", async () => {
    const res = await request(app).delete(`${aBase()}/agents/${aAgent.id}/device-keys/${bDeviceKeyId}`).set(...bearer(aAdmin));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("device_key_not_found");
    expect((await request(app).get("/agent/v1/me").set(...bearer(bDevice))).body.id).toBe(bAgent.id);
  });

  it("bank B's API key id under bank A's path is a 404 api_key_not_found, and B's key keeps working", async () => {
    const keys = await request(app).get(`/admin/v1/institutions/${bId}/api-keys`).set(...bearer(bAdmin));
    const bKeyId = keys.body.items.find((k: { prefix: string }) => bAdmin.startsWith(k.prefix)).id as string;
    const res = await request(app).delete(`${aBase()}/api-keys/${bKeyId}`).set(...bearer(aAdmin));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("api_key_not_found");
    expect((await request(app).get(`/admin/v1/institutions/${bId}`).set(...bearer(bAdmin))).status).toBe(200);
  });

  it("bank B's customer id under bank A's path is a 404 for status, PIN unlock and PIN reset, and changes nothing", async () => {
    const before = await bSnapshot();
    const customer = `${aBase()}/customers/${bCustomer.id}`;
    const attempts = [
      request(app).put(`${customer}/status`).set(...bearer(aAdmin)).send({ status: "blocked" }),
      request(app).post(`${customer}/pin/unlock`).set(...bearer(aAdmin)),
      request(app).post(`${customer}/pin/reset`).set(...bearer(aAdmin)).send({ newPin: "7391" }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("customer_not_found");
    }
    expect(await bSnapshot()).toEqual(before);
  });
});

describe("bank A's agent device and bank B's customers", () => {
  it("lookup, quotes, cash-in and cash-out with bank B's customer's number are 404 customer_not_found, and move nothing", async () => {
    const before = await bSnapshot();
    const floatBefore = await w.balance(aAgent.floatAccountId);
    const who = bCustomer.msisdn;
    const attempts = [
      request(app).get("/agent/v1/customers/lookup").query({ customer: who }).set(...bearer(aDevice)),
      request(app).get("/agent/v1/cash-ins/quote").query({ customer: who, amountMinor: "1000" }).set(...bearer(aDevice)),
      request(app).post("/agent/v1/cash-ins").set(...bearer(aDevice)).send({ requestId: uuidv7(), customer: who, amountMinor: "1000", pin: AGENT_PIN }),
      request(app).post("/agent/v1/cash-outs").set(...bearer(aDevice)).send({ requestId: uuidv7(), customer: who, amountMinor: "1000", pin: AGENT_PIN }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect(res.body.error.code).toBe("customer_not_found");
    }
    expect(await w.balance(aAgent.floatAccountId)).toBe(floatBefore);
    const after = await bSnapshot();
    expect({ ...after, auditCount: 0 }).toEqual({ ...before, auditCount: 0 });
  });

  it("bank B's agent's cash-out is a 404 pending_not_found to bank A's device", async () => {
    const started = await request(app).post("/agent/v1/cash-outs").set(...bearer(bDevice)).send({ requestId: uuidv7(), customer: bCustomer.msisdn, amountMinor: "1000", pin: AGENT_PIN });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const pendingId = started.body.pendingId as string;
    expect((await request(app).get(`/agent/v1/cash-outs/${pendingId}`).set(...bearer(bDevice))).status).toBe(200);
    const foreign = await request(app).get(`/agent/v1/cash-outs/${pendingId}`).set(...bearer(aDevice));
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe("pending_not_found");
  });
});

// Last: the report puts bank B's customer in a SIM-swap cooling period (the number's, whoever reported it).
describe("audit entries of one bank about another bank's customer's number", () => {
  it("bank A's SIM-swap report on its agent's number, which is bank B's customer's, is in A's audit log, not B's (B sees the report in its list)", async () => {
    // Agents' numbers are unique within a bank only: bank A's agent may hold B's customer's number.
    const made = await w.services.agents.onboard({ institutionId: w.institutionId, msisdn: bCustomer.msisdn, storeNumber: "830399", name: "Duka Pili", location: "Nakuru", actor: BANK, pin: AGENT_PIN });
    if (!made.ok) throw new Error(made.code);
    const reported = await request(app).post(`${aBase()}/sim-swaps`).set(...bearer(aAdmin)).send({ msisdn: bCustomer.msisdn, kind: "sim_swap" });
    expect(reported.status).toBe(201);
    const mine = await request(app).get(`${aBase()}/audit?action=sim_swap.report`).set(...bearer(aAdmin));
    expect(mine.body.items).toHaveLength(1);
    const theirs = await request(app).get(`/admin/v1/institutions/${bId}/audit?action=sim_swap.report`).set(...bearer(bAdmin));
    expect(theirs.status).toBe(200);
    expect(theirs.body.items).toEqual([]);
    // Nor can B page from A's entry.
    const cursor = `${mine.body.items[0].chain}:${mine.body.items[0].seq}`;
    expect((await request(app).get(`/admin/v1/institutions/${bId}/audit?before=${cursor}`).set(...bearer(bAdmin))).status).toBe(400);
    const listed = await request(app).get(`/admin/v1/institutions/${bId}/sim-swaps`).set(...bearer(bAdmin));
    expect(listed.body.items).toMatchObject([{ msisdn: bCustomer.msisdn, customerId: bCustomer.id, agentId: null, kind: "sim_swap" }]);
  });
});
