/**
 * A cash-in, withdrawal or P2P payment that posted answers its receipt when retried, whatever
 * changed since: the customer blocked, the agent suspended, the payee blocked. Told "refused", the agent would hand the cash back (or the
 * customer leave without it), though the money moved. Only the same request gets it, with its PIN.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

let w: AgentsWorld;
const SYSTEM = { actorType: "system" as const, actorId: "test", channel: "system" as const };
const banker = (institutionId: string) => ({ actorType: "bank_user" as const, actorId: "apikey:test", channel: "admin" as const, institutionId });

beforeAll(async () => {
  w = await openAgentsWorld("posted-retries");
});

afterAll(async () => {
  await w?.verify();
  await w?.close();
});

describe("a retried cash move that already posted", () => {
  it("cash-in: answers its receipt after the customer was blocked and after the agent was suspended; another amount or a wrong PIN is refused", async () => {
    const agent = await w.newAgent(100_000n);
    const carol = await w.register("0712311101", "Carol Wambui", "2857");
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: carol.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    const first = await w.services.agents.cashIn(request);
    expect(first).toMatchObject({ ok: true, replayed: false, feeMinor: 100n, commissionMinor: 50n });
    const credited = await w.balance(carol.walletAccountId);
    expect((await w.services.directory.setStatus(banker(w.institutionId), carol.id, "blocked")).ok).toBe(true);
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, replayed: true, customerId: carol.id, maskedName: "CAROL W***", feeMinor: 100n, commissionMinor: 50n });
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true, replayed: true, transferId: first.ok ? first.transferId : "" });
    expect(await w.services.agents.cashIn({ ...request, amountMinor: 6_000n })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.cashIn({ ...request, agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.balance(carol.walletAccountId)).toBe(credited);
    expect((await w.services.agents.setStatus(agent.id, "active", BANK)).ok).toBe(true);
    expect((await w.services.directory.setStatus(SYSTEM, carol.id, "active")).ok).toBe(true);
  });

  it("cash-in: the same request id for another customer is refused as reused", async () => {
    const agent = await w.newAgent(100_000n);
    const dan = await w.register("0712311102", "Dan Kiprop", "2857");
    const eve = await w.register("0712311103", "Eve Nduta", "2857");
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: dan.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" as const };
    expect(await w.services.agents.cashIn(request)).toMatchObject({ ok: true });
    expect(await w.services.agents.cashIn({ ...request, customerQuery: eve.msisdn })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.services.agents.cashIn({ ...request, customerId: eve.id })).toEqual({ ok: false, code: "request_id_reused" });
    // Without the PIN nothing is told of who the request paid: a wrong PIN is a wrong PIN, whoever the query names.
    expect(await w.services.agents.cashIn({ ...request, customerQuery: eve.msisdn, agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.balance(eve.walletAccountId)).toBe(0n);
  });

  it("withdrawal: answers its receipt after the agent was suspended", async () => {
    const agent = await w.newAgent(0n);
    const fred = await w.register("0712311104", "Fred Mutua", "2857");
    await w.fund(fred.walletAccountId, 20_000n);
    const request = { id: uuidv7(), customerId: fred.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 2_000n, customerPin: "2857", channel: "ussd" as const };
    expect(await w.services.agents.withdraw(request)).toMatchObject({ ok: true, replayed: false });
    const left = await w.balance(fred.walletAccountId);
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.withdraw(request)).toMatchObject({ ok: true, replayed: true, maskedName: agent.name, amountMinor: 2_000n });
    expect(await w.services.agents.withdraw({ ...request, storeNumber: "999999" })).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.balance(fred.walletAccountId)).toBe(left);
    expect((await w.services.agents.setStatus(agent.id, "active", BANK)).ok).toBe(true);
  });

  it("P2P: a payment retried after the payee, then the payer, was blocked answers its receipt; with a wrong PIN, the refusal", async () => {
    const gina = await w.register("0712311105", "Gina Atieno", "2857");
    const hugo = await w.register("0712311106", "Hugo Owino", "2857");
    await w.fund(gina.walletAccountId, 20_000n);
    const send = { payerCustomerId: gina.id, payee: hugo.msisdn, amountMinor: 3_000n, channel: "ussd" as const, pin: "2857", paymentId: uuidv7() };
    const first = await w.services.payments.sendP2P(send);
    expect(first).toMatchObject({ ok: true, replayed: false });
    const left = await w.balance(gina.walletAccountId);
    const bank = banker(w.institutionId);
    expect((await w.services.directory.setStatus(bank, hugo.id, "blocked")).ok).toBe(true);
    expect(await w.services.payments.sendP2P(send)).toMatchObject({ ok: true, replayed: true, maskedName: "HUGO O***", amountMinor: 3_000n });
    // Blocked says what an unknown number says: payee_not_found.
    expect(await w.services.payments.sendP2P({ ...send, pin: "1357" })).toMatchObject({ ok: false, code: "payee_not_found" });
    expect((await w.services.directory.setStatus(bank, gina.id, "blocked")).ok).toBe(true);
    expect(await w.services.payments.sendP2P(send)).toMatchObject({ ok: true, replayed: true });
    // Another payment id is refused as before.
    expect(await w.services.payments.sendP2P({ ...send, paymentId: uuidv7() })).toMatchObject({ ok: false, code: "payer_unavailable" });
    expect(await w.balance(gina.walletAccountId)).toBe(left);
    // The same payment id to another payee, or to the payer, is no retry of it.
    expect(await w.services.payments.sendP2P({ ...send, payee: "0712399999" })).toMatchObject({ ok: false });
    expect(await w.services.payments.sendP2P({ ...send, payee: gina.msisdn })).toMatchObject({ ok: false });
    for (const c of [gina, hugo]) expect((await w.services.directory.setStatus(bank, c.id, "active")).ok).toBe(true);
  });

  it("P2P: a payment retried after the payee made another wallet their default answers its receipt", async () => {
    const ivy = await w.register("0712311107", "Ivy Wanjala", "2857");
    const jim = await w.register("0712311108", "Jim Barasa", "2857");
    await w.fund(ivy.walletAccountId, 20_000n);
    const send = { payerCustomerId: ivy.id, payee: jim.msisdn, amountMinor: 3_000n, channel: "ussd" as const, pin: "2857", paymentId: uuidv7() };
    expect(await w.services.payments.sendP2P(send)).toMatchObject({ ok: true, replayed: false });
    const added = await w.services.directory.addInstrument(SYSTEM, jim.id, { kind: "wallet", alias: "shop" });
    if (!added.ok) throw new Error(added.code);
    expect((await w.services.directory.setDefaultInstrument(SYSTEM, jim.id, "shop")).ok).toBe(true);
    expect(await w.services.payments.sendP2P(send)).toMatchObject({ ok: true, replayed: true, maskedName: "JIM B***" });
    expect(await w.balance(jim.walletAccountId)).toBe(3_000n);
  });

  it("agent cash-out: a request retried after the customer approved answers 'approved' though the customer was blocked and the agent suspended since", async () => {
    const agent = await w.newAgent(0n);
    const kim = await w.register("0712311109", "Kim Auma", "2857");
    await w.fund(kim.walletAccountId, 20_000n);
    const request = { id: uuidv7(), agentId: agent.id, customerQuery: kim.msisdn, amountMinor: 2_000n, agentPin: AGENT_PIN };
    const held = await w.services.agents.startCashOut(request);
    if (!held.ok) throw new Error(held.code);
    expect(await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: kim.id, customerPin: "2857" })).toMatchObject({ ok: true });
    expect((await w.services.directory.setStatus(banker(w.institutionId), kim.id, "blocked")).ok).toBe(true);
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { state: "approved" } });
    expect((await w.services.agents.setStatus(agent.id, "suspended", BANK)).ok).toBe(true);
    expect(await w.services.agents.startCashOut(request)).toMatchObject({ ok: true, replayed: true, pending: { state: "approved" } });
    expect(await w.services.agents.startCashOut({ ...request, agentPin: "0000" })).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await w.services.agents.startCashOut({ ...request, amountMinor: 3_000n })).toEqual({ ok: false, code: "request_id_reused" });
    expect((await w.services.agents.setStatus(agent.id, "active", BANK)).ok).toBe(true);
    expect((await w.services.directory.setStatus(banker(w.institutionId), kim.id, "active")).ok).toBe(true);
  });
});
