// A retry (same request id) of a cash-in or withdrawal the ledger refused must answer the first
// call's refusal, as any idempotent replay does, whatever changed since: the customer blocked, the
// agent suspended, a SIM swap reported. It used to run the request's checks again before reaching
// the ledger and answer whichever refused now (customer_not_found, agent_unavailable,
// sim_swap_cooling...), so the agent's app or the customer, retrying until they hear an answer,
// heard another one for the same request. The replay is answered from the ledger's recorded
// failure, read without settling anything, and changes nothing; the same id with another body is
// refused as request_id_reused, and the PIN is still asked. Over real PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashInTransferId } from "../../src/core/agents/cash-in.js";
import type { Agent } from "../../src/core/agents/types.js";
import { withdrawTransferId } from "../../src/core/agents/withdraw.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
const SYSTEM = { actorType: "system" as const, actorId: "test", channel: "system" as const };
const PIN = "6387";

describe("agents: a refused cash-in or withdrawal retried", () => {
  let w: AgentsWorld;
  let n = 0;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-move-refused-replay");
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  const newAgent = async (floatMinor: bigint): Promise<Agent> => {
    const i = ++n;
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `+2547129800${String(i).padStart(2, "0")}`, storeNumber: String(729800 + i), name: `Duka Marudio ${i}`, location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    if (floatMinor > 0n) {
      const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: floatMinor, actor: BANK });
      if (!topUp.ok) throw new Error(topUp.code);
    }
    return made.agent;
  };
  const newCustomer = async (funds: bigint): Promise<Customer> => {
    const c = await w.register(`+2547129800${String(50 + ++n)}`, "Wanjiku Muthoni", PIN);
    if (funds > 0n) await w.fund(c.walletAccountId, funds);
    return c;
  };
  const block = async (c: Customer, status: "blocked" | "active") => expect((await w.services.directory.setStatus(SYSTEM, c.id, status)).ok).toBe(true);
  const suspend = async (a: Agent, status: "suspended" | "active") => expect((await w.services.agents.setStatus(a.id, status, BANK)).ok).toBe(true);
  const swap = async (msisdn: string) => expect((await w.services.simSwap.report({ ...TELCO, msisdn, kind: "sim_swap" })).ok).toBe(true);

  describe("cash-in", () => {
    const cashIn = (agent: Agent, customer: Customer, id: string) =>
      ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const });

    it("answers the first refusal after the customer was blocked, the agent suspended and a SIM swap reported, and moves nothing", async () => {
      const agent = await newAgent(3_000n);
      const customer = await newCustomer(0n);
      const id = uuidv7();
      const request = cashIn(agent, customer, id);
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });

      await block(customer, "blocked");
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });
      await suspend(agent, "suspended");
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });
      await block(customer, "active");
      await suspend(agent, "active");
      await swap(agent.msisdn);
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });

      expect(await w.ledger.getTransfer(cashInTransferId(id))).toBeNull();
      expect(await w.balance(agent.floatAccountId)).toBe(3_000n);
      expect(await w.balance(customer.walletAccountId)).toBe(0n);
    });

    it("answers a limit refusal of the float again, without its amount, after the agent was suspended", async () => {
      const agent = await newAgent(100_000n);
      const customer = await newCustomer(0n);
      expect((await w.services.agents.setLimits(agent.id, { maxDailyFloatOutMinor: 4_000n }, BANK)).ok).toBe(true);
      const request = cashIn(agent, customer, uuidv7());
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "daily_amount_exceeded", availableMinor: 4_000n });
      await suspend(agent, "suspended");
      // What was available then is not said again: it may be wrong by now.
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "daily_amount_exceeded" });
      await suspend(agent, "active");
      expect(await w.balance(agent.floatAccountId)).toBe(100_000n);
    });

    it("answers the first refusal after the fee schedule stopped covering the amount", async () => {
      const agent = await newAgent(3_000n);
      const customer = await newCustomer(0n);
      const request = cashIn(agent, customer, uuidv7());
      expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });
      const bands = (feeMinor: bigint, minMinor: bigint) => [{ minMinor, maxMinor: 10_000_000n, feeMinor }];
      await w.services.fees.put(w.institutionId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands: bands(100n, 10_001n) }, new Date(), () => []);
      try {
        expect(await w.services.agents.cashIn(request)).toEqual({ ok: false, code: "insufficient_float" });
      } finally {
        await w.services.fees.put(w.institutionId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands: bands(100n, 1n) }, new Date(), () => []);
      }
    });

    it("refuses the same id with another amount or customer as request_id_reused, and a wrong PIN as such, moving nothing", async () => {
      const agent = await newAgent(3_000n);
      const customer = await newCustomer(0n);
      const other = await newCustomer(0n);
      const id = uuidv7();
      expect(await w.services.agents.cashIn(cashIn(agent, customer, id))).toEqual({ ok: false, code: "insufficient_float" });
      await block(customer, "blocked");
      expect(await w.services.agents.cashIn({ ...cashIn(agent, customer, id), amountMinor: 1_000n })).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.cashIn(cashIn(agent, other, id))).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.cashIn({ ...cashIn(agent, customer, id), customerId: other.id })).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.cashIn({ ...cashIn(agent, customer, id), agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
      const another = await newAgent(100_000n);
      expect(await w.services.agents.cashIn(cashIn(another, customer, id))).toEqual({ ok: false, code: "request_id_reused" });
      await block(customer, "active");
      expect(await w.balance(agent.floatAccountId)).toBe(3_000n);
      expect(await w.balance(another.floatAccountId)).toBe(100_000n);
      expect(await w.balance(other.walletAccountId)).toBe(0n);
    });
  });

  // The refusal is read from the ledger's record, never settled: a request refused before the
  // ledger (a wrong PIN here, as a first call not yet there) leaves its id free, and goes through.
  it("runs a request refused before the ledger as new when retried: its id is not settled by the read", async () => {
    const agent = await newAgent(100_000n);
    const customer = await newCustomer(20_000n);
    const inId = uuidv7();
    const deposit = { id: inId, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: "0000", channel: "agent" as const };
    expect(await w.services.agents.cashIn(deposit)).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.cashIn({ ...deposit, agentPin: AGENT_PIN })).toMatchObject({ ok: true, replayed: false });
    const outId = uuidv7();
    const takeOut = { id: outId, customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 2_000n, customerPin: "0000", channel: "ussd" as const };
    expect(await w.services.agents.withdraw(takeOut)).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.withdraw({ ...takeOut, customerPin: PIN })).toMatchObject({ ok: true, replayed: false });
    expect(await w.ledger.getFailures([cashInTransferId(inId), withdrawTransferId(outId)])).toEqual([]);
  });

  describe("withdrawal", () => {
    const withdrawal = (agent: Agent, customer: Customer, id: string) =>
      ({ id, customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 5_000n, customerPin: PIN, channel: "ussd" as const });

    it("answers the first refusal after the agent was suspended, the customer blocked and a SIM swap reported, and moves nothing", async () => {
      const agent = await newAgent(0n);
      const customer = await newCustomer(3_000n);
      const id = uuidv7();
      const request = withdrawal(agent, customer, id);
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "insufficient_funds" });

      await suspend(agent, "suspended");
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "insufficient_funds" });
      await suspend(agent, "active");
      await block(customer, "blocked");
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "insufficient_funds" });
      await block(customer, "active");
      await swap(customer.msisdn);
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "insufficient_funds" });

      expect(await w.ledger.getTransfer(withdrawTransferId(id))).toBeNull();
      expect(await w.balance(customer.walletAccountId)).toBe(3_000n);
      expect(await w.balance(agent.floatAccountId)).toBe(0n);
    });

    it("answers the float's ceiling again (not the agent's figures) after the agent was suspended", async () => {
      const agent = await newAgent(0n);
      const customer = await newCustomer(50_000n);
      expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 4_000n }, BANK)).ok).toBe(true);
      const request = withdrawal(agent, customer, uuidv7());
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "float_limit_exceeded" });
      await suspend(agent, "suspended");
      expect(await w.services.agents.withdraw(request)).toEqual({ ok: false, code: "float_limit_exceeded" });
      await suspend(agent, "active");
      expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    });

    it("refuses the same id with another amount, store or customer as request_id_reused, and a wrong PIN as such, moving nothing", async () => {
      const agent = await newAgent(0n);
      const other = await newAgent(0n);
      const customer = await newCustomer(3_000n);
      const rich = await newCustomer(50_000n);
      const id = uuidv7();
      expect(await w.services.agents.withdraw(withdrawal(agent, customer, id))).toEqual({ ok: false, code: "insufficient_funds" });
      await suspend(agent, "suspended");
      expect(await w.services.agents.withdraw({ ...withdrawal(agent, customer, id), amountMinor: 1_000n })).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.withdraw({ ...withdrawal(agent, customer, id), storeNumber: other.storeNumber })).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.withdraw(withdrawal(other, customer, id))).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.withdraw(withdrawal(agent, rich, id))).toEqual({ ok: false, code: "request_id_reused" });
      expect(await w.services.agents.withdraw({ ...withdrawal(agent, customer, id), customerPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
      await suspend(agent, "active");
      expect(await w.balance(customer.walletAccountId)).toBe(3_000n);
      expect(await w.balance(rich.walletAccountId)).toBe(50_000n);
      expect(await w.balance(other.floatAccountId)).toBe(0n);
    });
  });

  // An id abandoned (Ledger.abandon after a write that threw, under SIM-swap cooling) is refused for
  // good whatever comes under it: the retry says so, request_abandoned, whatever changed since.
  it("answers a cash-in or withdrawal whose id was abandoned request_abandoned after the customer was blocked or the agent suspended, with the PIN", async () => {
    const agent = await newAgent(100_000n);
    const customer = await newCustomer(20_000n);
    const deposit = { id: uuidv7(), agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    const takeOut = { id: uuidv7(), customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 2_000n, customerPin: PIN, channel: "ussd" as const };
    expect(await w.ledger.abandon(cashInTransferId(deposit.id))).toBe(true);
    expect(await w.ledger.abandon(withdrawTransferId(takeOut.id))).toBe(true);
    await block(customer, "blocked");
    expect(await w.services.agents.cashIn({ ...deposit, agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.cashIn(deposit)).toEqual({ ok: false, code: "request_abandoned" });
    await block(customer, "active");
    await suspend(agent, "suspended");
    expect(await w.services.agents.withdraw({ ...takeOut, customerPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.withdraw(takeOut)).toEqual({ ok: false, code: "request_abandoned" });
    await suspend(agent, "active");
    expect(await w.balance(agent.floatAccountId)).toBe(100_000n);
    expect(await w.balance(customer.walletAccountId)).toBe(20_000n);
  });
});
