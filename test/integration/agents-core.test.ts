// The agents service over real PostgreSQL: onboarding, float, cash-in, customer withdrawal,
// agent-initiated cash-out held for the customer's PIN, reversal, and the refusals that move
// nothing. Every test ends with the ledger's own verification.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashInTransferId } from "../../src/core/agents/cash-in.js";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { TransferInput } from "../../src/core/ledger/types.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";
import { containsPin } from "../helpers/pin-leak.js";

describe("agents core on postgres", () => {
  let w: AgentsWorld;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-core");
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  it("onboards an agent with its own float and commission accounts, one per number and store", async () => {
    const agent = await w.newAgent(0n);
    const [float, commission] = await w.ledger.getAccounts([agent.floatAccountId, agent.commissionAccountId]);
    expect(float).toMatchObject({ kind: "agent_float", ownerRef: agent.id, flags: 1 });
    expect(commission).toMatchObject({ kind: "commission", ownerRef: agent.id, flags: 1 });
    expect(await w.services.agents.findByMsisdn(agent.msisdn.replace("+254", "0"), w.institutionId)).toMatchObject({ id: agent.id });
    expect(await w.services.agents.findByStore(agent.storeNumber, w.institutionId)).toMatchObject({ id: agent.id });
    const base = { institutionId: w.institutionId, name: "Other", location: "Mathare", actor: BANK };
    expect(await w.services.agents.onboard({ ...base, msisdn: agent.msisdn, storeNumber: "999001" })).toMatchObject({ ok: false, code: "agent_exists" });
    expect(await w.services.agents.onboard({ ...base, msisdn: "0719900999", storeNumber: agent.storeNumber })).toMatchObject({ ok: false, code: "store_number_taken" });
    expect(await w.services.agents.onboard({ ...base, msisdn: "12", storeNumber: "999002" })).toMatchObject({ ok: false, code: "invalid_msisdn" });
    expect(await w.services.agents.onboard({ ...base, msisdn: "0719900998", storeNumber: "12a" })).toMatchObject({ ok: false, code: "invalid_store_number" });
    expect(await w.services.agents.onboard({ ...base, msisdn: "0719900998", storeNumber: "999003", limits: { maxPerTransactionMinor: -1n } })).toMatchObject({ ok: false, code: "invalid_input" });
    expect(await w.services.agents.onboard({ ...base, msisdn: "0719900998", storeNumber: "999003", pin: "1234" })).toMatchObject({ ok: false, code: "pin_invalid" });
    expect(await w.services.agents.findByStore("999003", w.institutionId)).toBeNull();
  });

  it("reads an agent's number typed without '+' as the directory reads a customer's: nationally first", async () => {
    const zambia = uuidv7();
    await w.test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'agents-zm', 'Agents ZM', 'ZMW', 'Africa/Lusaka')", [zambia]);
    expect(await w.services.directory.setDefaultCountry({ actorType: "system", actorId: "test", channel: "system" }, zambia, "ZM")).toMatchObject({ ok: true });
    // 951716371 is a Zambian mobile number read nationally, and Myanmar's +951716371 read as international.
    const made = await w.services.agents.onboard({ institutionId: zambia, msisdn: "951716371", storeNumber: "777001", name: "Duka Lusaka", location: "Lusaka", actor: BANK, pin: AGENT_PIN });
    expect(made).toMatchObject({ ok: true, agent: { msisdn: "+260951716371" } });
    // Either way it is typed later, the same agent.
    expect((await w.services.agents.atNumber("+260951716371", zambia)).agent?.storeNumber).toBe("777001");
  });

  it("cash-in: float pays the customer, the fee and the agent's commission post together, once per request", async () => {
    const agent = await w.newAgent(50_000n);
    const quote = await w.services.agents.quoteCashIn(agent.id, "0712300001", 20_000n);
    expect(quote).toMatchObject({ ok: true, maskedName: "ALICE W***", feeMinor: 1_000n, commissionMinor: 500n, currency: "KES" });
    const before = await w.balance(w.alice.walletAccountId);
    const id = uuidv7();
    const request = { id, agentId: agent.id, customerQuery: "+254712300001", amountMinor: 20_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, transferId: cashInTransferId(id), feeMinor: 1_000n, commissionMinor: 500n, replayed: false });
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, replayed: true });
    expect(await w.balance(agent.floatAccountId)).toBe(30_000n);
    expect(await w.balance(w.alice.walletAccountId)).toBe(before + 19_000n);
    expect(await w.services.agents.commissionEarned(agent.id)).toMatchObject({ ok: true, balanceMinor: 500n });
    expect(await w.services.agents.floatBalance(agent.id)).toMatchObject({ ok: true, balanceMinor: 30_000n });
    const today = await w.services.agents.todaysTransactions(agent.id, 10);
    expect(today.ok && today.transactions.map((t) => [t.code, t.direction])).toEqual([["cash_in", "out"], ["float_top_up", "in"]]);
  });

  it("counts all of a busy agent's movements today, past one ledger page and its holds, and lists the newest", async () => {
    const agent = await w.newAgent(0n);
    await w.fund(w.bob.walletAccountId, 5_000n);
    // A declined cash-out's hold and void come first (they moved nothing), then 130 top-ups:
    // more than one page of the float's history, the holds on a page of their own.
    const hold = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN });
    expect(hold.ok).toBe(true);
    if (hold.ok) expect(await w.services.agents.declineCashOut({ pendingId: hold.pending.pendingId, customerId: w.bob.id })).toMatchObject({ ok: true });
    for (let i = 1; i <= 130; i++) await w.fund(agent.floatAccountId, BigInt(i));
    const today = await w.services.agents.todaysTransactions(agent.id, 3);
    expect(today).toMatchObject({ ok: true, count: 130 });
    expect(today.ok && today.transactions.map((t) => t.amountMinor)).toEqual([130n, 129n, 128n]);
  });

  it("attaches receipts for both sides and the approval prompt to the transfers, PINs nowhere in them", async () => {
    const agent = await w.newAgent(20_000n);
    await w.fund(w.bob.walletAccountId, 5_000n);
    const submitted: TransferInput[][] = [];
    const original = w.ledger.submitLinked.bind(w.ledger);
    w.ledger.submitLinked = async (inputs) => {
      submitted.push(inputs);
      return original(inputs);
    };
    try {
      const cashIn = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor: 2_000n, agentPin: AGENT_PIN, channel: "agent" });
      const hold = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN });
      expect(cashIn.ok && hold.ok).toBe(true);
      if (hold.ok) await w.services.agents.declineCashOut({ pendingId: hold.pending.pendingId, customerId: w.bob.id });
    } finally {
      w.ledger.submitLinked = original;
    }
    const notices = submitted.map((group) => group.flatMap((t) => t.notices ?? []).map((n) => `${n.kind}:${n.template}:${n.msisdn}`));
    expect(notices).toEqual([
      [`receipt:receipt.cash_in_customer_fee:${w.alice.msisdn}`, `receipt:receipt.cash_in_agent:${agent.msisdn}`],
      [`prompt:prompt.cash_out_approve:${w.bob.msisdn}`],
      [`notice:notice.cash_out_declined:${agent.msisdn}`],
    ]);
    const all = submitted.flat().flatMap((t) => t.notices ?? []);
    for (const n of all) for (const v of Object.values(n.params)) expect(typeof v).toBe("string");
    expect(containsPin(JSON.stringify(all, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)), AGENT_PIN)).toBe(false);
  });

  it("refuses a cash-in beyond the float, a wrong PIN, a suspended agent and bad amounts, moving nothing", async () => {
    const agent = await w.newAgent(5_000n);
    const base = { agentId: agent.id, customerQuery: "0712300002", agentPin: AGENT_PIN, channel: "agent" as const };
    const bobBefore = await w.balance(w.bob.walletAccountId);
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 6_000n })).toMatchObject({ ok: false, code: "insufficient_float" });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 1_000n, agentPin: "9999" })).toMatchObject({ ok: false, code: "pin_wrong" });
    for (const amountMinor of [0n, -1n, 10n ** 19n]) {
      expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor })).toMatchObject({ ok: false, code: "invalid_amount" });
    }
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 1.5 as unknown as bigint })).toMatchObject({ ok: false, code: "invalid_amount" });
    expect(await w.services.agents.cashIn({ ...base, id: "not-a-uuid", amountMinor: 100n })).toMatchObject({ ok: false, code: "invalid_request_id" });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 100n, customerQuery: "0712999999" })).toMatchObject({ ok: false, code: "customer_not_found" });
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 100n })).toMatchObject({ ok: false, code: "agent_unavailable" });
    expect(await w.balance(agent.floatAccountId)).toBe(5_000n);
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore);
  });

  it("holds large cash-ins from an agent whose SIM was just swapped, small ones still go", async () => {
    const agent = await w.newAgent(20_000n);
    const reported = await w.services.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: agent.msisdn, kind: "sim_swap" });
    expect(reported.ok).toBe(true);
    const base = { agentId: agent.id, customerQuery: "0712300002", agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 5_000n })).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 1_000n })).toMatchObject({ ok: true });
    expect(await w.balance(agent.floatAccountId)).toBe(19_000n);
  });

  it("enforces the agent's own per-transaction and daily limits on the float", async () => {
    const agent = await w.newAgent(100_000n);
    expect((await w.services.agents.setLimits(agent.id, { maxPerTransactionMinor: 8_000n, maxDailyFloatOutMinor: 10_000n }, BANK)).ok).toBe(true);
    const base = { agentId: agent.id, customerQuery: "0712300002", agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 9_000n })).toMatchObject({ ok: false, code: "per_transaction_exceeded" });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 7_000n })).toMatchObject({ ok: true });
    expect(await w.services.agents.cashIn({ ...base, id: uuidv7(), amountMinor: 4_000n })).toMatchObject({ ok: false, code: "daily_amount_exceeded", availableMinor: 3_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(93_000n);
  });

  it("bounds float coming in per day by its own figure: withdrawals and cash-outs past it are refused, the agent told what remains", async () => {
    const agent = await w.newAgent(20_000n);
    // Float in has its own daily figure, counted apart from cash-ins (float out), which stay free.
    expect((await w.services.agents.setLimits(agent.id, { maxDailyFloatInMinor: 15_000n, maxDailyFloatOutMinor: 1_000_000n }, BANK)).ok).toBe(true);
    const dan = await w.register("0712300011", "Dan Otieno", "6284");
    await w.fund(dan.walletAccountId, 60_000n);
    const base = { customerId: dan.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, customerPin: "6284", channel: "ussd" as const };
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 10_000n })).toMatchObject({ ok: true });
    const danBefore = await w.balance(dan.walletAccountId);
    // The float's limit, not the customer's: said as the float's, so the customer does not read it as
    // their own, and without the float's room, which is the agent's business; the agent hears it.
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 6_000n })).toEqual({ ok: false, code: "float_limit_exceeded" });
    const start = { agentId: agent.id, customerQuery: dan.msisdn, agentPin: AGENT_PIN };
    expect(await w.services.agents.startCashOut({ ...start, id: uuidv7(), amountMinor: 5_001n })).toMatchObject({ ok: false, code: "float_limit_exceeded", availableMinor: 5_000n });
    // Refusals move nothing: the wallet and the float are as they were.
    expect(await w.balance(dan.walletAccountId)).toBe(danBefore);
    expect(await w.balance(agent.floatAccountId)).toBe(30_000n);
    const held = await w.services.agents.startCashOut({ ...start, id: uuidv7(), amountMinor: 5_000n });
    expect(held).toMatchObject({ ok: true });
    const approved = await w.services.agents.approveCashOut({ pendingId: held.ok ? held.pending.pendingId : "", customerId: dan.id, customerPin: "6284" });
    expect(approved).toMatchObject({ ok: true });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 100n })).toEqual({ ok: false, code: "float_limit_exceeded" });
    expect(await w.balance(agent.floatAccountId)).toBe(35_000n);
    // Float out has its own figure, untouched by what came in: a cash-in larger than the whole day's float in goes through.
    const cashIn = { agentId: agent.id, customerQuery: dan.msisdn, agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn({ ...cashIn, id: uuidv7(), amountMinor: 20_000n })).toMatchObject({ ok: true });
    expect(await w.balance(agent.floatAccountId)).toBe(15_000n);
  });

  it("a withdrawal and a cash-out refused by the float's daily limit are still told as the float's when retried, with no stale amount", async () => {
    const agent = await w.newAgent(20_000n);
    expect((await w.services.agents.setLimits(agent.id, { maxDailyFloatInMinor: 5_000n, maxDailyFloatOutMinor: 1_000_000n }, BANK)).ok).toBe(true);
    const erin = await w.register("0712300061", "Erin Achieng", "3917");
    await w.fund(erin.walletAccountId, 30_000n);
    const erinBefore = await w.balance(erin.walletAccountId);
    // The ledger records the refusal (its code is a daily amount's, the payer's own wording): only
    // the recorded party tells the retry that the float's limit refused it, not Erin's.
    const withdrawal = { id: uuidv7(), customerId: erin.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 6_000n, customerPin: "3917", channel: "ussd" as const };
    const cashOut = { id: uuidv7(), agentId: agent.id, customerQuery: erin.msisdn, amountMinor: 6_000n, agentPin: AGENT_PIN };
    expect(await w.services.agents.withdraw(withdrawal)).toEqual({ ok: false, code: "float_limit_exceeded" });
    expect(await w.services.agents.startCashOut(cashOut)).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 5_000n });
    // What was available then is not said again: by the retry it may be anything.
    const retried = [await w.services.agents.withdraw(withdrawal), await w.services.agents.startCashOut(cashOut)];
    for (const r of retried) {
      expect(r).toMatchObject({ ok: false, code: "float_limit_exceeded" });
      expect(!r.ok && r.availableMinor).toBeUndefined();
    }
    expect(await w.services.agents.cashOutStatus(cashOutPendingId(cashOut.id))).toBeNull();
    expect(await w.balance(erin.walletAccountId)).toBe(erinBefore);
    expect(await w.balance(agent.floatAccountId)).toBe(20_000n);
  });

  it("customer withdrawal: agent number and store number must name the same active agent", async () => {
    const agent = await w.newAgent(0n);
    const other = await w.newAgent(0n);
    await w.fund(w.alice.walletAccountId, 30_000n);
    const aliceBefore = await w.balance(w.alice.walletAccountId);
    const base = { customerId: w.alice.id, agentNumber: agent.msisdn, amountMinor: 10_000n, customerPin: "4827", channel: "ussd" as const };
    expect(await w.services.agents.quoteWithdraw(w.alice.id, agent.msisdn, other.storeNumber, 10_000n)).toMatchObject({ ok: false, code: "agent_store_mismatch" });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), storeNumber: other.storeNumber })).toMatchObject({ ok: false, code: "agent_store_mismatch" });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), storeNumber: "000000" })).toMatchObject({ ok: false, code: "agent_store_mismatch" });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), storeNumber: agent.storeNumber, customerPin: "1111" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.quoteWithdraw(w.alice.id, agent.msisdn, agent.storeNumber, 10_000n)).toMatchObject({ ok: true, feeMinor: 100n, totalMinor: 10_100n, agentName: agent.name });
    for (const amountMinor of [0n, -100n, 10n ** 18n, 2.5 as unknown as bigint]) {
      expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), storeNumber: agent.storeNumber, amountMinor })).toMatchObject({ ok: false, code: "invalid_amount" });
      expect(await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor, agentPin: AGENT_PIN })).toMatchObject({ ok: false, code: "invalid_amount" });
    }
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), agentNumber: "0719999999", storeNumber: "999999" })).toMatchObject({ ok: false, code: "agent_not_found" });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), agentNumber: "12", storeNumber: agent.storeNumber })).toMatchObject({ ok: false, code: "invalid_msisdn" });
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), storeNumber: "12ab" })).toMatchObject({ ok: false, code: "invalid_store_number" });
    expect(await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor: 100n, agentPin: AGENT_PIN, timeoutSec: 5 })).toMatchObject({ ok: false, code: "invalid_input" });
    const tooMuch = uuidv7();
    expect(await w.services.agents.startCashOut({ id: tooMuch, agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor: aliceBefore, agentPin: AGENT_PIN })).toMatchObject({ ok: false, code: "insufficient_funds" });
    // The agent's app reads it as refused (it heard why already); nothing awaits the customer.
    expect(await w.services.agents.cashOutStatus(cashOutPendingId(tooMuch))).toMatchObject({ state: "refused" });
    expect(await w.balance(w.alice.walletAccountId)).toBe(aliceBefore);
    const id = uuidv7();
    expect(await w.services.agents.withdraw({ ...base, id, storeNumber: agent.storeNumber })).toMatchObject({ ok: true, feeMinor: 100n, commissionMinor: 40n });
    expect(await w.services.agents.withdraw({ ...base, id, storeNumber: agent.storeNumber })).toMatchObject({ ok: true, replayed: true });
    expect(await w.balance(w.alice.walletAccountId)).toBe(aliceBefore - 10_100n);
    expect(await w.balance(agent.floatAccountId)).toBe(10_000n);
    expect(await w.balance(agent.commissionAccountId)).toBe(40n);
    expect(await w.balance(other.floatAccountId)).toBe(0n);
  });

  it("agent-initiated cash-out is held until the customer approves, then posts with fee and commission", async () => {
    const agent = await w.newAgent(0n);
    await w.fund(w.bob.walletAccountId, 20_000n);
    const bobBefore = await w.balance(w.bob.walletAccountId);
    const started = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN });
    expect(started).toMatchObject({ ok: true, pending: { state: "pending", amountMinor: 5_000n, feeMinor: 100n } });
    if (!started.ok) return;
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore - 5_100n);
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
    expect((await w.services.agents.pendingCashOuts(w.bob.id)).map((p) => p.pendingId)).toContain(started.pending.pendingId);
    // Asked by number (as a dial asks it, in any accepted form): only the customer it waits for.
    expect(await w.services.agents.atNumber(w.bob.msisdn.replace("+254", "0"), w.institutionId)).toEqual({ agent: null, awaitingCashOut: [w.bob.id] });
    expect(await w.services.agents.atNumber(w.alice.msisdn, w.institutionId)).toEqual({ agent: null, awaitingCashOut: [] });
    expect(await w.services.agents.atNumber("not a number", w.institutionId)).toEqual({ agent: null, awaitingCashOut: [] });
    // The agent's own number: the agent, and nobody awaiting (an agent is not the customer here).
    expect(await w.services.agents.atNumber(agent.msisdn, w.institutionId)).toEqual({ agent: await w.services.agents.findByMsisdn(agent.msisdn, w.institutionId), awaitingCashOut: [] });
    expect(await w.services.agents.atNumber(agent.msisdn, uuidv7())).toEqual({ agent: null, awaitingCashOut: [] });
    const approve = { pendingId: started.pending.pendingId, customerId: w.bob.id, customerPin: "5903" };
    expect(await w.services.agents.approveCashOut({ ...approve, customerId: w.alice.id })).toMatchObject({ ok: false, code: "pending_not_found" });
    expect(await w.services.agents.approveCashOut({ ...approve, customerPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true, amountMinor: 5_000n, commissionMinor: 40n });
    expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: true, replayed: true });
    expect(await w.services.agents.declineCashOut(approve)).toMatchObject({ ok: false, code: "pending_already_approved" });
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore - 5_100n);
    expect(await w.balance(agent.floatAccountId)).toBe(5_000n);
    expect(await w.balance(agent.commissionAccountId)).toBe(40n);
    expect(await w.services.agents.pendingCashOuts(w.bob.id)).toEqual([]);
    expect((await w.services.agents.atNumber(w.bob.msisdn, w.institutionId)).awaitingCashOut).toEqual([]);
    const today = await w.services.agents.todaysTransactions(agent.id);
    expect(today.ok && today.transactions.map((t) => `${t.kind}:${t.code}:${t.direction}:${t.amountMinor}`)).toEqual(["post:cash_out:in:5000"]);
  });

  it("a cash-out request id reused for another amount is refused and leaves the first hold approvable", async () => {
    const agent = await w.newAgent(0n);
    await w.fund(w.bob.walletAccountId, 20_000n);
    const start = { id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, agentPin: AGENT_PIN };
    const first = await w.services.agents.startCashOut({ ...start, amountMinor: 1_000n });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(await w.services.agents.startCashOut({ ...start, amountMinor: 2_000n })).toMatchObject({ ok: false, code: "request_id_reused" });
    expect((await w.services.agents.pendingCashOuts(w.bob.id)).map((p) => p.pendingId)).toContain(first.pending.pendingId);
    expect(await w.services.agents.startCashOut({ ...start, amountMinor: 1_000n })).toMatchObject({ ok: true, replayed: true });
    expect(await w.services.agents.declineCashOut({ pendingId: first.pending.pendingId, customerId: w.bob.id })).toMatchObject({ ok: true });
  });

  it("held cash-outs count towards the float's ceiling when they are made: the one over it is refused at once, the others post", async () => {
    const agent = await w.newAgent(0n);
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 10_000n }, BANK)).ok).toBe(true);
    const carol = await w.register("0712300003", "Carol Njeri", "7391");
    const people = [{ c: w.alice, pin: "4827" }, { c: w.bob, pin: "5903" }, { c: carol, pin: "7391" }];
    const before = new Map<string, bigint>();
    for (const { c } of people) {
      await w.fund(c.walletAccountId, 5_000n);
      before.set(c.id, await w.balance(c.walletAccountId));
    }
    const holds = await Promise.all(people.map(({ c }) => w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: c.msisdn, amountMinor: 4_000n, agentPin: AGENT_PIN })));
    // 3 × 4,000 against a 10,000 ceiling: the ledger reserves the room with each hold, so the third is refused while the agent is still there.
    expect(holds.filter((h) => h.ok)).toHaveLength(2);
    expect(holds.filter((h) => !h.ok).map((h) => !h.ok && h.code)).toEqual(["float_limit_exceeded"]);
    const refusedAt = holds.findIndex((h) => !h.ok);
    const refused = people[refusedAt]!.c;
    expect(await w.balance(refused.walletAccountId)).toBe(before.get(refused.id));
    expect(await w.services.agents.pendingCashOuts(refused.id)).toEqual([]);
    const approvals = await Promise.all(
      people.map(({ c, pin }, i) => {
        const h = holds[i]!;
        return h.ok ? w.services.agents.approveCashOut({ pendingId: h.pending.pendingId, customerId: c.id, customerPin: pin }) : null;
      }),
    );
    expect(approvals.filter((a) => a?.ok)).toHaveLength(2);
    expect(await w.balance(agent.floatAccountId)).toBe(8_000n);
  });

  it("a declined cash-out restores the wallet; an ignored one is voided by the expiry sweep", async () => {
    const agent = await w.newAgent(0n);
    await w.fund(w.bob.walletAccountId, 20_000n);
    const bobBefore = await w.balance(w.bob.walletAccountId);
    const start = (timeoutSec?: number) => w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 3_000n, agentPin: AGENT_PIN, timeoutSec });
    const declined = await start();
    const ignored = await start(30);
    if (!declined.ok || !ignored.ok) throw new Error("not started");
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore - 6_200n);
    expect(await w.services.agents.declineCashOut({ pendingId: declined.pending.pendingId, customerId: w.bob.id })).toMatchObject({ ok: true });
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore - 3_100n);
    expect(await w.services.agents.approveCashOut({ pendingId: declined.pending.pendingId, customerId: w.bob.id, customerPin: "5903" })).toMatchObject({ ok: false, code: "pending_already_declined" });
    // The customer never answers: the ledger's sweep, run as of 31 s later, voids both holds.
    expect(await w.ledger.expirePendings(new Date(Date.now() + 31_000))).toBeGreaterThanOrEqual(2);
    w.clock.offsetMs = 31_000;
    try {
      expect(await w.services.agents.pendingCashOuts(w.bob.id)).toEqual([]);
      expect((await w.services.agents.atNumber(w.bob.msisdn, w.institutionId)).awaitingCashOut).toEqual([]);
      expect(await w.services.agents.cashOutStatus(ignored.pending.pendingId)).toMatchObject({ state: "expired" });
      expect(await w.services.agents.approveCashOut({ pendingId: ignored.pending.pendingId, customerId: w.bob.id, customerPin: "5903" })).toMatchObject({ ok: false, code: "pending_expired" });
    } finally {
      w.clock.offsetMs = 0;
    }
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore);
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
    expect(await w.balance(agent.commissionAccountId)).toBe(0n);
    // An agent suspended while the customer decides: the approval is refused and the hold released.
    const late = await start();
    if (!late.ok) throw new Error(late.code);
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.approveCashOut({ pendingId: late.pending.pendingId, customerId: w.bob.id, customerPin: "5903" })).toMatchObject({ ok: false, code: "agent_unavailable" });
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore);
  });

  it("a customer whose SIM was just swapped can neither be asked for nor approve a cash-out; nothing moves", async () => {
    const agent = await w.newAgent(0n);
    const erin = await w.register("0712300021", "Erin Atieno", "6284");
    await w.fund(erin.walletAccountId, 20_000n);
    const start = { agentId: agent.id, customerQuery: erin.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN };
    // Asked before the swap: the hold exists, and the swap comes while the customer decides.
    const held = await w.services.agents.startCashOut({ ...start, id: uuidv7() });
    if (!held.ok) throw new Error(held.code);
    const before = await w.balance(erin.walletAccountId);
    const swapped = await w.services.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: erin.msisdn, kind: "sim_swap" });
    expect(swapped.ok).toBe(true);
    const approve = { pendingId: held.pending.pendingId, customerId: erin.id, customerPin: "6284" };
    expect(await w.services.agents.approveCashOut(approve)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.services.agents.startCashOut({ ...start, id: uuidv7() })).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    // Without the agent's PIN nothing of the customer's swap is told (a device key alone must not probe it).
    expect(await w.services.agents.startCashOut({ ...start, id: uuidv7(), agentPin: "0000" })).toEqual({ ok: false, code: "pin_wrong" });
    expect(await w.balance(erin.walletAccountId)).toBe(before);
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
    expect((await w.services.agents.pendingCashOuts(erin.id)).map((p) => p.pendingId)).toEqual([held.pending.pendingId]);
    expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: erin.id })).toMatchObject({ ok: true });
  });

  it("an agent whose requests a customer declined or ignored three times in a day may ask that customer no more", async () => {
    const agent = await w.newAgent(0n);
    const other = await w.newAgent(0n);
    const fay = await w.register("0712300022", "Fay Chebet", "3917");
    await w.fund(fay.walletAccountId, 20_000n);
    const ask = (by: string, timeoutSec?: number) =>
      w.services.agents.startCashOut({ id: uuidv7(), agentId: by, customerQuery: fay.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, timeoutSec });
    for (let i = 0; i < 2; i++) {
      const held = await ask(agent.id);
      if (!held.ok) throw new Error(held.code);
      expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: fay.id })).toMatchObject({ ok: true });
    }
    // The third is ignored: it lapses (the sweep voids it as of 31 s later).
    const ignored = await ask(agent.id, 30);
    expect(ignored.ok).toBe(true);
    expect(await w.ledger.expirePendings(new Date(Date.now() + 31_000))).toBeGreaterThanOrEqual(1);
    w.clock.offsetMs = 31_000;
    try {
      const before = await w.balance(fay.walletAccountId);
      expect(await ask(agent.id)).toMatchObject({ ok: false, code: "cash_outs_declined" });
      expect(await w.balance(fay.walletAccountId)).toBe(before);
      // Another agent, and the customer's own withdrawal, are not held up.
      const fromOther = await ask(other.id);
      expect(fromOther.ok).toBe(true);
      if (fromOther.ok) expect(await w.services.agents.declineCashOut({ pendingId: fromOther.pending.pendingId, customerId: fay.id })).toMatchObject({ ok: true });
      const own = { customerId: fay.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, customerPin: "3917", channel: "ussd" as const };
      expect(await w.services.agents.withdraw({ ...own, id: uuidv7(), amountMinor: 1_000n })).toMatchObject({ ok: true });
    } finally {
      w.clock.offsetMs = 0;
    }
  });

  it("30 concurrent cash-ins are limited by the float, and a replayed request posts once", async () => {
    const agent = await w.newAgent(10_000n);
    const ids = Array.from({ length: 30 }, () => uuidv7());
    const results = await Promise.all(
      [...ids, ids[0]!].map((id) => w.services.agents.cashIn({ id, agentId: agent.id, customerQuery: w.alice.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, channel: "agent" })),
    );
    expect([...new Set(results.map((r) => (r.ok ? "ok" : r.code)))].sort()).toEqual(["insufficient_float", "ok"]);
    const fresh = results.filter((r) => r.ok && !r.replayed);
    expect(fresh).toHaveLength(10);
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
  });

  it("30 concurrent cash-outs by 30 customers never push one float past its ceiling nor overdraw a wallet", async () => {
    const agent = await w.newAgent(0n);
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 20_000n }, BANK)).ok).toBe(true);
    const customers = await Promise.all(Array.from({ length: 30 }, (_, i) => w.register(`07124${String(i).padStart(5, "0")}`, `Kamau ${"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26]!}${"XY"[Math.floor(i / 26)]!}`, "3962")));
    // Each can cover one withdrawal and its fee, but never two.
    for (const c of customers) await w.fund(c.walletAccountId, 3_100n);
    const withdraw = (customerId: string) =>
      w.services.agents.withdraw({ id: uuidv7(), customerId, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 3_000n, customerPin: "3962", channel: "agent" });
    const results = await Promise.all([...customers.map((c) => withdraw(c.id)), withdraw(customers[0]!.id)]);
    for (const r of results) if (!r.ok) expect(["float_limit_exceeded", "insufficient_funds"]).toContain(r.code);
    expect(results.filter((r) => r.ok)).toHaveLength(6); // 6 × 3,000 = 18,000 ≤ 20,000 < 21,000
    expect(await w.balance(agent.floatAccountId)).toBe(18_000n);
    for (const c of customers) expect(await w.balance(c.walletAccountId)).toBeGreaterThanOrEqual(0n);
  });

  it("reverses a mistaken cash-in with a compensating group, audited, once only", async () => {
    const agent = await w.newAgent(20_000n);
    const bobBefore = await w.balance(w.bob.walletAccountId);
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 15_000n, agentPin: AGENT_PIN, channel: "agent" });
    if (!done.ok) throw new Error(done.code);
    const reverse = { transferId: done.transferId, reason: "wrong customer", actor: BANK, institutionId: w.institutionId };
    expect(await w.services.agents.reverseCashIn({ ...reverse, institutionId: uuidv7() })).toMatchObject({ ok: false, code: "transfer_not_found" });
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: true, amountMinor: 15_000n, feeRefundMinor: 1_000n, commissionClawbackMinor: 500n });
    expect(await w.services.agents.reverseCashIn(reverse)).toMatchObject({ ok: false, code: "already_reversed" });
    expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore);
    expect(await w.balance(agent.floatAccountId)).toBe(20_000n);
    expect(await w.balance(agent.commissionAccountId)).toBe(0n);
    const audit = await w.test.db.query<{ outcome: string }>(`SELECT outcome FROM audit_log WHERE action = 'agents.cash_in.reverse' AND subject = $1 ORDER BY seq`, [agent.id]);
    expect(audit.rows.map((r) => r.outcome)).toEqual(["ok"]);
    expect(await w.services.agents.reverseCashIn({ ...reverse, transferId: agent.floatAccountId })).toMatchObject({ ok: false, code: "transfer_not_found" });
  });

  it("refuses to reverse a cash-in the customer has already spent, and says so", async () => {
    const agent = await w.newAgent(20_000n);
    const customer = w.alice;
    const spendAll = async () => {
      const left = await w.balance(customer.walletAccountId);
      const bank = await w.ledger.createAccount({ institutionId: w.institutionId, currency: "KES", kind: "bank" });
      if (left > 0n) expect((await w.ledger.transfer({ id: uuidv7(), debitAccountId: customer.walletAccountId, creditAccountId: bank.id, amountMinor: left, code: "spend" })).result).toBe("ok");
    };
    const done = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 12_000n, agentPin: AGENT_PIN, channel: "agent" });
    if (!done.ok) throw new Error(done.code);
    await spendAll();
    expect(await w.services.agents.reverseCashIn({ transferId: done.transferId, reason: "typo", actor: BANK })).toMatchObject({ ok: false, code: "customer_funds_spent" });
    expect(await w.balance(agent.floatAccountId)).toBe(8_000n);
    expect(await w.services.agents.reverseCashIn({ transferId: done.transferId, reason: "", actor: BANK })).toMatchObject({ ok: false, code: "invalid_input" });
    // Once the bank has made the customer's wallet whole again, the same reversal goes through.
    await w.fund(customer.walletAccountId, 11_000n);
    expect(await w.services.agents.reverseCashIn({ transferId: done.transferId, reason: "typo", actor: BANK })).toMatchObject({ ok: true, amountMinor: 12_000n });
    expect(await w.balance(agent.floatAccountId)).toBe(20_000n);
    expect(await w.balance(customer.walletAccountId)).toBe(0n);
  });
});
