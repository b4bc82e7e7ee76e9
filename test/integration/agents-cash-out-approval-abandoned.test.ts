// A customer's cash-out approval under a SIM swap's cooling whose ledger write threw has its post
// abandoned (SimSwapGuard.spend: Ledger.abandon, refused for good) so the allowance can be given
// back. No approval can post the holds after that, yet they stayed on the wallet (the customer's
// funds and daily limit tied up) until the customer declined or the ledger's timeout ran out. The
// holds are now voided once the post is abandoned, or by a retried approval if that void failed
// too. Over real PostgreSQL; the writes fail for real (a trigger refuses the row).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
const PIN = "6185";

describe("agents: a cash-out approval abandoned under SIM-swap cooling", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let n = 0;

  /** Runs body while every insert into transfers of the given kinds fails, as an outage would. */
  const failing = async <T>(kinds: string[], body: () => Promise<T>): Promise<T> => {
    const list = kinds.map((k) => `'${k}'`).join(", ");
    await w.test.db.query(`CREATE FUNCTION co_abandon_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'store unavailable'; END $$`);
    await w.test.db.query(`CREATE TRIGGER co_abandon_test_refuse BEFORE INSERT ON transfers FOR EACH ROW WHEN (NEW.kind IN (${list})) EXECUTE FUNCTION co_abandon_test_refuse()`);
    try {
      return await body();
    } finally {
      await w.test.db.query(`DROP TRIGGER co_abandon_test_refuse ON transfers`);
      await w.test.db.query(`DROP FUNCTION co_abandon_test_refuse()`);
    }
  };

  /** A swapped customer with a cash-out of 200 (fee 100) held for them by the agent. */
  const heldForSwapped = async (): Promise<{ customer: Customer; pendingId: string }> => {
    const customer = await w.register(`+254712890${String(210 + ++n)}`, "Swap Achieng", PIN);
    await w.fund(customer.walletAccountId, 50_000n);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: customer.msisdn, kind: "sim_swap" })).ok).toBe(true);
    const held = await w.askCashOut(agent.id, customer.msisdn, 200n);
    if (!held.ok) throw new Error(held.code);
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(300n);
    return { customer, pendingId: held.pending.pendingId };
  };
  const approve = (customer: Customer, pendingId: string) => w.services.agents.approveCashOut({ pendingId, customerId: customer.id, customerPin: PIN });

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-approval-abandoned");
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: "+254712890201", storeNumber: "728902", name: "Duka Abandon", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    agent = made.agent;
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  it("voids the holds as soon as the approval's post is abandoned", async () => {
    const { customer, pendingId } = await heldForSwapped();
    await failing(["post"], () => expect(approve(customer, pendingId)).rejects.toThrow(/store unavailable/));
    // The funds are free at once, nothing reached the float, and the request is over, not counted.
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(0n);
    expect((await w.ledger.getAccount(agent.floatAccountId))?.creditsPending).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("cancelled");
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
    expect(await approve(customer, pendingId)).toEqual({ ok: false, code: "pending_not_found" });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });

  it("voids them on a retried approval when the void failed too", async () => {
    const { customer, pendingId } = await heldForSwapped();
    await failing(["post", "void"], () => expect(approve(customer, pendingId)).rejects.toThrow(/store unavailable/));
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(300n);
    // The retry: the post is refused for good, so the holds are voided now.
    expect(await approve(customer, pendingId)).toEqual({ ok: false, code: "request_abandoned" });
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(0n);
    expect((await w.ledger.getAccount(agent.floatAccountId))?.creditsPending).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("cancelled");
    expect(await approve(customer, pendingId)).toEqual({ ok: false, code: "pending_not_found" });
  });
});
