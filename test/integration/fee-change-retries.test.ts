/**
 * A payment retried after the bank changed its fee schedule answers with what it posted: no fee
 * or commission leg appears that the first run did not move, and a leg of another amount does not
 * turn a posted payment into "request id reused". Cash-in, withdrawal and P2P, on real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

let w: AgentsWorld;
let agent: Agent;

const bands = (feeMinor: bigint) => [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor }];
const schedule = (type: "cash_in" | "cash_out" | "p2p", feeMinor: bigint, agentShareBps = 0) =>
  w.services.fees.put(w.institutionId, type, { type, agentShareBps, bands: bands(feeMinor) }, new Date(), () => []);

beforeAll(async () => {
  w = await openAgentsWorld("fee-retry");
  agent = await w.newAgent(1_000_000n);
  await w.fund(w.alice.walletAccountId, 100_000n);
});

afterAll(async () => {
  await w?.verify();
  await w?.close();
});

describe("a payment retried after its fee schedule changed", () => {
  it("cash-in: a commission the first run did not pay is not paid by the retry", async () => {
    await schedule("cash_in", 100n, 0);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const, quotedFeeMinor: 100n };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, commissionMinor: 0n, replayed: false });
    const commission = await w.balance(agent.commissionAccountId);
    const bob = await w.balance(w.bob.walletAccountId);
    await schedule("cash_in", 100n, 5_000);
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, commissionMinor: 0n, replayed: true });
    expect(await w.balance(agent.commissionAccountId)).toBe(commission);
    expect(await w.balance(w.bob.walletAccountId)).toBe(bob);
  });

  it("cash-in: a fee the first run did not charge is not charged by the retry, even quoted", async () => {
    await schedule("cash_in", 0n, 0);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const, quotedFeeMinor: 0n };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 0n, replayed: false });
    const bob = await w.balance(w.bob.walletAccountId);
    await schedule("cash_in", 300n, 0);
    expect(await w.services.agents.cashIn({ ...request, quotedFeeMinor: 300n })).toMatchObject({ ok: true, feeMinor: 0n, replayed: true });
    expect(await w.balance(w.bob.walletAccountId)).toBe(bob);
  });

  it("cash-in: a smaller agent share since is still the posted payment's receipt, not 'request id reused'", async () => {
    await schedule("cash_in", 100n, 5_000);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const, quotedFeeMinor: 100n };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, commissionMinor: 50n, replayed: false });
    await schedule("cash_in", 100n, 2_000);
    const commission = await w.balance(agent.commissionAccountId);
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, commissionMinor: 50n, replayed: true });
    expect(await w.balance(agent.commissionAccountId)).toBe(commission);
  });

  it("cash-in: a replay after the agent share was cut to nothing reports the commission it paid", async () => {
    await schedule("cash_in", 100n, 5_000);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const, quotedFeeMinor: 100n };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, commissionMinor: 50n, replayed: false });
    await schedule("cash_in", 100n, 0);
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, commissionMinor: 50n, replayed: true });
  });

  it("agent cash-out: a request retried after a fee change tells its state (approved), not 'request id reused'", async () => {
    await schedule("cash_out", 0n, 0);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor: 2_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    const held = await w.services.agents.startCashOut(request);
    if (!held.ok) throw new Error(held.code);
    expect(held.pending.feeMinor).toBe(0n);
    await schedule("cash_out", 250n, 4_000);
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { state: "pending", feeMinor: 0n } });
    expect(await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: w.alice.id, customerPin: "4827" })).toMatchObject({ ok: true, feeMinor: 0n });
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { state: "approved" } });
  });

  it("withdrawal: a fee that was free is not charged by a retry quoting the new fee", async () => {
    await schedule("cash_out", 0n, 0);
    const request = { id: uuidv7(), customerId: w.alice.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 2_000n, customerPin: "4827", channel: "ussd" as const, quotedFeeMinor: 0n };
    expect(await w.services.agents.withdraw(request)).toMatchObject({ ok: true, feeMinor: 0n, replayed: false });
    const alice = await w.balance(w.alice.walletAccountId);
    await schedule("cash_out", 250n, 4_000);
    expect(await w.services.agents.withdraw({ ...request, quotedFeeMinor: 250n })).toMatchObject({ ok: true, feeMinor: 0n, commissionMinor: 0n, replayed: true });
    expect(await w.balance(w.alice.walletAccountId)).toBe(alice);
  });

  it("P2P: a fee that was free is not charged by a retry quoting the new fee", async () => {
    await schedule("p2p", 0n);
    const send = { payerCustomerId: w.alice.id, payee: w.bob.msisdn, amountMinor: 3_000n, channel: "ussd" as const, pin: "4827", paymentId: uuidv7(), quotedFeeMinor: 0n };
    expect(await w.services.payments.sendP2P(send)).toMatchObject({ ok: true, feeMinor: 0n, replayed: false });
    const alice = await w.balance(w.alice.walletAccountId);
    await schedule("p2p", 700n);
    expect(await w.services.payments.sendP2P({ ...send, quotedFeeMinor: 700n })).toMatchObject({ ok: true, feeMinor: 0n, replayed: true });
    expect(await w.balance(w.alice.walletAccountId)).toBe(alice);
    // A new payment pays the new fee.
    expect(await w.services.payments.sendP2P({ ...send, paymentId: uuidv7(), quotedFeeMinor: 700n })).toMatchObject({ ok: true, feeMinor: 700n, replayed: false });
    expect(await w.balance(w.alice.walletAccountId)).toBe(alice - 3_700n);
  });
});
