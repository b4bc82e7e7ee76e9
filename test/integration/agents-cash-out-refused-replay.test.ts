// A retry (same request id) of an agent's cash-out request that was refused must answer the first
// call's outcome, as any idempotent replay does, whatever changed since: the customer blocked, the
// agent suspended, a SIM swap reported. It used to run the request's checks again first and answer
// whichever refused now (customer_unavailable, agent_unavailable, sim_swap_cooling), so the agent's
// app, retrying until it hears an answer, heard a different one for the same request. The replay
// changes nothing (no hold, no new count, the record as it was); the same id with another body is
// refused as request_id_reused. Over real PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
const SYSTEM = { actorType: "system" as const, actorId: "test", channel: "system" as const };

describe("agents: a refused cash-out request retried", () => {
  let w: AgentsWorld;
  let n = 0;
  const PIN = "6294";

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-refused-replay");
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  const newAgent = async (): Promise<Agent> => {
    const i = ++n;
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `+2547129401${String(i).padStart(2, "0")}`, storeNumber: String(729410 + i), name: `Duka Replay ${i}`, location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    return made.agent;
  };
  const newCustomer = (funds: bigint) => async (): Promise<Customer> => {
    const c = await w.register(`+2547129401${String(50 + ++n)}`, "Rehema Njoki", PIN);
    if (funds > 0n) await w.fund(c.walletAccountId, funds);
    return c;
  };
  const ask = (agent: Agent, customer: Customer, id: string) => ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 60 });
  /** What the request left behind: its record and the agent's count of requests. */
  const trace = async (agent: Agent, id: string) => {
    const rows = await w.test.db.query<{ state: string; settled_at: Date | null; n: string }>(
      `SELECT state, settled_at, (SELECT count(*) FROM agent_cash_outs WHERE agent_id = $2::uuid)::text AS n FROM agent_cash_outs WHERE pending_id = $1::uuid`,
      [cashOutPendingId(id), agent.id],
    );
    return rows.rows[0];
  };
  const held = async (customer: Customer) => (await w.ledger.getAccount(customer.walletAccountId))?.debitsPending;

  it("answers the first refusal after the customer was blocked, the agent suspended and a SIM swap reported, and changes nothing", async () => {
    const agent = await newAgent();
    const customer = await newCustomer(3_000n)();
    const id = uuidv7();
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });
    const first = await trace(agent, id);
    expect(first).toMatchObject({ state: "refused", n: "1" });

    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "blocked")).ok).toBe(true);
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "active")).ok).toBe(true);
    expect((await w.services.agents.setStatus(agent.id, "active", BANK)).ok).toBe(true);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: customer.msisdn, kind: "sim_swap" })).ok).toBe(true);
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });

    expect(await trace(agent, id)).toEqual(first);
    expect(await w.ledger.getTransfer(cashOutPendingId(id))).toBeNull();
    expect(await held(customer)).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(3_000n);
  });

  it("refuses the same id with another amount, customer or timeout as request_id_reused, and a wrong PIN as such, changing nothing", async () => {
    const agent = await newAgent();
    const customer = await newCustomer(3_000n)();
    const other = await newCustomer(50_000n)();
    const id = uuidv7();
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });
    const first = await trace(agent, id);
    expect(await w.services.agents.startCashOut({ ...ask(agent, customer, id), amountMinor: 1_000n })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.startCashOut(ask(agent, other, id))).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.startCashOut({ ...ask(agent, customer, id), customerId: other.id })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.startCashOut({ ...ask(agent, customer, id), timeoutSec: 120 })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.startCashOut({ ...ask(agent, customer, id), agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await trace(agent, id)).toEqual(first);
    expect(await held(customer)).toBe(0n);
    expect(await held(other)).toBe(0n);
    expect(await w.balance(other.walletAccountId)).toBe(50_000n);
  });

  it("answers a request refused at approval (the wallet frozen) as that request, refused, after the customer was blocked", async () => {
    const agent = await newAgent();
    const customer = await newCustomer(50_000n)();
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toMatchObject({ ok: true });
    await w.test.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1::uuid", [customer.walletAccountId]);
    expect(await w.services.agents.approveCashOut({ pendingId, customerId: customer.id, customerPin: PIN })).toEqual({ ok: false, code: "customer_unavailable" });
    await w.test.db.query("UPDATE accounts SET status = 'active' WHERE id = $1::uuid", [customer.walletAccountId]);
    const first = await trace(agent, id);
    expect(first).toMatchObject({ state: "refused" });
    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "blocked")).ok).toBe(true);
    expect(await w.services.agents.startCashOut(ask(agent, customer, id))).toMatchObject({ ok: true, replayed: true, pending: { pendingId, state: "refused" } });
    expect(await trace(agent, id)).toEqual(first);
    expect(await held(customer)).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });
});

describe("agents: a held cash-out request retried", () => {
  let w: AgentsWorld;
  const PIN = "6295";

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-held-replay");
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  // The hold stands and the customer may still approve it: a retry that answered a refusal (the
  // request's checks run again) would have the agent take the request for failed, and hand over no
  // cash for a cash-out the customer then approves.
  it("answers the request, pending, after the customer was blocked or a SIM swap reported, holding nothing more", async () => {
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: "+254712940201", storeNumber: "729421", name: "Duka Held", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    const agent = made.agent;
    const customer = await w.register("+254712940202", "Baraka Omondi", PIN);
    await w.fund(customer.walletAccountId, 50_000n);
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    const request = { id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 60 };
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: false });
    const held = (await w.ledger.getAccount(customer.walletAccountId))?.debitsPending;
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: customer.msisdn, kind: "sim_swap" })).ok).toBe(true);
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { pendingId, state: "pending" } });
    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "blocked")).ok).toBe(true);
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { pendingId, state: "pending" } });
    // Another body under the id is still refused, and a wrong PIN is a wrong PIN.
    expect(await w.services.agents.startCashOut({ ...request, amountMinor: 4_000n })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.startCashOut({ ...request, agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(held);
    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "active")).ok).toBe(true);
    expect(await w.services.agents.declineCashOut({ pendingId, customerId: customer.id })).toMatchObject({ ok: true });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });
});
