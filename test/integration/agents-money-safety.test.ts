// Money safety at the agent's counter, on PostgreSQL: a customer never pays a fee they were not
// shown nor one larger than their deposit, an approval only binds an active customer and a
// retried approval answers its receipt, a reversal that lost a race can be tried again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const BANDS = [
  { minMinor: 1n, maxMinor: 10_000n, feeMinor: 100n },
  { minMinor: 10_001n, maxMinor: 10_000_000n, feeMinor: 1_000n },
];

describe("agents: money safety", () => {
  let w: AgentsWorld;
  beforeAll(async () => {
    w = await openAgentsWorld("agents-safety");
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  const setCashOutFee = (feeMinor: bigint | null) =>
    w.services.fees.put(w.institutionId, "cash_out", { type: "cash_out", agentShareBps: 4_000, bands: feeMinor === null ? BANDS : [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor }] }, new Date(), () => []);

  it("refuses a cash-in whose fee would take all of the deposit or more, moving nothing", async () => {
    const agent = await w.newAgent(10_000n);
    const carl = await w.register("0712300051", "Carl Mwangi", "6284");
    await w.fund(carl.walletAccountId, 5_000n);
    // The fixture's band charges 100 on deposits of 1 to 10,000: a deposit of 100 or less would leave nothing.
    for (const amountMinor of [1n, 100n]) {
      expect(await w.services.agents.quoteCashIn(agent.id, carl.msisdn, amountMinor)).toMatchObject({ ok: false, code: "amount_outside_fee_bands" });
      const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: carl.msisdn, amountMinor, agentPin: AGENT_PIN, channel: "agent" });
      expect(done).toMatchObject({ ok: false, code: "amount_outside_fee_bands" });
    }
    expect(await w.balance(carl.walletAccountId)).toBe(5_000n);
    expect(await w.balance(agent.floatAccountId)).toBe(10_000n);
    expect(await w.balance(agent.commissionAccountId)).toBe(0n);
    // One more than the fee: the customer receives 1.
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: carl.msisdn, amountMinor: 101n, agentPin: AGENT_PIN, channel: "agent" });
    expect(done).toMatchObject({ ok: true, feeMinor: 100n });
    expect(await w.balance(carl.walletAccountId)).toBe(5_001n);
  });

  it("a blocked customer cannot approve a cash-out; the hold stays unposted", async () => {
    const agent = await w.newAgent(0n);
    const dee = await w.register("0712300052", "Dee Achieng", "3917");
    await w.fund(dee.walletAccountId, 5_000n);
    const held = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: dee.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN });
    if (!held.ok) throw new Error(held.code);
    await w.services.directory.setStatus({ actorType: "system", actorId: "test", channel: "system" }, dee.id, "blocked");
    const approved = await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: dee.id, customerPin: "3917" });
    expect(approved).toMatchObject({ ok: false, code: "customer_unavailable" });
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
    expect((await w.services.agents.cashOutStatus(held.pending.pendingId))?.state).toBe("pending");
  });

  it("an approval retried after the deadline answers its receipt, not 'expired', and posts nothing more", async () => {
    const agent = await w.newAgent(0n);
    const eve = await w.register("0712300053", "Eve Nduta", "6284");
    await w.fund(eve.walletAccountId, 5_000n);
    const held = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: eve.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, timeoutSec: 30 });
    if (!held.ok) throw new Error(held.code);
    const approve = { pendingId: held.pending.pendingId, customerId: eve.id, customerPin: "6284" };
    expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true, replayed: false });
    w.clock.offsetMs = 31_000;
    try {
      expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true, replayed: true, amountMinor: 1_000n, feeMinor: 100n });
    } finally {
      w.clock.offsetMs = 0;
    }
    expect(await w.balance(agent.floatAccountId)).toBe(1_000n);
    expect(await w.balance(eve.walletAccountId)).toBe(3_900n);
  });

  it("an approval that posted but whose record was never updated (a crash in between) still answers its receipt after the deadline", async () => {
    const agent = await w.newAgent(0n);
    const ida = await w.register("0712300057", "Ida Wekesa", "6284");
    await w.fund(ida.walletAccountId, 5_000n);
    const held = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: ida.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, timeoutSec: 30 });
    if (!held.ok) throw new Error(held.code);
    const approve = { pendingId: held.pending.pendingId, customerId: ida.id, customerPin: "6284" };
    expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true });
    await w.test.db.query("UPDATE agent_cash_outs SET state = 'pending', settled_at = NULL WHERE pending_id = $1::uuid", [held.pending.pendingId]);
    w.clock.offsetMs = 31_000;
    try {
      expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true, replayed: true });
    } finally {
      w.clock.offsetMs = 0;
    }
    expect(await w.balance(agent.floatAccountId)).toBe(1_000n);
    expect((await w.services.agents.cashOutStatus(held.pending.pendingId))?.state).toBe("approved");
  });

  it("a withdrawal whose fee changed after the quote is refused as fee_changed; a posted one retried after a change answers its receipt", async () => {
    const agent = await w.newAgent(0n);
    const fin = await w.register("0712300054", "Fin Kiprop", "6284");
    await w.fund(fin.walletAccountId, 50_000n);
    const base = { customerId: fin.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 5_000n, customerPin: "6284", channel: "ussd" as const };
    const quote = await w.services.agents.quoteWithdraw(fin.id, agent.msisdn, agent.storeNumber, 5_000n);
    if (!quote.ok) throw new Error(quote.code);
    expect(quote.feeMinor).toBe(100n);
    const posted = { ...base, id: uuidv7(), quotedFeeMinor: quote.feeMinor };
    expect(await w.services.agents.withdraw(posted)).toMatchObject({ ok: true, feeMinor: 100n, replayed: false });
    await setCashOutFee(2_500n);
    try {
      const before = await w.balance(fin.walletAccountId);
      expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), quotedFeeMinor: quote.feeMinor })).toMatchObject({ ok: false, code: "fee_changed" });
      expect(await w.balance(fin.walletAccountId)).toBe(before);
      // The same request retried (a PIN hop sent again) after the change: its receipt, with the fee it posted with.
      expect(await w.services.agents.withdraw(posted)).toMatchObject({ ok: true, feeMinor: 100n, replayed: true });
      expect(await w.balance(fin.walletAccountId)).toBe(before);
      // Shown the new fee, the customer may pay it.
      expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), quotedFeeMinor: 2_500n })).toMatchObject({ ok: true, feeMinor: 2_500n });
    } finally {
      await setCashOutFee(null);
    }
  });

  it("a cash-in shown with one fee is refused when the schedule changed before the agent's PIN", async () => {
    const agent = await w.newAgent(50_000n);
    const gus = await w.register("0712300055", "Gus Kariuki", "6284");
    const quote = await w.services.agents.quoteCashIn(agent.id, gus.msisdn, 5_000n);
    if (!quote.ok) throw new Error(quote.code);
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: gus.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent", quotedFeeMinor: quote.feeMinor + 1n });
    expect(done).toMatchObject({ ok: false, code: "fee_changed" });
    expect(await w.balance(gus.walletAccountId)).toBe(0n);
    expect(await w.balance(agent.floatAccountId)).toBe(50_000n);
  });

  it("a cash-in posted without a quote (the agent API) and retried after a fee change answers its receipt with the fee it posted with", async () => {
    const agent = await w.newAgent(50_000n);
    const joy = await w.register("0712300058", "Joy Chebet", "6284");
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: joy.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, replayed: false });
    await w.services.fees.put(w.institutionId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands: [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor: 300n }] }, new Date(), () => []);
    try {
      expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, feeMinor: 100n, replayed: true });
      expect(await w.balance(joy.walletAccountId)).toBe(4_900n);
      expect(await w.balance(agent.floatAccountId)).toBe(45_000n);
      // A new cash-in without a quote pays the schedule as it is now.
      expect(await w.services.agents.cashIn({ ...request, id: uuidv7() })).toMatchObject({ ok: true, feeMinor: 300n, replayed: false });
    } finally {
      await w.services.fees.put(w.institutionId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands: BANDS }, new Date(), () => []);
    }
  });

  it("a reversal that lost a race with the customer's spending can be retried once the bank makes the wallet whole, and applies once", async () => {
    const agent = await w.newAgent(20_000n);
    const hal = await w.register("0712300056", "Hal Mutua", "6284");
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: hal.msisdn, amountMinor: 12_000n, agentPin: AGENT_PIN, channel: "agent" });
    if (!done.ok) throw new Error(done.code);
    const sink = await w.ledger.createAccount({ institutionId: w.institutionId, currency: "KES", kind: "bank" });
    const submit = w.ledger.submitLinked.bind(w.ledger);
    let spent = false;
    // The customer pays someone between the reversal's balance check and its submit.
    w.ledger.submitLinked = async (inputs) => {
      if (!spent && inputs.some((t) => t.code === "cash_in_reversal")) {
        spent = true;
        const left = await w.balance(hal.walletAccountId);
        expect((await w.ledger.transfer({ id: uuidv7(), debitAccountId: hal.walletAccountId, creditAccountId: sink.id, amountMinor: left, code: "spend" })).result).toBe("ok");
      }
      return submit(inputs);
    };
    const reverse = { transferId: done.transferId, reason: "typed the wrong number", actor: BANK };
    try {
      expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: false, code: "customer_funds_spent" });
    } finally {
      w.ledger.submitLinked = submit;
    }
    expect(spent).toBe(true);
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: false, code: "customer_funds_spent" });
    await w.fund(hal.walletAccountId, 20_000n);
    const floatBefore = await w.balance(agent.floatAccountId);
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: true, amountMinor: 12_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(floatBefore + 12_000n);
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: false, code: "already_reversed" });
    // Spent again after the reversal: still "already reversed", not "spent".
    const left = await w.balance(hal.walletAccountId);
    expect((await w.ledger.transfer({ id: uuidv7(), debitAccountId: hal.walletAccountId, creditAccountId: sink.id, amountMinor: left, code: "spend" })).result).toBe("ok");
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: false, code: "already_reversed" });
    expect(await w.balance(agent.floatAccountId)).toBe(floatBefore + 12_000n);
  });
});
