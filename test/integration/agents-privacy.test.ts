// What an agent and a customer may learn of each other from refusals, over real PostgreSQL: an
// agent cannot bisect a customer's balance or limit with cash-out requests (a request refused for
// the customer's funds or limits counts like a declined one), nor read the customer's remaining
// limit; a customer withdrawing does not read the agent's float figures, and one who cannot pay
// the amount and its fee hears that before any limit of the float.
import express from "express";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId, crowding } from "../../src/core/agents/cash-out.js";
import type { CashOutCounts } from "../../src/core/agents/ports.js";
import { MAX_PENDING_CASH_OUTS_PER_CUSTOMER, MAX_UNANSWERED_CASH_OUTS_PER_DAY } from "../../src/core/agents/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { agentApiRouter } from "../../src/http/agent/router.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { SqlLimitPolicyStore } from "../../src/infra/db/limit-policy-store.js";
import { createLogger } from "../../src/infra/log.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

// The customers' limits on the agent channel (tier 0): a daily figure small enough to reach.
const AGENT_CHANNEL: LimitPolicy = {
  maxPerTransactionMinor: 50_000n,
  maxDailyAmountMinor: 50_000n,
  maxDailyCount: 20,
  maxMonthlyAmountMinor: 500_000n,
  maxBalanceMinor: 10_000_000n,
};

