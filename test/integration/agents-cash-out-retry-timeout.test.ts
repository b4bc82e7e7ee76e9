// An agent's cash-out request retried (same request id) shortly before its deadline, over real
// PostgreSQL. The request's deadline is fixed when it is first recorded; a hold made by a retry
// must end by that deadline, not run a full timeout from the retry: past the deadline no approval
// can post it (approveCashOut refuses), yet it would tie up the customer's funds and daily limit.
// The same holds for a first call that reaches the ledger late. A retry asking for another
// timeout is another request under the same id and is refused, holding nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { feeTransferId } from "../../src/core/fees/linked.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { openCashOutPair, resetAndVerify } from "../helpers/agents-cash-out-pair.js";
import { DiesAfterRecord, StallsAfterRecord } from "../helpers/agent-store-faults.js";
import { AGENT_PIN, type AgentsWorld } from "./agents-fixture.js";

describe("agents: a cash-out request retried shortly before its deadline", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let customer: Customer;
  const CUSTOMER_PIN = "6391";

  beforeAll(async () => {
    ({ w, agent, customer } = await openCashOutPair({
      code: "agents-co-retry-timeout",
      agent: { msisdn: "+254712940001", storeNumber: "729401", name: "Duka Saa" },
      customer: { msisdn: "+254712940002", name: "Imani Wekesa", pin: CUSTOMER_PIN },
    }));
  });
  afterEach(() => resetAndVerify(w));
  afterAll(() => w.close());

  const ask = (id: string, timeoutSec = 60) => ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec });
  const pendingDebits = async () => (await w.ledger.getAccount(customer.walletAccountId))?.debitsPending;
  const decline = (pendingId: string) => w.services.agents.declineCashOut({ pendingId, customerId: customer.id });

  it("holds only for the time left to the first deadline when the first call never reached the ledger", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    await expect(w.agentsOver(new DiesAfterRecord(w.test.db)).startCashOut(ask(id))).rejects.toThrow("the process died here");
    const deadline = (await w.services.agents.cashOutStatus(pendingId))?.expiresAt;
    w.clock.offsetMs = 50_000;
    const retried = await w.services.agents.startCashOut(ask(id));
    expect(retried).toMatchObject({ ok: true, pending: { pendingId, state: "pending", expiresAt: deadline } });
    // Ten seconds (less what the calls took) were left of the sixty: the hold and the fee's last
    // that long, not another sixty.
    const hold = await w.ledger.getTransfer(pendingId);
    expect(hold?.timeoutSec).toBeLessThanOrEqual(10);
    expect((await w.ledger.getTransfer(feeTransferId(pendingId)))?.timeoutSec).toBe(hold?.timeoutSec);
    expect(await decline(pendingId)).toMatchObject({ ok: true });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });

  it("answers the hold the first call made as that request, replayed, with its own timeout", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    expect(await w.services.agents.startCashOut(ask(id))).toMatchObject({ ok: true, replayed: false });
    const held = await pendingDebits();
    w.clock.offsetMs = 50_000;
    expect(await w.services.agents.startCashOut(ask(id))).toMatchObject({ ok: true, replayed: true, pending: { pendingId, state: "pending" } });
    expect(await pendingDebits()).toBe(held);
    expect((await w.ledger.getTransfer(pendingId))?.timeoutSec).toBeGreaterThan(10);
    expect(await w.services.agents.approveCashOut({ pendingId, customerId: customer.id, customerPin: CUSTOMER_PIN })).toMatchObject({ ok: true });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n - 5_000n - 100n);
    await w.fund(customer.walletAccountId, 5_100n);
  });

  it("answers a first call still in flight as the retry's hold, which ends by the first deadline", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    const stalling = new StallsAfterRecord(w.test.db);
    const first = w.agentsOver(stalling).startCashOut(ask(id));
    first.catch(() => undefined);
    await stalling.written;
    w.clock.offsetMs = 50_000;
    expect(await w.services.agents.startCashOut(ask(id))).toMatchObject({ ok: true, replayed: false, pending: { state: "pending" } });
    stalling.letGo();
    // The first call finds the hold made with another timeout: the same request, not request_id_reused.
    expect(await first).toMatchObject({ ok: true, replayed: true, pending: { pendingId, state: "pending" } });
    expect((await w.ledger.getTransfer(pendingId))?.timeoutSec).toBeLessThanOrEqual(10);
    expect(await pendingDebits()).toBe(5_100n);
    expect(await decline(pendingId)).toMatchObject({ ok: true });
  });

  it("makes no hold when the first call reaches the ledger after its own deadline, with no retry", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    const stalling = new StallsAfterRecord(w.test.db);
    const first = w.agentsOver(stalling).startCashOut(ask(id));
    await stalling.written;
    w.clock.offsetMs = 61_000;
    stalling.letGo();
    expect(await first).toEqual({ ok: false, code: "pending_expired" });
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    expect(await pendingDebits()).toBe(0n);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("expired");
  });

  it("refuses a retry asking for another timeout as request_id_reused, and holds nothing", async () => {
    // A customer of its own: the requests above, declined or expired, are the first one's three
    // unanswered cash-outs of the day (MAX_UNANSWERED_CASH_OUTS_PER_DAY), after which none is admitted.
    customer = await w.register("+254712940003", "Baraka Wekesa", CUSTOMER_PIN);
    await w.fund(customer.walletAccountId, 50_000n);
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    await expect(w.agentsOver(new DiesAfterRecord(w.test.db)).startCashOut(ask(id))).rejects.toThrow("the process died here");
    const before = await w.services.agents.cashOutStatus(pendingId);
    expect(await w.services.agents.startCashOut(ask(id, 600))).toEqual({ ok: false, code: "request_id_reused" });
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    expect(await pendingDebits()).toBe(0n);
    expect(await w.services.agents.cashOutStatus(pendingId)).toEqual(before);
    // The request as it was sent holds as it would have.
    expect(await w.services.agents.startCashOut(ask(id))).toMatchObject({ ok: true, pending: { state: "pending" } });
    expect(await decline(pendingId)).toMatchObject({ ok: true });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });
});
