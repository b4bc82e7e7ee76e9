// Two agent cash-out requests with the same request id and different content, racing, over real
// PostgreSQL: both read "no record yet", one writes the record, the other finds it written. The
// one that did not write it must not put its own hold in the ledger under that id: the customer
// approves what the record says, and the approval posts whatever hold the id names.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CashOutAdmission, CashOutInsert, CashOutRecord } from "../../src/core/agents/ports.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

/** The real store, with the record's insert held until `before` opens; `after` opens once it is written. */
class GatedStore extends SqlAgentStore {
  before: Promise<void> = Promise.resolve();
  reached = gate();
  written = gate();
  hold: Promise<void> = Promise.resolve();
  override async insertCashOut(r: CashOutRecord, admission: CashOutAdmission): Promise<CashOutInsert> {
    this.reached.open();
    await this.before;
    const out = await super.insertCashOut(r, admission);
    this.written.open();
    await this.hold;
    return out;
  }
}

describe("agents: one cash-out request id raced with different content", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let payer: Customer;
  let stranger: Customer;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-id-race");
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: "+254712720100", storeNumber: "727201", name: "Duka Race", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    agent = made.agent;
    payer = await w.register("+254712720101", "Neema Achieng", "6183");
    stranger = await w.register("+254712720102", "Juma Kariuki", "7294");
    await w.fund(payer.walletAccountId, 50_000n);
    await w.fund(stranger.walletAccountId, 50_000n);
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  /** A writes the record, B finds it written and reaches the ledger first; A goes on once B answered. */
  type Ask = { customer: Customer; amountMinor: bigint; timeoutSec?: number };
  async function race(a: Ask, b: Ask) {
    const id = uuidv7();
    const storeA = new GatedStore(w.test.db);
    const storeB = new GatedStore(w.test.db);
    storeA.before = storeB.reached.opened;
    storeB.before = storeA.written.opened;
    const bDone = gate();
    storeA.hold = bDone.opened;
    const ask = (store: GatedStore, p: Ask) =>
      w.agentsOver(store).startCashOut({ id, agentId: agent.id, customerQuery: p.customer.msisdn, amountMinor: p.amountMinor, agentPin: AGENT_PIN, timeoutSec: p.timeoutSec });
    const first = ask(storeA, a);
    const second = ask(storeB, b).finally(() => bDone.open());
    return { id, first: await first, second: await second };
  }

  it("a racing request for another customer is refused as request_id_reused, and the first customer's approval cannot debit the other", async () => {
    const strangerBefore = await w.balance(stranger.walletAccountId);
    const { first, second } = await race({ customer: payer, amountMinor: 1_000n }, { customer: stranger, amountMinor: 1_000n });
    expect(second).toEqual({ ok: false, code: "request_id_reused" });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(await w.balance(stranger.walletAccountId)).toBe(strangerBefore);
    const approved = await w.services.agents.approveCashOut({ pendingId: first.pending.pendingId, customerId: payer.id, customerPin: "6183" });
    expect(approved.ok).toBe(true);
    expect(await w.balance(stranger.walletAccountId)).toBe(strangerBefore);
  });

  it("a racing request for a larger amount is refused, and the approval moves the amount the customer was shown", async () => {
    const before = await w.balance(payer.walletAccountId);
    const { first, second } = await race({ customer: payer, amountMinor: 2_000n }, { customer: payer, amountMinor: 9_000n });
    expect(second).toEqual({ ok: false, code: "request_id_reused" });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const [shown] = await w.services.agents.pendingCashOuts(payer.id).then((l) => l.filter((p) => p.pendingId === first.pending.pendingId));
    expect(shown?.amountMinor).toBe(2_000n);
    const approved = await w.services.agents.approveCashOut({ pendingId: first.pending.pendingId, customerId: payer.id, customerPin: "6183" });
    expect(approved.ok).toBe(true);
    // 2,000 and its fee of 100, not 9,000.
    expect(await w.balance(payer.walletAccountId)).toBe(before - 2_100n);
  });

  it("a racing request that differs only in its timeout is refused before the ledger; the record's own request holds, and the customer sees and can approve it", async () => {
    const before = await w.balance(payer.walletAccountId);
    const { first, second } = await race({ customer: payer, amountMinor: 3_000n, timeoutSec: 300 }, { customer: payer, amountMinor: 3_000n, timeoutSec: 120 });
    // The second finds the first's record, whose timeout is another: another request under the id,
    // refused before it holds anything (until 2026-11-30 it made the hold with its own timeout,
    // ending at another time than the record said, and the first was refused instead).
    expect(second).toEqual({ ok: false, code: "request_id_reused" });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const pendingId = first.pending.pendingId;
    // Its own timeout, less the seconds its call spent between recording the request and the ledger.
    expect((await w.ledger.getTransfer(pendingId))?.timeoutSec).toBeGreaterThan(120);
    expect((await w.services.agents.pendingCashOuts(payer.id)).map((p) => p.pendingId)).toContain(pendingId);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("pending");
    const approved = await w.services.agents.approveCashOut({ pendingId, customerId: payer.id, customerPin: "6183" });
    expect(approved.ok).toBe(true);
    expect(await w.balance(payer.walletAccountId)).toBe(before - 3_100n);
  });
});
