// A cash-in reversal and the agent's float ceiling, over real PostgreSQL. A reversal puts the
// cash-in's amount back on the float; since the cash-in the float may have been refilled to its
// ceiling, and the reversal must then be refused (float_limit_exceeded, with the room, to the
// bank) like a top-up, moving nothing, and go through once the bank has made room. A withdrawal
// filling the room between the reversal's check and its submit (a gated ledger) is caught by the
// ledger, which checks the ceiling with the float locked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Agents } from "../../src/core/agents/agents.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { FeeSchedules } from "../../src/core/fees/schedules.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { TransferInput } from "../../src/core/ledger/types.js";
import { LimitPolicies } from "../../src/core/limits/policies.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

describe("agents: a cash-in reversal under the float's ceiling", () => {
  let w: AgentsWorld;
  let customer: Customer;
  let n = 0;
  const CUSTOMER_PIN = "6183";

  beforeAll(async () => {
    w = await openAgentsWorld("agents-reversal-ceiling");
    customer = await w.register("+254712750301", "Neema Achieng", CUSTOMER_PIN);
    await w.fund(customer.walletAccountId, 500_000n);
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  /** An agent whose float ceiling is 100,000, with `floatMinor` on its float. */
  async function agentWithCeiling(floatMinor: bigint): Promise<Agent> {
    n++;
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `+2547127503${String(10 + n).padStart(2, "0")}`, storeNumber: String(727530 + n), name: `Duka Ceiling ${n}`,
      location: "Kibera", actor: BANK, pin: AGENT_PIN, limits: { maxFloatBalanceMinor: 100_000n },
    });
    if (!made.ok) throw new Error(made.code);
    const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: floatMinor, actor: BANK });
    if (!topUp.ok) throw new Error(topUp.code);
    return made.agent;
  }

  async function cashIn(agent: Agent, amountMinor: bigint): Promise<string> {
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: customer.msisdn, amountMinor, agentPin: AGENT_PIN, channel: "agent" });
    if (!done.ok) throw new Error(done.code);
    return done.transferId;
  }

  const reverse = (transferId: string) => w.services.agents.reverseCashIn({ transferId, reason: "wrong customer", actor: BANK, institutionId: w.institutionId });

  it("is refused with the room left when the float was refilled to its ceiling, moves nothing, and goes through once the bank made room", async () => {
    const agent = await agentWithCeiling(50_000n);
    const transferId = await cashIn(agent, 20_000n);
    // Refilled since: the float is at its ceiling again.
    expect(await w.services.agents.topUpFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 70_000n, actor: BANK })).toMatchObject({ ok: true, floatBalanceMinor: 100_000n });
    const wallet = await w.balance(customer.walletAccountId);
    const commission = await w.balance(agent.commissionAccountId);
    expect(await reverse(transferId)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 0n });
    expect(await w.balance(agent.floatAccountId)).toBe(100_000n);
    expect(await w.balance(customer.walletAccountId)).toBe(wallet);
    expect(await w.balance(agent.commissionAccountId)).toBe(commission);
    // The bank takes 15,000 back: still 5,000 short of room, and said so.
    expect(await w.services.agents.withdrawFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 15_000n, actor: BANK })).toMatchObject({ ok: true });
    expect(await reverse(transferId)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 15_000n });
    // Room made: the reversal goes through, back up to the ceiling and not past it.
    expect(await w.services.agents.withdrawFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 5_000n, actor: BANK })).toMatchObject({ ok: true });
    expect(await reverse(transferId)).toMatchObject({ ok: true, amountMinor: 20_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(100_000n);
    expect(await reverse(transferId)).toEqual({ ok: false, code: "already_reversed" });
  });

  it("is refused when the bank lowered the ceiling below what the reversal would bring back", async () => {
    const agent = await agentWithCeiling(60_000n);
    const transferId = await cashIn(agent, 30_000n);
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 50_000n }, BANK)).ok).toBe(true);
    expect(await reverse(transferId)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 20_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(30_000n);
  });

  it("raced with a withdrawal that takes the room between the reversal's check and its submit, is refused by the ledger and said as the float's limit", async () => {
    const agent = await agentWithCeiling(90_000n);
    const transferId = await cashIn(agent, 10_000n);
    // 80,000 on the float: room for 20,000. The reversal brings 10,000 back; it is held once it
    // has checked the room, a withdrawal of 15,000 posts meanwhile, then the reversal goes on.
    const reached = gate();
    const release = gate();
    const ledger = new Proxy(w.ledger, {
      get(target, key, receiver) {
        if (key !== "submitLinked") return Reflect.get(target, key, receiver);
        return async (inputs: TransferInput[]) => {
          if (inputs.some((t) => t.code === "cash_in_reversal")) {
            reached.open();
            await release.opened;
          }
          return target.submitLinked(inputs);
        };
      },
    });
    const now = () => new Date(Date.now() + w.clock.offsetMs);
    const s = w.services;
    const agents = new Agents({
      store: new SqlAgentStore(w.test.db), ledger, directory: s.directory, pins: s.pins, simSwap: s.simSwap, institutions: s.institutions,
      limits: new LimitPolicies(s.limits, now), fees: new FeeSchedules(s.fees, now), audit: s.audit, defaultCountry: async () => "KE", clock: now,
    });
    const reversing = agents.reverseCashIn({ transferId, reason: "wrong customer", actor: BANK, institutionId: w.institutionId });
    await reached.opened;
    const withdrawn = await s.agents.withdraw({
      id: uuidv7(), customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 15_000n, customerPin: CUSTOMER_PIN, channel: "ussd",
    });
    expect(withdrawn).toMatchObject({ ok: true });
    release.open();
    expect(await reversing).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 5_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(95_000n);
  });
});
