// After a reported SIM swap, what may leave the number during the cooling period is a total (the
// policy's maxOutgoingMinor, 1,000 minor by default), not a figure per payment: a SIM thief who
// knows the PIN must not drain the wallet in many small payments. Over real PostgreSQL, for P2P
// sends, withdrawals at an agent, cash-out approvals and an agent's own float (cash-ins).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

describe("SIM-swap cooling allowance is a total over the period", () => {
  let w: AgentsWorld;
  let payee: Customer;
  let n = 0;

  /** A funded customer in this file's number range, their SIM swapped now when `swapped`. */
  const customer = async (swapped: boolean): Promise<Customer> => {
    const c = await w.register(`071219${String(++n).padStart(4, "0")}`, "Swap Wanjiru", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    if (swapped) expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap" })).ok).toBe(true);
    return c;
  };
  const send = (from: Customer, amountMinor: bigint, paymentId = uuidv7()) =>
    w.services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn: from.msisdn, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId, pin: "4827" });
  const agentAt = async (suffix: number): Promise<Agent> => {
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `07121995${String(suffix).padStart(2, "0")}`, storeNumber: String(790000 + suffix), name: `Duka ${suffix}`,
      location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: 100_000n, actor: BANK });
    if (!topUp.ok) throw new Error(topUp.code);
    return made.agent;
  };

  beforeAll(async () => {
    w = await openAgentsWorld("swap-allow");
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 0n }] }, new Date(), () => []);
    payee = await customer(false);
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("refuses a P2P send once the period's sends sum past the allowance; a replay or a refusal spends nothing", async () => {
    const c = await customer(true);
    const first = uuidv7();
    expect(await send(c, 600n, first)).toMatchObject({ ok: true, replayed: false });
    // The retry of a posted payment answers its receipt and counts nothing more.
    expect(await send(c, 600n, first)).toMatchObject({ ok: true, replayed: true });
    expect(await send(c, 600n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    // A wrong PIN moves nothing and takes nothing from the allowance.
    expect(await w.services.payments.sendP2P({ payerCustomerId: c.id, payee: payee.msisdn, amountMinor: 400n, channel: "ussd", paymentId: uuidv7(), pin: "9999" }))
      .toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await send(c, 400n)).toMatchObject({ ok: true });
    expect(await send(c, 1n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.balance(c.walletAccountId)).toBe(49_000n);
    // A customer without a swap sends small amounts as often as their limits allow.
    const free = await customer(false);
    for (let i = 0; i < 3; i++) expect(await send(free, 900n)).toMatchObject({ ok: true });
  });

  it("lets only one of two concurrent sends pass when together they exceed the allowance", async () => {
    const c = await customer(true);
    const results = await Promise.all([send(c, 600n), send(c, 600n), send(c, 600n)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.code === "sim_swap_cooling")).toHaveLength(2);
    expect(await w.balance(c.walletAccountId)).toBe(49_400n);
  });

  it("counts withdrawals at an agent and cash-out approvals in the same total as sends", async () => {
    const agent = await agentAt(1);
    const c = await customer(true);
    const base = { customerId: c.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, customerPin: "4827", channel: "ussd" as const };
    // 400 and its fee of 100: 500 of the 1,000.
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 400n })).toMatchObject({ ok: true });
    expect(await send(c, 300n)).toMatchObject({ ok: true });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 200n })).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    // The agent's request holds 200 and its fee of 100 (the hold moves nothing); the approval is what spends: 300 > 200 left.
    const held = await w.askCashOut(agent.id, c.msisdn, 200n);
    if (!held.ok) throw new Error(held.code);
    expect(await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: c.id, customerPin: "4827" })).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 500n - 300n - 300n /* the hold */);
    // What is left passes.
    expect(await send(c, 200n)).toMatchObject({ ok: true });
  });

  it("bounds the float leaving an agent whose own SIM was swapped", async () => {
    const agent = await agentAt(2);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: agent.msisdn, kind: "sim_swap" })).ok).toBe(true);
    const base = { agentId: agent.id, customerQuery: payee.msisdn, agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 700n })).toMatchObject({ ok: true });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 700n })).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 300n })).toMatchObject({ ok: true });
    expect(await w.balance(agent.floatAccountId)).toBe(100_000n - 1_000n);
  });
});
