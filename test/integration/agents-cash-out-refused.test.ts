// Cash-out requests the ledger refuses, over real PostgreSQL: a refusal for the customer's frozen
// wallet counts against the agent like one for the customer's funds (and tells it nothing more
// than before), one for the bank's own fee account does not; a process that dies between the
// ledger's refusal and settling the request's record leaves nothing the customer is offered, and
// the agent's retry of the request id settles the record as the first call would have.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { CashOutRecord } from "../../src/core/agents/ports.js";
import { MAX_UNANSWERED_CASH_OUTS_PER_DAY, type CashOutState } from "../../src/core/agents/types.js";
import { feeTransferId } from "../../src/core/fees/linked.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

/** The real store, except that the next `crashes` calls settling or removing a refused request die. */
class DyingStore extends SqlAgentStore {
  crashes = 0;
  override async settleCashOut(pendingId: string, state: Exclude<CashOutState, "pending">, now: Date): Promise<boolean> {
    this.die();
    return super.settleCashOut(pendingId, state, now);
  }
  override async deleteRefusedCashOut(pendingId: string): Promise<void> {
    this.die();
    return super.deleteRefusedCashOut(pendingId);
  }
  private die(): void {
    if (this.crashes === 0) return;
    this.crashes--;
    throw new Error("the process died here");
  }
}

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
    for (const p of probes) expect(await w.askCashOut(agent.id, frozen.msisdn, p.amountMinor, p.id)).toEqual({ ok: false, code: "customer_unavailable" });
    expect(await w.askCashOut(agent.id, frozen.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    // A retry of a counted request is the same request: its first answer, not counted again.
    expect(await w.askCashOut(agent.id, frozen.msisdn, probes[0]!.amountMinor, probes[0]!.id)).toEqual({ ok: false, code: "customer_unavailable" });
    // Nothing held, nothing shown to the customer; the agent's app reads "refused", with no reason.
    expect(await w.services.agents.pendingCashOuts(frozen.id)).toEqual([]);
    for (const p of probes) expect(await w.services.agents.cashOutStatus(cashOutPendingId(p.id))).toMatchObject({ state: "refused" });
    // The bank unfreezes the wallet: this agent has asked enough today, another agent may ask.
    await setStatus(frozen.walletAccountId, "active");
    expect(await w.askCashOut(agent.id, frozen.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
    const fromOther = await w.askCashOut(other.id, frozen.msisdn, 1_000n);
    if (!fromOther.ok) throw new Error(fromOther.code);
    expect(await w.services.agents.declineCashOut({ pendingId: fromOther.pending.pendingId, customerId: frozen.id })).toMatchObject({ ok: true });
    expect(await w.balance(frozen.walletAccountId)).toBe(50_000n);
  });

  it("a closed wallet counts the same way", async () => {
    const agent = await w.newAgent(0n);
    const closed = await w.register("0712366002", "Jabali Kamau", "6284");
    await setStatus(closed.walletAccountId, "closed");
    for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY; i++) expect(await w.askCashOut(agent.id, closed.msisdn, 1_000n)).toEqual({ ok: false, code: "customer_unavailable" });
    expect(await w.askCashOut(agent.id, closed.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
  });

  it("a request refused for the bank's frozen fee account says bank_account_unavailable and is not counted against the agent", async () => {
    const agent = await w.newAgent(0n);
    const customer = await w.register("0712366003", "Rehema Odhiambo", "6284");
    await w.fund(customer.walletAccountId, 50_000n);
    const held = await w.askCashOut(agent.id, customer.msisdn, 1_000n);
    if (!held.ok) throw new Error(held.code);
    expect(await w.services.agents.declineCashOut({ pendingId: held.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
    const feeIncome = (await w.ledger.getTransfer(feeTransferId(held.pending.pendingId)))!.creditAccountId;
    await setStatus(feeIncome, "frozen");
    try {
      for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY + 1; i++) expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n)).toEqual({ ok: false, code: "bank_account_unavailable" });
    } finally {
      await setStatus(feeIncome, "active");
    }
    // One declined request counted, none of the refused ones: the agent may still ask.
    const again = await w.askCashOut(agent.id, customer.msisdn, 1_000n);
    if (!again.ok) throw new Error(again.code);
    expect(await w.services.agents.declineCashOut({ pendingId: again.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
  });

  describe("an approval refused for a frozen account releases the hold at once (the ledger refuses the posts' ids for good)", () => {
    const records = () => new SqlAgentStore(w.test.db);
    /** A cash-out held for a new customer, its account frozen by `freeze`, approved: what the approval said. */
    async function approveFrozen(msisdn: string, freeze: (p: { agentFloat: string; wallet: string; feeIncome: string }) => string) {
      const agent = await w.newAgent(0n);
      const customer = await w.register(msisdn, "Neema Wanjiru", "6284");
      await w.fund(customer.walletAccountId, 50_000n);
      const requestId = uuidv7();
      const held = await w.askCashOut(agent.id, customer.msisdn, 1_000n, requestId);
      if (!held.ok) throw new Error(held.code);
      const pendingId = held.pending.pendingId;
      const feeIncome = (await w.ledger.getTransfer(feeTransferId(pendingId)))!.creditAccountId;
      const frozen = freeze({ agentFloat: agent.floatAccountId, wallet: customer.walletAccountId, feeIncome });
      const approve = () => w.services.agents.approveCashOut({ pendingId, customerId: customer.id, customerPin: "6284" });
      await setStatus(frozen, "frozen");
      let said;
      try {
        said = await approve();
      } finally {
        await setStatus(frozen, "active");
      }
      // Nothing is held any more, nothing moved, nothing is offered, and a retried approval finds nothing to approve.
      const [wallet] = await w.ledger.getAccounts([customer.walletAccountId]);
      expect(wallet!.debitsPending).toBe(0n);
      expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
      expect(await w.balance(agent.floatAccountId)).toBe(0n);
      expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
      expect(await approve()).toEqual({ ok: false, code: "pending_not_found" });
      // The agent is told to hand over no cash, once, and its app reads the request as over.
      const told = await w.test.db.query<{ template: string }>("SELECT template FROM outbox_messages WHERE msisdn = $1 AND template LIKE 'notice.%'", [agent.msisdn]);
      expect(told.rows.map((r) => r.template)).toEqual(["notice.cash_out_cancelled"]);
      const status = await w.services.agents.cashOutStatus(pendingId);
      // The agent's retry of its request answers the same, and records no new request over the voided hold.
      const retried = await w.askCashOut(agent.id, customer.msisdn, 1_000n, requestId);
      expect(retried).toMatchObject({ ok: true, replayed: true, pending: { state: status?.state } });
      expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
      expect((await w.services.agents.atNumber(customer.msisdn, w.institutionId)).awaitingCashOut).toEqual([]);
      return { said, state: status?.state, record: await records().getCashOut(pendingId) };
    }

    it("the agent's float: agent_unavailable, and the request is cancelled (not counted against the agent)", async () => {
      const { said, state, record } = await approveFrozen("0712366020", (p) => p.agentFloat);
      expect(said).toEqual({ ok: false, code: "agent_unavailable" });
      expect([state, record?.state]).toEqual(["cancelled", "cancelled"]);
    });

    it("the customer's wallet, frozen in the ledger: customer_unavailable, and the request is kept as refused (counted)", async () => {
      const { said, state, record } = await approveFrozen("0712366022", (p) => p.wallet);
      expect(said).toEqual({ ok: false, code: "customer_unavailable" });
      expect([state, record?.state]).toEqual(["refused", "refused"]);
    });

    it("the bank's fee income: bank_account_unavailable, and the request is cancelled", async () => {
      const { said, state, record } = await approveFrozen("0712366023", (p) => p.feeIncome);
      expect(said).toEqual({ ok: false, code: "bank_account_unavailable" });
      expect([state, record?.state]).toEqual(["cancelled", "cancelled"]);
    });

    it("a cancelled request does not count against the agent: three of them, and the agent may still ask", async () => {
      const agent = await w.newAgent(0n);
      const customer = await w.register("0712366031", "Baraka Otieno", "6284");
      await w.fund(customer.walletAccountId, 50_000n);
      for (let i = 0; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY; i++) {
        const held = await w.askCashOut(agent.id, customer.msisdn, 1_000n);
        if (!held.ok) throw new Error(held.code);
        await setStatus(agent.floatAccountId, "frozen");
        try {
          expect(await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: customer.id, customerPin: "6284" })).toEqual({ ok: false, code: "agent_unavailable" });
        } finally {
          await setStatus(agent.floatAccountId, "active");
        }
      }
      const again = await w.askCashOut(agent.id, customer.msisdn, 1_000n);
      expect(again).toMatchObject({ ok: true, pending: { state: "pending" } });
      if (again.ok) expect(await w.services.agents.declineCashOut({ pendingId: again.pending.pendingId, customerId: customer.id })).toMatchObject({ ok: true });
    });
  });

  it("a cash-in or withdrawal refused for the customer's wallet, frozen in the ledger, says customer_unavailable; for the float, agent_unavailable; nothing moves", async () => {
    const agent = await w.newAgent(20_000n);
    const customer = await w.register("0712366021", "Baraka Kiprono", "6284");
    await w.fund(customer.walletAccountId, 50_000n);
    const cashIn = () => w.services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, channel: "agent" });
    const withdraw = () => w.services.agents.withdraw({ id: uuidv7(), customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor: 1_000n, customerPin: "6284", channel: "ussd" });
    for (const [accountId, code] of [[customer.walletAccountId, "customer_unavailable"], [agent.floatAccountId, "agent_unavailable"]] as const) {
      await setStatus(accountId, "frozen");
      try {
        expect(await cashIn()).toEqual({ ok: false, code });
        expect(await withdraw()).toEqual({ ok: false, code });
      } finally {
        await setStatus(accountId, "active");
      }
    }
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect(await w.balance(agent.floatAccountId)).toBe(20_000n);
  });

  describe("a process that dies between the ledger's refusal and settling the record", () => {
    let store: DyingStore;
    beforeAll(() => {
      store = new DyingStore(w.test.db);
    });
    const dyingAsk = (agentId: string, customerQuery: string, amountMinor: bigint, id: string) =>
      w.agentsOver(store).startCashOut({ id, agentId, customerQuery, amountMinor, agentPin: AGENT_PIN });
    /** What a new request from the agent to the customer would be admitted on at `now` (nothing is written). */
    const counts = async (probe: Pick<CashOutRecord, "agentId" | "customerId">, now: Date) => {
      const record = { ...probe, pendingId: uuidv7(), amountMinor: 1n, feeMinor: 0n, commissionMinor: 0n, state: "pending" as const, expiresAt: now, createdAt: now };
      const read = await store.insertCashOut(record, { since: new Date(now.getTime() - 86_400_000), now, admits: () => false });
      return read.outcome === "not_admitted" ? read.counts : null;
    };

    it("for the customer's funds: nothing is offered to the customer, and the retry marks the request refused, counted once", async () => {
      const agent = await w.newAgent(0n);
      const customer = await w.register("0712366004", "Tumaini Njeri", "6284");
      await w.fund(customer.walletAccountId, 500n);
      const id = uuidv7();
      store.crashes = 1;
      await expect(dyingAsk(agent.id, customer.msisdn, 1_000n, id)).rejects.toThrow("the process died here");
      // The window: the ledger refused the hold, the record still says it awaits the customer.
      const pendingId = cashOutPendingId(id);
      expect((await store.getCashOut(pendingId))?.state).toBe("pending");
      expect(await w.ledger.getTransfer(pendingId)).toBeNull();
      // The customer is not offered a cash-out that holds nothing (their PIN would be asked for nothing).
      expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
      // The agent heard nothing and sends the request again: the ledger's first answer, and the record settled.
      expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n, id)).toEqual({ ok: false, code: "insufficient_funds" });
      expect((await store.getCashOut(pendingId))?.state).toBe("refused");
      expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n, id)).toEqual({ ok: false, code: "insufficient_funds" });
      // It counts once, as a refusal (not as one awaiting the customer): two more requests, then no more.
      expect(await counts({ agentId: agent.id, customerId: customer.id }, new Date())).toEqual({ waiting: 0, unanswered: 1 });
      for (let i = 1; i < MAX_UNANSWERED_CASH_OUTS_PER_DAY; i++) expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n)).toEqual({ ok: false, code: "insufficient_funds" });
      expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n)).toEqual({ ok: false, code: "cash_outs_declined" });
      expect(await w.balance(customer.walletAccountId)).toBe(500n);
    });

    it("for the agent's float: the retry removes the record, which never counts against the agent", async () => {
      const agent = await w.newAgent(20_000n);
      expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 20_000n }, BANK)).ok).toBe(true);
      const customer = await w.register("0712366005", "Kito Barasa", "6284");
      await w.fund(customer.walletAccountId, 50_000n);
      const id = uuidv7();
      const pendingId = cashOutPendingId(id);
      store.crashes = 1;
      await expect(dyingAsk(agent.id, customer.msisdn, 1_000n, id)).rejects.toThrow("the process died here");
      expect((await store.getCashOut(pendingId))?.state).toBe("pending");
      expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
      expect(await w.askCashOut(agent.id, customer.msisdn, 1_000n, id)).toMatchObject({ ok: false, code: "float_limit_exceeded" });
      expect(await store.getCashOut(pendingId)).toBeNull();
      // Past the request's deadline, a record left "pending" would count as one the customer let lapse.
      const later = new Date(Date.now() + 3_600_000);
      expect(await counts({ agentId: agent.id, customerId: customer.id }, later)).toEqual({ waiting: 0, unanswered: 0 });
    });

    it("a retry refused as request_id_reused while the first request's hold stands leaves its record alone", async () => {
      const agent = await w.newAgent(0n);
      const customer = await w.register("0712366006", "Sifa Chebet", "6284");
      await w.fund(customer.walletAccountId, 5_000n);
      const id = uuidv7();
      const held = await w.agentsOver(store).startCashOut({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, timeoutSec: 60 });
      if (!held.ok) throw new Error(held.code);
      const retried = await w.agentsOver(store).startCashOut({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 1_000n, agentPin: AGENT_PIN, timeoutSec: 120 });
      expect(retried).toEqual({ ok: false, code: "request_id_reused" });
      expect((await w.services.agents.pendingCashOuts(customer.id)).map((p) => p.pendingId)).toEqual([held.pending.pendingId]);
      expect(await w.services.agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: customer.id, customerPin: "6284" })).toMatchObject({ ok: true });
      expect(await w.balance(customer.walletAccountId)).toBe(3_900n);
    });
  });
});
