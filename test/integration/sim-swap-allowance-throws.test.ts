// What a payment takes from a SIM-swap cooling allowance before its money moves is given back when
// the move then throws (an outage, not a refusal) and its transfer, abandoned (Ledger.abandon), is
// refused for good: the money never moved, and the customer's allowance must not shrink for it. A move that threw after its
// transfer posted keeps it: that money did leave. Over real PostgreSQL; the writes fail for real
// (a trigger refuses the row).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

describe("SIM-swap cooling allowance and moves that throw", () => {
  let w: AgentsWorld;
  let payee: Customer;
  let n = 0;

  const customer = async (swapped: boolean): Promise<Customer> => {
    const c = await w.register(`0712621${String(++n).padStart(3, "0")}`, "Swap Njeri", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    if (swapped) expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap" })).ok).toBe(true);
    return c;
  };
  const agentAt = async (suffix: number): Promise<Agent> => {
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `0712622${String(suffix).padStart(3, "0")}`, storeNumber: String(626200 + suffix), name: `Duka ${suffix}`,
      location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: 100_000n, actor: BANK });
    if (!topUp.ok) throw new Error(topUp.code);
    return made.agent;
  };
  const send = (from: Customer, amountMinor: bigint) =>
    w.services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn: from.msisdn, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827" });

  /** Runs body while every write of `table` (on `op`) fails, as an outage would. */
  const failing = async <T>(table: string, op: "INSERT" | "UPDATE", body: () => Promise<T>): Promise<T> => {
    await w.test.db.query(`CREATE FUNCTION swap_throw_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'store unavailable'; END $$`);
    await w.test.db.query(`CREATE TRIGGER swap_throw_test_refuse BEFORE ${op} ON ${table} FOR EACH ROW EXECUTE FUNCTION swap_throw_test_refuse()`);
    try {
      return await body();
    } finally {
      await w.test.db.query(`DROP TRIGGER swap_throw_test_refuse ON ${table}`);
      await w.test.db.query(`DROP FUNCTION swap_throw_test_refuse()`);
    }
  };

  beforeAll(async () => {
    w = await openAgentsWorld("swap-throws");
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 0n }] }, new Date(), () => []);
    payee = await customer(false);
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("gives back a P2P send's amount when its ledger write failed", async () => {
    const c = await customer(true);
    await failing("transfers", "INSERT", () => expect(send(c, 900n)).rejects.toThrow(/store unavailable/));
    expect(await w.balance(c.walletAccountId)).toBe(50_000n);
    // The whole allowance is still there, and still bounded.
    expect(await send(c, 600n)).toMatchObject({ ok: true });
    expect(await send(c, 400n)).toMatchObject({ ok: true });
    expect(await send(c, 1n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
  });

  it("gives back a withdrawal's amount and fee when its ledger write failed", async () => {
    const agent = await agentAt(1);
    const c = await customer(true);
    const base = { customerId: c.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, customerPin: "4827", channel: "ussd" as const };
    // 800 and its fee of 100.
    await failing("transfers", "INSERT", () => expect(w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 800n })).rejects.toThrow(/store unavailable/));
    expect(await w.services.agents.withdraw({ ...base, id: uuidv7(), amountMinor: 800n })).toMatchObject({ ok: true });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 900n);
  });

  it("keeps a cash-out approval's amount when it threw after its transfers posted", async () => {
    const agent = await agentAt(2);
    const c = await customer(true);
    const held = await w.askCashOut(agent.id, c.msisdn, 200n);
    if (!held.ok) throw new Error(held.code);
    // The approval posts, then recording it fails: 200 and its fee of 100 did leave the wallet.
    await failing("agent_cash_outs", "UPDATE", () =>
      expect(w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: c.id, customerPin: "4827" })).rejects.toThrow(/store unavailable/));
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 300n);
    expect(await send(c, 701n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, 700n)).toMatchObject({ ok: true });
  });
});
