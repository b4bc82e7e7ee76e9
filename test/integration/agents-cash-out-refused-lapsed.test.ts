// A retry of an agent's cash-out request that the ledger refused (here: the customer's funds) must
// get the first call's answer again, deadline or not: the agent's app retries a request id until
// it hears an answer, and an idempotent retry answers the same. Once the request's deadline had
// passed, the retry was answered pending_expired instead (it settled the hold's id, found it
// refused for good, and took that for "never made"). Over real PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { CashOutState } from "../../src/core/agents/types.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

/** The real store; the call dies right after the ledger's refusal, before settling the record. */
class DiesBeforeSettling extends SqlAgentStore {
  override async settleCashOut(): Promise<boolean> {
    throw new Error("the process died here");
  }
  override async deleteRefusedCashOut(): Promise<void> {
    throw new Error("the process died here");
  }
}

describe("agents: a refused cash-out request retried after its deadline", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let customer: Customer;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-co-refused-lapsed");
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: "+254712890101", storeNumber: "728901", name: "Duka Lapsed", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    agent = made.agent;
    customer = await w.register("+254712890102", "Zawadi Otieno", "6184");
    await w.fund(customer.walletAccountId, 3_000n);
  });
  afterEach(async () => {
    w.clock.offsetMs = 0;
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  const ask = (id: string) => ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 60 });
  const state = async (id: string): Promise<CashOutState | undefined> => (await w.services.agents.cashOutStatus(cashOutPendingId(id)))?.state;

  it("answers the ledger's refusal again, not pending_expired, and holds nothing", async () => {
    const id = uuidv7();
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await state(id)).toBe("refused");
    // Before the deadline: the same answer (as agents-cash-out-refused checks).
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    w.clock.offsetMs = 61_000;
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await state(id)).toBe("refused");
    expect(await w.ledger.getTransfer(cashOutPendingId(id))).toBeNull();
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(3_000n);
  });

  it("answers the refusal of a first call that died before settling its record, and settles it as refused", async () => {
    const id = uuidv7();
    await expect(w.agentsOver(new DiesBeforeSettling(w.test.db)).startCashOut(ask(id))).rejects.toThrow("the process died here");
    expect(await state(id)).toBe("pending");
    w.clock.offsetMs = 61_000;
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await state(id)).toBe("refused");
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await w.ledger.getTransfer(cashOutPendingId(id))).toBeNull();
    expect((await w.ledger.getAccount(customer.walletAccountId))?.debitsPending).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(3_000n);
  });
});