describe("agents: what a refusal tells the other side", () => {
  let w: AgentsWorld;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-privacy");
    await new SqlLimitPolicyStore(w.test.db).put({ institutionId: w.institutionId, channel: "agent", tier: 0 }, AGENT_CHANNEL, new Date(), () => []);
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });


  it("cash-out requests refused for the customer's funds count as unanswered: the agent cannot bisect the balance", async () => {
    const agent = await w.newAgent(0n);
    const other = await w.newAgent(0n);
    const victim = await w.register("0712388001", "Vera Wambui", "6284");
    await w.fund(victim.walletAccountId, 7_000n);
    // 6,950 and its fee of 100 come to 7,050: one more than the wallet holds.
    const probes = [8_000n, 7_500n, 6_950n].map((amountMinor) => ({ id: uuidv7(), amountMinor }));
    expect(probes).toHaveLength(MAX_UNANSWERED_CASH_OUTS_PER_DAY);
    for (const p of probes) expect(await w.askCashOut(agent.id, victim.msisdn, p.amountMinor, p.id)).toEqual({ ok: false, code: "insufficient_funds" });
    // A fourth request is refused whatever its amount, one the wallet could cover too.
    expect(await w.askCashOut(agent.id, victim.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    // Nothing was held; the refused requests are no cash-outs to the customer, and only "refused" to the agent's app.
    expect(await w.balance(victim.walletAccountId)).toBe(7_000n);
    expect(await w.services.agents.pendingCashOuts(victim.id)).toEqual([]);
    expect((await w.services.agents.atNumber(victim.msisdn, w.institutionId)).awaitingCashOut).toEqual([]);
    for (const p of probes) expect(await w.services.agents.cashOutStatus(cashOutPendingId(p.id))).toMatchObject({ state: "refused" });
    // A refused request cannot be approved or declined: there is nothing to answer.
    const first = cashOutPendingId(probes[0]!.id);
    expect(await w.services.agents.approveCashOut({ pendingId: first, customerId: victim.id, customerPin: "6284" })).toEqual({ ok: false, code: "pending_not_found" });
    expect(await w.services.agents.declineCashOut({ pendingId: first, customerId: victim.id })).toEqual({ ok: false, code: "pending_not_found" });
    // Another agent is not held up.
    const fromOther = await w.askCashOut(other.id, victim.msisdn, 1_000n);
    if (!fromOther.ok) throw new Error(fromOther.code);
    expect(await w.services.agents.declineCashOut({ pendingId: fromOther.pending.pendingId, customerId: victim.id })).toMatchObject({ ok: true });
    // Once topped up, a retry of a refused request (the same id) keeps its first answer, as the
    // ledger keeps a refusal for good; it is the same request, so it is not counted again nor
    // refused as one too many. A new request is one too many.
    await w.fund(victim.walletAccountId, 10_000n);
    expect(await w.askCashOut(agent.id, victim.msisdn, probes[0]!.amountMinor, probes[0]!.id)).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await w.askCashOut(agent.id, victim.msisdn, probes[0]!.amountMinor, probes[0]!.id)).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await w.askCashOut(agent.id, victim.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    expect(await w.balance(victim.walletAccountId)).toBe(17_000n);
    expect(await w.services.agents.pendingCashOuts(victim.id)).toEqual([]);
  });

  it("a refused request id reused for another amount is refused as reused, and counts once", async () => {
    const agent = await w.newAgent(0n);
    const victim = await w.register("0712388002", "Wanjiku Njoroge", "6284");
    await w.fund(victim.walletAccountId, 2_000n);
    const id = uuidv7();
    expect(await w.askCashOut(agent.id, victim.msisdn, 5_000n, id)).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await w.askCashOut(agent.id, victim.msisdn, 1_000n, id)).toEqual({ ok: false, code: "request_id_reused" });
    // One refusal counted: two more requests may still be made (and are refused for the funds).
    expect(await w.askCashOut(agent.id, victim.msisdn, 5_000n)).toEqual({ ok: false, code: "insufficient_funds" });
    const held = await w.askCashOut(agent.id, victim.msisdn, 1_000n);
    if (!held.ok) throw new Error(held.code);
    expect((await w.services.agents.pendingCashOuts(victim.id)).map((p) => p.pendingId)).toEqual([held.pending.pendingId]);
    expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: victim.id })).toMatchObject({ ok: true });
    expect(await w.askCashOut(agent.id, victim.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
  });

  it("concurrent requests cannot all slip past the count: what awaits the customer and what was refused are read under one lock", async () => {
    const agent = await w.newAgent(0n);
    const victim = await w.register("0712388004", "Imani Kerubo", "6284");
    await w.fund(victim.walletAccountId, 500n);
    // Every request is one the wallet cannot cover. A request is let in only while fewer than
    // MAX_PENDING_CASH_OUTS_PER_CUSTOMER are in flight (a record not yet refused awaits the
    // customer) and fewer than MAX_UNANSWERED_CASH_OUTS_PER_DAY were refused, so at most
    // 4 + 2 others come before the last one let in.
    const results = await Promise.all(Array.from({ length: 24 }, () => w.askCashOut(agent.id, victim.msisdn, 1_000n)));
    const codes = results.map((r) => (r.ok ? "ok" : r.code));
    for (const c of codes) expect(["insufficient_funds", "too_many_pending", "cash_outs_declined"]).toContain(c);
    const told = codes.filter((c) => c === "insufficient_funds").length;
    expect(told).toBeGreaterThanOrEqual(MAX_UNANSWERED_CASH_OUTS_PER_DAY);
    expect(told).toBeLessThanOrEqual(MAX_PENDING_CASH_OUTS_PER_CUSTOMER + MAX_UNANSWERED_CASH_OUTS_PER_DAY - 1);
    expect(await w.askCashOut(agent.id, victim.msisdn, 100n)).toEqual({ ok: false, code: "cash_outs_declined" });
    expect(await w.services.agents.pendingCashOuts(victim.id)).toEqual([]);
    expect(await w.balance(victim.walletAccountId)).toBe(500n);
  });

  it("the store admits requests made at once one after the other, each counting the ones before it", async () => {
    const store = new SqlAgentStore(w.test.db);
    const agent = await w.newAgent(0n);
    const customerId = uuidv7();
    const now = new Date();
    const admission = { since: new Date(now.getTime() - 86_400_000), now, admits: (c: CashOutCounts) => crowding(c) === null };
    const record = () => ({
      pendingId: uuidv7(), agentId: agent.id, customerId, amountMinor: 100n, feeMinor: 0n, commissionMinor: 0n, state: "pending" as const,
      expiresAt: new Date(now.getTime() + 60_000), createdAt: now,
    });
    const outcomes = await Promise.all(Array.from({ length: 16 }, () => store.insertCashOut(record(), admission)));
    expect(outcomes.filter((o) => o.outcome === "inserted")).toHaveLength(MAX_PENDING_CASH_OUTS_PER_CUSTOMER);
    for (const o of outcomes) if (o.outcome !== "inserted") expect(o).toEqual({ outcome: "not_admitted", counts: { waiting: MAX_PENDING_CASH_OUTS_PER_CUSTOMER, unanswered: 0 } });
    // Refused ones count as the agent's unanswered requests, and never await the customer.
    const waiting = await store.listPendingCashOuts(customerId, now, 10);
    for (const r of waiting.slice(0, MAX_UNANSWERED_CASH_OUTS_PER_DAY)) expect(await store.settleCashOut(r.pendingId, "refused", now)).toBe(true);
    expect(await store.listPendingCashOuts(customerId, now, 10)).toHaveLength(MAX_PENDING_CASH_OUTS_PER_CUSTOMER - MAX_UNANSWERED_CASH_OUTS_PER_DAY);
    expect(await store.insertCashOut(record(), admission)).toEqual({ outcome: "not_admitted", counts: { waiting: 2, unanswered: MAX_UNANSWERED_CASH_OUTS_PER_DAY } });
    const taken = record();
    expect(await store.insertCashOut(taken, { ...admission, admits: () => true })).toEqual({ outcome: "inserted" });
    expect(await store.insertCashOut(taken, { ...admission, admits: () => true })).toEqual({ outcome: "exists" });
  });

  it("a cash-out refused by the customer's daily limit tells the agent the limit, not the customer's remaining room, and counts", async () => {
    const agent = await w.newAgent(0n);
    const customer = await w.register("0712388005", "Baraka Kiprono", "6284");
    await w.fund(customer.walletAccountId, 100_000n);
    const taken = await w.askCashOut(agent.id, customer.msisdn, 45_000n);
    if (!taken.ok) throw new Error(taken.code);
    expect(await w.services.agents.approveCashOut({ pendingId: taken.pending.pendingId, customerId: customer.id, customerPin: "6284" })).toMatchObject({ ok: true });
    // 5,000 of the customer's day is left: the customer may hear it (their own quote), the agent not.
    expect(await w.services.agents.quoteWithdraw(customer.id, agent.msisdn, agent.storeNumber, 6_000n, "agent")).toEqual({ ok: false, code: "daily_amount_exceeded", availableMinor: 5_000n });
    // The agent's quote checks nothing of the customer's usage (a free yes or no would bisect it),
    // only the policy's per-transaction figure, without an amount.
    expect(await w.services.agents.quoteWithdraw(customer.id, agent.msisdn, agent.storeNumber, 6_000n, "agent", "agent")).toMatchObject({ ok: true, feeMinor: 100n });
    expect(await w.services.agents.quoteWithdraw(customer.id, agent.msisdn, agent.storeNumber, 50_001n, "agent", "agent")).toEqual({ ok: false, code: "per_transaction_exceeded" });
    for (const amountMinor of [6_000n, 5_500n, 5_200n]) {
      expect(await w.askCashOut(agent.id, customer.msisdn, amountMinor)).toEqual({ ok: false, code: "daily_amount_exceeded" });
    }
    // Refused for the customer's limit three times: the agent may ask no more today.
    expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
    expect(await w.balance(customer.walletAccountId)).toBe(100_000n - 46_000n);
  });

  it("over the agent API, the customer's limit is said without the customer's room", async () => {
    const agent = await w.newAgent(0n);
    const issued = await w.services.agentKeys.issue(agent.id, w.institutionId, "till", BANK);
    if (!issued.ok) throw new Error(issued.code);
    const app = express().use(agentApiRouter({ agents: w.services.agents, keys: w.services.agentKeys, logger: createLogger("silent") }));
    const customer = await w.register("0712388006", "Neema Atieno", "6284");
    await w.fund(customer.walletAccountId, 100_000n);
    const taken = await w.askCashOut(agent.id, customer.msisdn, 48_000n);
    if (!taken.ok) throw new Error(taken.code);
    expect(await w.services.agents.approveCashOut({ pendingId: taken.pending.pendingId, customerId: customer.id, customerPin: "6284" })).toMatchObject({ ok: true });
    const refused = await request(app).post("/agent/v1/cash-outs").set("Authorization", `Bearer ${issued.secret}`)
      .send({ requestId: uuidv7(), customer: customer.msisdn, amountMinor: "3000", pin: AGENT_PIN });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("daily_amount_exceeded");
    expect(refused.body.error).not.toHaveProperty("availableMinor");
  });

  it("a customer withdrawing hears the agent's float limit without the float's room; the agent asking hears it", async () => {
    const agent = await w.newAgent(20_000n);
    // Room under the cap: 5,000, which would tell the float's balance.
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 25_000n }, BANK)).ok).toBe(true);
    const customer = await w.register("0712388007", "Halima Chepkoech", "6284");
    await w.fund(customer.walletAccountId, 30_000n);
    const withdrawal = { customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 6_000n, customerPin: "6284", channel: "ussd" as const };
    expect(await w.services.agents.withdraw({ ...withdrawal, id: uuidv7() })).toEqual({ ok: false, code: "float_limit_exceeded" });
    expect(await w.askCashOut(agent.id, customer.msisdn, 6_000n)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 5_000n });
    // The float's day: 4,000 may still come in today after a withdrawal of 5,000.
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 100_000n, maxDailyFloatInMinor: 9_000n }, BANK)).ok).toBe(true);
    expect(await w.services.agents.withdraw({ ...withdrawal, id: uuidv7(), amountMinor: 5_000n })).toMatchObject({ ok: true });
    expect(await w.services.agents.withdraw({ ...withdrawal, id: uuidv7() })).toEqual({ ok: false, code: "float_limit_exceeded" });
    expect(await w.askCashOut(agent.id, customer.msisdn, 6_000n)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 4_000n });
    expect(await w.balance(customer.walletAccountId)).toBe(30_000n - 5_100n);
  });

  it("a customer withdrawing hears their own limit first, then that they cannot pay the amount and its fee, and only then the float's limit", async () => {
    const agent = await w.newAgent(0n);
    expect((await w.services.agents.setLimits(agent.id, { maxDailyFloatInMinor: 5_000n }, BANK)).ok).toBe(true);
    const customer = await w.register("0712388008", "Amani Wafula", "6284");
    // 6,000 and its fee of 100 come to 6,100: the wallet covers the amount but not the fee.
    await w.fund(customer.walletAccountId, 6_050n);
    const withdraw = (amountMinor: bigint) =>
      w.services.agents.withdraw({ id: uuidv7(), customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor, customerPin: "6284", channel: "ussd" });
    // Over their own per-transaction limit on USSD (10,000.00): their own limit, with their own room.
    expect(await withdraw(1_000_001n)).toMatchObject({ ok: false, code: "per_transaction_exceeded", availableMinor: 1_000_000n });
    // Within it, but over what the wallet can pay with the fee: that, whatever the float's limit says.
    expect(await withdraw(6_000n)).toEqual({ ok: false, code: "insufficient_funds" });
    await w.fund(customer.walletAccountId, 50n);
    expect(await withdraw(6_000n)).toEqual({ ok: false, code: "float_limit_exceeded" });
    expect(await withdraw(5_000n)).toMatchObject({ ok: true, feeMinor: 100n });
    expect(await w.balance(customer.walletAccountId)).toBe(1_000n);
    expect(await w.balance(agent.floatAccountId)).toBe(5_000n);
  });

  it("requests the agent's own float refuses are not counted against it", async () => {
    const agent = await w.newAgent(20_000n);
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 20_000n }, BANK)).ok).toBe(true);
    const customer = await w.register("0712388003", "Zawadi Auma", "6284");
    await w.fund(customer.walletAccountId, 50_000n);
    for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY + 2; i++) {
      expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n)).toMatchObject({ ok: false, code: "float_limit_exceeded" });
    }
    // The bank raises the ceiling: the agent may ask again.
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 100_000n }, BANK)).ok).toBe(true);
    const held = await w.askCashOut(agent.id, customer.msisdn, 1_000n);
    if (!held.ok) throw new Error(held.code);
    expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
  });
});
