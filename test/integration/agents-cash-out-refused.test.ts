// Cash-out requests the ledger refuses, over real PostgreSQL: a refusal for the customer's frozen
// wallet counts against the agent like one for the customer's funds (and tells it nothing more
// than before), one for the bank's own fee account does not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import { MAX_UNANSWERED_CASH_OUTS_PER_DAY } from "../../src/core/agents/types.js";
import { feeTransferId } from "../../src/core/fees/linked.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

describe("agents: cash-out requests the ledger refuses", () => {
  let w: AgentsWorld;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-refused");
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  const ask = (agentId: string, customerQuery: string, amountMinor: bigint, id = uuidv7()) =>
    w.services.agents.startCashOut({ id, agentId, customerQuery, amountMinor, agentPin: AGENT_PIN });
  const setStatus = (accountId: string, status: "active" | "frozen" | "closed") =>
    w.test.db.query("UPDATE accounts SET status = $2 WHERE id = $1::uuid", [accountId, status]);

  it("a request refused for the customer's frozen wallet counts like one refused for their funds, and says only customer_unavailable", async () => {
    const agent = await w.newAgent(0n);
    const other = await w.newAgent(0n);
    const frozen = await w.register("0712366001", "Pendo Mutua", "6284");
    await w.fund(frozen.walletAccountId, 50_000n);
    await setStatus(frozen.walletAccountId, "frozen");
    // Amounts the wallet could cover and one it could not: the same answer, with no amount in it.
    const probes = [1_000n, 49_000n, 90_000n].map((amountMinor) => ({ id: uuidv7(), amountMinor }));
    expect(probes).toHaveLength(MAX_UNANSWERED_CASH_OUTS_PER_DAY);
    for (const p of probes) expect(await ask(agent.id, frozen.msisdn, p.amountMinor, p.id)).toEqual({ ok: false, code: "customer_unavailable" });
    expect(await ask(agent.id, frozen.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    // A retry of a counted request is the same request: its first answer, not counted again.
    expect(await ask(agent.id, frozen.msisdn, probes[0]!.amountMinor, probes[0]!.id)).toEqual({ ok: false, code: "customer_unavailable" });
    // Nothing held, nothing shown to the customer or to the agent's app.
    expect(await w.services.agents.pendingCashOuts(frozen.id)).toEqual([]);
    for (const p of probes) expect(await w.services.agents.cashOutStatus(cashOutPendingId(p.id))).toBeNull();
    // The bank unfreezes the wallet: this agent has asked enough today, another agent may ask.
    await setStatus(frozen.walletAccountId, "active");
    expect(await ask(agent.id, frozen.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    const fromOther = await ask(other.id, frozen.msisdn, 1_000n);
    if (!fromOther.ok) throw new Error(fromOther.code);
    expect(await w.services.agents.declineCashOut({ pendingId: fromOther.pending.pendingId, customerId: frozen.id })).toMatchObject({ ok: true });
    expect(await w.balance(frozen.walletAccountId)).toBe(50_000n);
  });

  it("a closed wallet counts the same way", async () => {
    const agent = await w.newAgent(0n);
    const closed = await w.register("0712366002", "Jabali Kamau", "6284");
    await setStatus(closed.walletAccountId, "closed");
    for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY; i++) expect(await ask(agent.id, closed.msisdn, 1_000n)).toEqual({ ok: false, code: "customer_unavailable" });
    expect(await ask(agent.id, closed.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
  });

  it("a request refused for the bank's frozen fee account is not counted against the agent", async () => {
    const agent = await w.newAgent(0n);
    const customer = await w.register("0712366003", "Rehema Odhiambo", "6284");
    await w.fund(customer.walletAccountId, 50_000n);
    const held = await ask(agent.id, customer.msisdn, 1_000n);
    if (!held.ok) throw new Error(held.code);
    expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
    const feeIncome = (await w.ledger.getTransfer(feeTransferId(held.pending.pendingId)))!.creditAccountId;
    await setStatus(feeIncome, "frozen");
    try {
      for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY + 1; i++) expect(await ask(agent.id, customer.msisdn, 1_000n)).toEqual({ ok: false, code: "customer_unavailable" });
    } finally {
      await setStatus(feeIncome, "active");
    }
    // One declined request counted, none of the refused ones: the agent may still ask.
    const again = await ask(agent.id, customer.msisdn, 1_000n);
    if (!again.ok) throw new Error(again.code);
    expect(await w.services.agents.declineCashOut({ pendingId: again.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
  });
});
