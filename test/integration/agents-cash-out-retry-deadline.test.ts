// An agent's cash-out request retried after its deadline, over real PostgreSQL. The first call
// wrote its record and died before the ledger made the hold (a store that throws once the record
// is written); the retry, with the same request id, comes after the record's deadline. It must be
// refused as expired and hold nothing: a hold made then could never be approved (the record's
// deadline has passed) yet would tie up the customer's funds until the ledger's timeout.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { openCashOutPair, resetAndVerify } from "../helpers/agents-cash-out-pair.js";
import { DiesAfterRecord, StallsAfterRecord } from "../helpers/agent-store-faults.js";
import { AGENT_PIN, type AgentsWorld } from "./agents-fixture.js";

describe("agents: a cash-out request retried after its deadline", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let customer: Customer;
  const CUSTOMER_PIN = "6183";

  beforeAll(async () => {
    ({ w, agent, customer } = await openCashOutPair({
      code: "agents-co-retry-deadline",
      agent: { msisdn: "+254712750201", storeNumber: "727521", name: "Duka Deadline" },
      customer: { msisdn: "+254712750202", name: "Neema Achieng", pin: CUSTOMER_PIN },
    }));
  });
  afterEach(() => resetAndVerify(w));
  afterAll(() => w.close());

  const ask = (id: string) => ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 60 });

  it("is refused as expired and holds nothing when the first call never reached the ledger", async () => {
    const id = uuidv7();
    await expect(w.agentsOver(new DiesAfterRecord(w.test.db)).startCashOut(ask(id))).rejects.toThrow("the process died here");
    const pendingId = cashOutPendingId(id);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("pending");
    const before = await w.ledger.getAccount(customer.walletAccountId);
    w.clock.offsetMs = 61_000;
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    const after = await w.ledger.getAccount(customer.walletAccountId);
    expect(after?.debitsPending).toBe(before?.debitsPending);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("expired");
    // Retried again: the same answer, still nothing held, and the customer has nothing to approve.
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
  });

  it("answers a hold the first call did make as that request, expired, and holds nothing more", async () => {
    const id = uuidv7();
    const first = await w.services.agents.startCashOut(ask(id));
    expect(first).toMatchObject({ ok: true, pending: { state: "pending" }, replayed: false });
    const held = (await w.ledger.getAccount(customer.walletAccountId))?.debitsPending;
    w.clock.offsetMs = 61_000;
    const retried = await w.services.agents.startCashOut(ask(id));
    expect(retried).toMatchObject({ ok: true, pending: { pendingId: cashOutPendingId(id), state: "expired" }, replayed: true });
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(held);
    expect(await w.services.agents.approveCashOut({ pendingId: cashOutPendingId(id), customerId: customer.id, customerPin: CUSTOMER_PIN })).toEqual({ ok: false, code: "pending_expired" });
    expect(await w.services.agents.declineCashOut({ pendingId: cashOutPendingId(id), customerId: customer.id })).toMatchObject({ ok: true });
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
  });

  it("holds nothing when the first call, still in flight, reaches the ledger after a retry was told it expired", async () => {
    // The retry could only read that no hold was there, which proves nothing while the first call
    // may still make it: it did, with its full timeout, under a record already answered expired,
    // which no approval could post, and the customer's funds sat held until the ledger's timeout.
    const id = uuidv7();
    const stalling = new StallsAfterRecord(w.test.db);
    const first = w.agentsOver(stalling).startCashOut(ask(id));
    first.catch(() => undefined);
    await stalling.written;
    const pendingId = cashOutPendingId(id);
    const before = await w.ledger.getAccount(customer.walletAccountId);
    w.clock.offsetMs = 61_000;
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    stalling.letGo();
    await first.catch(() => undefined);
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(before?.debitsPending);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
  });
});
