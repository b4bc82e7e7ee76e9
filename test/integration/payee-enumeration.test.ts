/**
 * Before any PIN, a payer (or an agent) hears the same about a customer the bank blocked or closed
 * as about a number it never knew: otherwise a quote sorts numbers into "blocked customer" and
 * "nobody" for free. The bank still tells them apart: the attempt is in its audit log
 * (directory.payee.lookup, with the payee and their status). A payable payee's masked name is
 * still shown for the payer to confirm. Real PostgreSQL, through the payments and agents services.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SYSTEM } from "../helpers/core-setup.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const banker = (institutionId: string) => ({ actorType: "bank_user" as const, actorId: "apikey:test", channel: "admin" as const, institutionId });
const UNKNOWN = "0712793099";

describe("blocked, closed or unknown payee: one answer before the PIN (postgres)", () => {
  let w: AgentsWorld;
  let payer: Customer;
  let active: Customer;
  let blocked: Customer;
  let closed: Customer;

  beforeAll(async () => {
    w = await openAgentsWorld("payee-enum");
    payer = await w.register("0712793001", "Ruth Wairimu", "2857");
    active = await w.register("0712793002", "Samuel Mutua", "3917");
    blocked = await w.register("0712793003", "Tom Kiprono", "4827");
    closed = await w.register("0712793004", "Una Moraa", "5831");
    await w.fund(payer.walletAccountId, 50_000n);
    expect((await w.services.directory.claimAlias(SYSTEM, blocked.id, "tom.kip")).ok).toBe(true);
    const bank = banker(w.institutionId);
    expect((await w.services.directory.setStatus(bank, blocked.id, "blocked")).ok).toBe(true);
    expect((await w.services.directory.setStatus(bank, closed.id, "closed")).ok).toBe(true);
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 100n }] }, new Date(), () => []);
  });
  afterAll(async () => {
    await w?.close();
  });

  const lookups = async (subject: string) =>
    (await w.test.db.query<{ actor_type: string; actor_id: string; outcome: string; payload: Record<string, unknown> }>(
      "SELECT actor_type, actor_id, outcome, payload FROM audit_log WHERE action = 'directory.payee.lookup' AND subject = $1 ORDER BY seq",
      [subject],
    )).rows;

  it("a P2P quote answers blocked and closed payees as an unknown number, and still shows a payable payee's masked name", async () => {
    const quote = (payee: string, hinted = false) =>
      w.services.payments.quoteP2P({
        payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "ussd",
        ...(hinted ? { payerInstitutionId: w.institutionId, payerWalletAccountId: payer.walletAccountId } : {}),
      });
    const unknown = await quote(UNKNOWN);
    expect(unknown).toEqual({ ok: false, code: "payee_not_found" });
    for (const payee of [blocked.msisdn, "0712793003", "tom.kip", "Tom_Kip", closed.msisdn]) {
      expect(await quote(payee), payee).toEqual(unknown);
      expect(await quote(payee, true), `${payee} (hinted)`).toEqual(unknown);
    }
    expect(await quote(active.msisdn)).toMatchObject({ ok: true, maskedName: "SAMUEL M***", feeMinor: 100n });
  });

  it("a P2P send refused before the PIN says the same (a wrong PIN learns nothing more), and nothing moves", async () => {
    const before = await w.balance(payer.walletAccountId);
    const send = (payee: string) =>
      w.services.payments.sendP2P({ payerCustomerId: payer.id, payee, amountMinor: 1_000n, channel: "sms", paymentId: uuidv7(), pin: "1111" });
    const unknown = await send(UNKNOWN);
    expect(unknown).toEqual({ ok: false, code: "payee_not_found" });
    for (const payee of [blocked.msisdn, "tom.kip", closed.msisdn]) expect(await send(payee), payee).toEqual(unknown);
    expect(await w.balance(payer.walletAccountId)).toBe(before);
  });

  it("an agent's cash-in quote (and a cash-in with a wrong PIN) answers blocked and closed customers as an unknown number", async () => {
    const agent = await w.newAgent();
    const unknown = await w.services.agents.quoteCashIn(agent.id, UNKNOWN, 1_000n);
    expect(unknown).toEqual({ ok: false, code: "customer_not_found" });
    for (const customer of [blocked.msisdn, "tom.kip", closed.msisdn]) {
      expect(await w.services.agents.quoteCashIn(agent.id, customer, 1_000n), customer).toEqual(unknown);
      const cashIn = await w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: customer, amountMinor: 1_000n, agentPin: "0000", channel: "agent" });
      expect(cashIn, customer).toEqual(unknown);
    }
    expect(await w.services.agents.quoteCashIn(agent.id, active.msisdn, 1_000n)).toMatchObject({ ok: true, maskedName: "SAMUEL M***" });
  });

  it("the bank's audit log names each attempt on a blocked or closed customer, with who tried and the status", async () => {
    const onBlocked = await lookups(blocked.id);
    expect(onBlocked.length).toBeGreaterThan(0);
    for (const row of onBlocked) expect(row).toMatchObject({ outcome: "refused", payload: { code: "payee_unavailable", status: "blocked" } });
    expect(onBlocked.some((r) => r.actor_type === "customer" && r.actor_id === payer.id)).toBe(true);
    expect(onBlocked.some((r) => r.actor_type === "agent")).toBe(true);
    expect((await lookups(closed.id)).every((r) => r.payload.status === "closed")).toBe(true);
    // A payable payee is not audited at every quote.
    expect(await lookups(active.id)).toEqual([]);
  });
});
