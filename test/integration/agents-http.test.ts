// The agents' admin API (bank keys, institution-scoped) and the agent point-of-sale API (device
// keys) over HTTP with supertest, on the real services and PostgreSQL.
import express from "express";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { adminRouter } from "../../src/http/admin/router.js";
import { agentApiRouter } from "../../src/http/agent/router.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/infra/log.js";
import { bearer, issueKey, PLATFORM_KEY } from "./admin-fixture.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

describe("agents over HTTP", () => {
  let w: AgentsWorld;
  let app: express.Express;
  let agentRouter: express.Router;
  let admin: string;
  let auditor: string;
  let otherAdmin: string;
  let otherId: string;
  let base: string;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-http");
    const logger = createLogger("silent");
    const s = w.services;
    agentRouter = agentApiRouter({ agents: s.agents, keys: s.agentKeys, logger });
    app = express();
    app.use(adminRouter({ db: w.test.db, ledger: w.ledger, logger, platformApiKey: PLATFORM_KEY, directory: s.directory, pins: s.pins, simSwaps: s.simSwap, agents: s.agents, agentKeys: s.agentKeys }));
    app.use(agentRouter);
    app.use(createApp({ logger, checkDatabase: async () => undefined }));
    admin = await issueKey(app, PLATFORM_KEY, w.institutionId, "admin");
    auditor = await issueKey(app, admin, w.institutionId, "auditor");
    const other = uuidv7();
    await w.test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'agents-http-b', 'Other', 'KES', 'UTC')", [other]);
    otherAdmin = await issueKey(app, PLATFORM_KEY, other, "admin");
    otherId = other;
    base = `/admin/v1/institutions/${w.institutionId}/agents`;
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  /** Onboards through the API, tops up the float and issues a device key. */
  async function setUpAgent(n: number, floatMinor = "50000") {
    const made = await request(app).post(base).set(...bearer(admin)).send({ msisdn: `07188${String(n).padStart(5, "0")}`, storeNumber: String(700000 + n), name: `Shop ${n}`, location: "Kisumu", pin: AGENT_PIN });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body.id as string;
    if (floatMinor !== "0") {
      const top = await request(app).post(`${base}/${id}/float/top-ups`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: floatMinor });
      expect(top.status).toBe(201);
    }
    const key = await request(app).post(`${base}/${id}/device-keys`).set(...bearer(admin)).send({ name: "till 1" });
    expect(key.status).toBe(201);
    return { id, msisdn: made.body.msisdn as string, storeNumber: made.body.storeNumber as string, key: key.body.secret as string, keyId: key.body.key.id as string };
  }

  it("admin: onboards, lists, shows balances, scopes to the institution, and refuses bad input", async () => {
    const a = await setUpAgent(1);
    const got = await request(app).get(`${base}/${a.id}`).set(...bearer(auditor));
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: a.id, status: "active", floatBalanceMinor: "50000", commissionBalanceMinor: "0", limits: { maxDailyCount: 500 } });
    const list = await request(app).get(base).set(...bearer(auditor));
    expect(list.body.items.map((x: { id: string }) => x.id)).toContain(a.id);
    expect((await request(app).post(base).set(...bearer(auditor)).send({})).status).toBe(403);
    const other = await request(app).get(`/admin/v1/institutions/${w.institutionId}/agents/${a.id}`).set(...bearer(otherAdmin));
    expect(other.status).toBe(404);
    const dup = await request(app).post(base).set(...bearer(admin)).send({ msisdn: a.msisdn, storeNumber: "123456", name: "X", location: "Y", pin: "2580" });
    expect(dup.body.error.code).toBe("agent_exists");
    for (const body of [
      { msisdn: "0718899999", storeNumber: "12", name: "X", location: "Y", pin: "2580" },
      { msisdn: "0718899999", storeNumber: "123457", name: "X", location: "Y", pin: "12" },
      { msisdn: "0718899999", storeNumber: "123457", name: "X", location: "Y", pin: "2580", limits: { maxPerTransactionMinor: -5 } },
      { msisdn: "0718899999", storeNumber: "123457", name: "X", location: "Y", pin: "2580", extra: true },
    ]) {
      const res = await request(app).post(base).set(...bearer(admin)).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await request(app).get(`${base}?limit=100`).set(...bearer(auditor))).body.items).toHaveLength(1);
    const limits = await request(app).put(`${base}/${a.id}/limits`).set(...bearer(admin)).send({ maxPerTransactionMinor: "3000", maxDailyCount: 20, maxDailyFloatInMinor: "70000" });
    expect(limits.status).toBe(200);
    expect(limits.body.limits).toEqual({
      maxPerTransactionMinor: "3000",
      maxDailyFloatOutMinor: "50000000",
      maxDailyFloatInMinor: "70000",
      maxDailyCount: 20,
      maxFloatBalanceMinor: "100000000",
    });
    expect((await request(app).put(`${base}/${a.id}/limits`).set(...bearer(admin)).send({ maxDailyFloatInMinor: "0" })).status).toBe(400);
    expect((await request(app).put(`${base}/${a.id}/limits`).set(...bearer(admin)).send({ maxDailyCount: 0 })).status).toBe(400);
    expect((await request(app).put(`${base}/${a.id}/limits`).set(...bearer(auditor)).send({ maxDailyCount: 5 })).status).toBe(403);
    const cashIn = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0712300001", amountMinor: "3001", pin: AGENT_PIN });
    expect(cashIn.status).toBe(422);
    expect(cashIn.body.error).toMatchObject({ code: "per_transaction_exceeded", availableMinor: "3000" });
  });

  it("admin: float top-up and withdrawal are idempotent by request id and never overdraw the float", async () => {
    const a = await setUpAgent(2, "10000");
    const requestId = uuidv7();
    const first = await request(app).post(`${base}/${a.id}/float/withdrawals`).set(...bearer(admin)).send({ requestId, amountMinor: "4000" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ floatBalanceMinor: "6000", replayed: false });
    const again = await request(app).post(`${base}/${a.id}/float/withdrawals`).set(...bearer(admin)).send({ requestId, amountMinor: "4000" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ floatBalanceMinor: "6000", replayed: true });
    // A reference the database cannot store is the request's fault: 400, and nothing moves.
    const nul = await request(app).post(`${base}/${a.id}/float/top-ups`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: "1000", reference: "bad\u0000ref" });
    expect([nul.status, nul.body.error?.code]).toEqual([400, "invalid_request"]);
    const lookup = await request(app).get("/agent/v1/customers/lookup?customer=07%00").set(...bearer(a.key));
    expect([lookup.status, lookup.body.error?.code]).toEqual([400, "invalid_request"]);
    // A path parameter that does not percent-decode: the router's URIError was a 500.
    const undecodable = await request(app).get("/agent/v1/cash-outs/%E0").set(...bearer(a.key));
    expect([undecodable.status, undecodable.body.error?.code, undecodable.body.error?.details]).toEqual([400, "invalid_request", [{ path: "url", message: "holds a malformed percent-encoding" }]]);
    const latin1 = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).set("Content-Type", "application/json; charset=latin1").send("{}");
    expect([latin1.status, latin1.body.error?.code]).toEqual([415, "unsupported_media_type"]);
    const reused = await request(app).post(`${base}/${a.id}/float/withdrawals`).set(...bearer(admin)).send({ requestId, amountMinor: "5000" });
    expect(reused.body.error.code).toBe("request_id_reused");
    const over = await request(app).post(`${base}/${a.id}/float/withdrawals`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: "6001" });
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe("insufficient_float");
    for (const amountMinor of ["0", "-1", "1.5", "99999999999999999999", 100]) {
      const bad = await request(app).post(`${base}/${a.id}/float/top-ups`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor });
      expect(bad.status, String(amountMinor)).toBe(400);
    }
    expect(await w.balance((await w.services.agents.get(a.id))!.floatAccountId)).toBe(6_000n);
    const close = () => request(app).put(`${base}/${a.id}/status`).set(...bearer(admin)).send({ status: "closed" });
    expect((await close()).body.error.code).toBe("agent_has_balance");
    expect((await request(app).post(`${base}/${a.id}/float/withdrawals`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: "6000" })).status).toBe(201);
    expect((await close()).body.status).toBe("closed");
    expect((await request(app).post(`${base}/${a.id}/float/top-ups`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: "1" })).body.error.code).toBe("agent_unavailable");
    const statement = await request(app).get(`${base}/${a.id}/statement?limit=10`).set(...bearer(auditor));
    expect(statement.body.items.map((t: { code: string; direction: string }) => `${t.code}:${t.direction}`)).toEqual(["float_withdraw:out", "float_withdraw:out", "float_top_up:in"]);
  });

  it("agent API: cash-in with lookup and quote, receipts, replay, float, today's transactions and commission", async () => {
    const a = await setUpAgent(3);
    const pos = (path: string) => request(app).get(`/agent/v1${path}`).set(...bearer(a.key));
    expect((await pos(`/customers/lookup?customer=0712300001`)).body).toEqual({ maskedName: "ALICE W***" });
    const quote = (await pos(`/cash-ins/quote?customer=0712300001&amountMinor=20000`)).body;
    expect(quote).toMatchObject({ feeMinor: "1000", commissionMinor: "500" });
    expect(quote).not.toHaveProperty("customerId");
    const requestId = uuidv7();
    const send = () => request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId, customer: "0712300001", amountMinor: "20000", pin: AGENT_PIN });
    const first = await send();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ maskedName: "ALICE W***", amountMinor: "20000", replayed: false });
    expect((await send()).status).toBe(200);
    expect((await pos("/float")).body).toEqual({ balanceMinor: "30000", currency: "KES" });
    expect((await pos("/commission")).body).toEqual({ balanceMinor: "500", currency: "KES" });
    const today = await pos("/transactions/today?limit=1");
    expect(today.body.items.map((t: { code: string }) => t.code)).toEqual(["cash_in"]);
    expect(today.body.count).toBe(2);
    expect((await pos("/me")).body).toMatchObject({ id: a.id, storeNumber: a.storeNumber });
    const wrongPin = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0712300001", amountMinor: "500", pin: "0000" });
    expect(wrongPin.body.error.code).toBe("pin_wrong");
    const unlocked = await request(app).post(`${base}/${a.id}/pin/unlock`).set(...bearer(admin)).send({});
    expect(unlocked.body).toEqual({ wasLocked: false });
    expect((await request(app).post(`${base}/${a.id}/pin/reset`).set(...bearer(admin)).send({ newPin: "1234" })).body.error.code).toBe("pin_weak");
    const tooMuch = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0712300001", amountMinor: "30001", pin: AGENT_PIN });
    expect(tooMuch.body.error.code).toBe("insufficient_float");
    const unknown = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0799999999", amountMinor: "100", pin: AGENT_PIN });
    expect(unknown.body.error.code).toBe("customer_not_found");
    for (const amountMinor of ["0", "-5", "12.5", "abc", 10]) {
      const bad = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0712300001", amountMinor, pin: AGENT_PIN });
      expect(bad.status, String(amountMinor)).toBe(400);
    }
    expect((await pos("/float")).body.balanceMinor).toBe("30000");
  });

  it("agent API: cash-out waits for the customer, shows its state, and the customer's approval posts it", async () => {
    const a = await setUpAgent(4, "0");
    await w.fund(w.bob.walletAccountId, 10_000n);
    const started = await request(app).post("/agent/v1/cash-outs").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: w.bob.msisdn, amountMinor: "2000", pin: AGENT_PIN, timeoutSec: 120 });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ state: "pending", amountMinor: "2000", feeMinor: "100" });
    const pendingId = started.body.pendingId as string;
    const status = () => request(app).get(`/agent/v1/cash-outs/${pendingId}`).set(...bearer(a.key));
    expect((await status()).body.state).toBe("pending");
    const stranger = await setUpAgent(5, "0");
    expect((await request(app).get(`/agent/v1/cash-outs/${pendingId}`).set(...bearer(stranger.key))).status).toBe(404);
    expect(await w.services.agents.approveCashOut({ pendingId, customerId: w.bob.id, customerPin: "5903" })).toMatchObject({ ok: true });
    expect((await status()).body.state).toBe("approved");
    expect((await request(app).get("/agent/v1/float").set(...bearer(a.key))).body.balanceMinor).toBe("2000");
  });

  it("agent API: a cash-out approved while the agent's float is frozen reads cancelled, also on a retry of its request", async () => {
    const a = await setUpAgent(10, "0");
    await w.fund(w.bob.walletAccountId, 10_000n);
    const ask = { requestId: uuidv7(), customer: w.bob.msisdn, amountMinor: "1500", pin: AGENT_PIN };
    const started = await request(app).post("/agent/v1/cash-outs").set(...bearer(a.key)).send(ask);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const pendingId = started.body.pendingId as string;
    const float = (await w.test.db.query<{ id: string }>("SELECT float_account_id AS id FROM agents WHERE id = $1::uuid", [a.id])).rows[0]!.id;
    await w.test.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1::uuid", [float]);
    try {
      expect(await w.services.agents.approveCashOut({ pendingId, customerId: w.bob.id, customerPin: "5903" })).toEqual({ ok: false, code: "agent_unavailable" });
    } finally {
      await w.test.db.query("UPDATE accounts SET status = 'active' WHERE id = $1::uuid", [float]);
    }
    const status = await request(app).get(`/agent/v1/cash-outs/${pendingId}`).set(...bearer(a.key));
    expect([status.status, status.body.state]).toEqual([200, "cancelled"]);
    const retried = await request(app).post("/agent/v1/cash-outs").set(...bearer(a.key)).send(ask);
    expect([retried.status, retried.body.state, retried.body.pendingId]).toEqual([200, "cancelled", pendingId]);
  });

  it("agent API: a cash-out refused by the float's daily limit and retried with its request id is still the float's limit", async () => {
    const a = await setUpAgent(8, "0");
    expect((await w.services.agents.setLimits(a.id, { maxDailyFloatInMinor: 1_000n }, { type: "bank_user", id: "apikey:test" })).ok).toBe(true);
    const frank = await w.register("0712300062", "Frank Mutua", "2864");
    await w.fund(frank.walletAccountId, 10_000n);
    const body = { requestId: uuidv7(), customer: frank.msisdn, amountMinor: "2000", pin: AGENT_PIN, timeoutSec: 120 };
    const first = await request(app).post("/agent/v1/cash-outs").set(...bearer(a.key)).send(body);
    expect(first.body.error).toMatchObject({ code: "float_limit_exceeded", availableMinor: "1000" });
    // The retry's answer comes from the recorded refusal: the same limit, and no amount from then.
    const again = await request(app).post("/agent/v1/cash-outs").set(...bearer(a.key)).send(body);
    expect(again.status).toBe(first.status);
    expect(again.body.error).toEqual({ ...first.body.error, availableMinor: undefined });
    expect((await request(app).get("/agent/v1/float").set(...bearer(a.key))).body.balanceMinor).toBe("0");
  });

  it("device keys: unknown, revoked and suspended agents' keys change nothing", async () => {
    const a = await setUpAgent(6);
    expect((await request(app).get("/agent/v1/float")).status).toBe(401);
    expect((await request(app).get("/agent/v1/float").set(...bearer("fgk_nope"))).status).toBe(401);
    expect((await request(app).get("/agent/v1/float").set(...bearer(admin))).status).toBe(401);
    const suspended = await request(app).put(`${base}/${a.id}/status`).set(...bearer(admin)).send({ status: "suspended" });
    expect(suspended.body.status).toBe("suspended");
    const refused = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: "0712300001", amountMinor: "100", pin: AGENT_PIN });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("agent_unavailable");
    await request(app).put(`${base}/${a.id}/status`).set(...bearer(admin)).send({ status: "active" });
    const revoked = await request(app).delete(`${base}/${a.id}/device-keys/${a.keyId}`).set(...bearer(admin));
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await request(app).get("/agent/v1/float").set(...bearer(a.key))).status).toBe(401);
    const keys = await request(app).get(`${base}/${a.id}/device-keys`).set(...bearer(auditor));
    expect(keys.body.items).toHaveLength(1);
    expect(JSON.stringify(keys.body)).not.toContain(a.key);
    expect((await request(app).get("/agent/v1/nowhere").set(...bearer(a.key))).status).toBe(404);
  });

  it("admin: concurrent device-key issues stop at ten active keys, and the listing shows every active key however many were revoked", async () => {
    const a = await setUpAgent(11);
    const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => request(app).post(`${base}/${a.id}/device-keys`).set(...bearer(admin)).send({ name: `till ${i + 2}` })));
    expect(issued.filter((r) => r.status === 201)).toHaveLength(9);
    expect(issued.filter((r) => r.status !== 201).map((r) => r.body.error.code)).toEqual(Array(11).fill("too_many_keys"));
    // One freed, then 100 more issued and revoked: the nine old active keys and the new one are all still listed.
    const actor = { type: "bank_user" as const, id: "apikey:test" };
    expect(await w.services.agentKeys.revoke(a.id, w.institutionId, a.keyId, actor)).not.toBeNull();
    for (let i = 0; i < 100; i++) {
      const made = await w.services.agentKeys.issue(a.id, w.institutionId, `temp ${i}`, actor);
      if (!made.ok) throw new Error(made.code);
      await w.services.agentKeys.revoke(a.id, w.institutionId, made.key.id, actor);
    }
    const listed = (await request(app).get(`${base}/${a.id}/device-keys`).set(...bearer(auditor))).body.items as { revokedAt: string | null }[];
    expect(listed.filter((k) => k.revokedAt === null)).toHaveLength(9);
    expect(listed).toHaveLength(100);
    expect((await request(app).post(`${base}/${a.id}/device-keys`).set(...bearer(admin)).send({ name: "till 11" })).status).toBe(201);
    expect((await request(app).post(`${base}/${a.id}/device-keys`).set(...bearer(admin)).send({ name: "till 12" })).body.error.code).toBe("too_many_keys");
  });

  it("admin: reverses a cash-in once, audited, only within the bank that owns the agent", async () => {
    const a = await setUpAgent(7);
    const done = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: w.bob.msisdn, amountMinor: "5000", pin: AGENT_PIN });
    expect(done.status).toBe(201);
    const reverse = () => request(app).post(`${base}/cash-ins/${done.body.transferId}/reversal`).set(...bearer(admin)).send({ reason: "wrong number" });
    expect((await request(app).post(`/admin/v1/institutions/${w.institutionId}/agents/cash-ins/${done.body.transferId}/reversal`).set(...bearer(otherAdmin)).send({ reason: "x" })).status).toBe(404);
    // Through its own path, another bank hears "not found" for this bank's transfers, cash-ins or not: nothing of their kind.
    const fee = (await w.test.db.query<{ id: string }>("SELECT id FROM transfers WHERE reference = $1 AND code <> 'cash_in' LIMIT 1", [done.body.transferId])).rows[0]!.id;
    for (const id of [done.body.transferId as string, fee]) {
      const foreign = await request(app).post(`/admin/v1/institutions/${otherId}/agents/cash-ins/${id}/reversal`).set(...bearer(otherAdmin)).send({ reason: "x" });
      expect([foreign.status, foreign.body.error?.code]).toEqual([404, "transfer_not_found"]);
    }
    const first = await reverse();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ amountMinor: "5000", feeRefundMinor: "100", commissionClawbackMinor: "50" });
    const second = await reverse();
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("already_reversed");
    const entries = await w.test.db.query<{ actor_id: string; payload: { reason: string } }>(`SELECT actor_id, payload FROM audit_log WHERE action = 'agents.cash_in.reverse' AND outcome = 'ok' AND subject = $1`, [a.id]);
    expect(entries.rows).toHaveLength(1);
    expect(entries.rows[0]!.payload.reason).toBe("wrong number");
    expect((await request(app).get("/agent/v1/float").set(...bearer(a.key))).body.balanceMinor).toBe("50000");
  });

  it("admin: an account frozen in the ledger refuses with the admin API's codes and moves nothing", async () => {
    const a = await setUpAgent(9, "10000");
    const setStatus = (accountId: string, status: "active" | "frozen") => w.test.db.query("UPDATE accounts SET status = $2 WHERE id = $1::uuid", [accountId, status]);
    const floatOf = async () => (await request(app).get(`${base}/${a.id}`).set(...bearer(auditor))).body.floatBalanceMinor;
    // The bank's settlement account: the float cannot move, said as the bank's own account.
    const statement = await request(app).get(`${base}/${a.id}/statement`).set(...bearer(auditor));
    const settlement = statement.body.items[0].counterpartyAccountId as string;
    await setStatus(settlement, "frozen");
    try {
      for (const path of ["top-ups", "withdrawals"]) {
        const res = await request(app).post(`${base}/${a.id}/float/${path}`).set(...bearer(admin)).send({ requestId: uuidv7(), amountMinor: "1000" });
        expect(res.status, path).toBe(409);
        expect(res.body.error.code).toBe("bank_account_unavailable");
      }
    } finally {
      await setStatus(settlement, "active");
    }
    expect(await floatOf()).toBe("10000");
    // A reversal's customer whose wallet is frozen: customer_not_active, and it applies once thawed.
    const customer = await w.register("0712366030", "Zawadi Mwangi", "6284");
    const done = await request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer: customer.msisdn, amountMinor: "5000", pin: AGENT_PIN });
    expect(done.status).toBe(201);
    const reverse = () => request(app).post(`${base}/cash-ins/${done.body.transferId}/reversal`).set(...bearer(admin)).send({ reason: "wrong number" });
    await setStatus(customer.walletAccountId, "frozen");
    try {
      const refused = await reverse();
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("customer_not_active");
    } finally {
      await setStatus(customer.walletAccountId, "active");
    }
    expect(await floatOf()).toBe("5000");
    expect((await reverse()).status).toBe(201);
    expect(await floatOf()).toBe("10000");
  });

  it("point of sale: a customer the bank blocked or closed gets, before the agent's PIN, the answers of an unknown number", async () => {
    const a = await setUpAgent(40);
    const bank = { actorType: "bank_user" as const, actorId: "apikey:test", channel: "admin" as const, institutionId: w.institutionId };
    const blocked = await w.register("0712795001", "Tom Kiprono", "4827");
    const closed = await w.register("0712795002", "Una Moraa", "5831");
    expect((await w.services.directory.setStatus(bank, blocked.id, "blocked")).ok).toBe(true);
    expect((await w.services.directory.setStatus(bank, closed.id, "closed")).ok).toBe(true);
    const pos = (path: string) => request(app).get(`/agent/v1${path}`).set(...bearer(a.key));
    const cashIn = (customer: string) =>
      request(app).post("/agent/v1/cash-ins").set(...bearer(a.key)).send({ requestId: uuidv7(), customer, amountMinor: "20000", pin: "0000" });
    const answers = async (customer: string) => {
      const replies = [await pos(`/customers/lookup?customer=${customer}`), await pos(`/cash-ins/quote?customer=${customer}&amountMinor=20000`), await cashIn(customer)];
      return replies.map((r) => ({ status: r.status, body: r.body as unknown }));
    };
    const unknown = await answers("0712795099");
    expect(unknown.map((r) => r.status)).toEqual([404, 404, 404]);
    expect(await answers("0712795001")).toEqual(unknown);
    expect(await answers("0712795002")).toEqual(unknown);
  });

  it("the agent API's OpenAPI document lists exactly the mounted routes", async () => {
    const res = await request(app).get("/agent/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const stack = (agentRouter as unknown as { stack: Layer[] }).stack;
    const mounted = stack
      .filter((l) => l.route)
      .flatMap((l) => Object.keys(l.route!.methods).filter((m) => m !== "_all").map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`))
      .sort();
    expect(documented).toEqual(mounted);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) if (path !== "/agent/v1/openapi.json") expect(Object.keys(op.responses)).toContain("401");
    }
    expect(JSON.stringify(doc)).not.toContain("$defs");
  });
});
