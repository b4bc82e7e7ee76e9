// An agent move under SIM-swap cooling whose ledger write threw has its transfer id abandoned
// (Ledger.abandon: recorded as refused for good) before the allowance is given back. A retry of
// the request (the agent's app after a 5xx, the customer's hop again) used to throw "unexpected
// ledger outcome for an agent transaction": a 500 for every retry, so the agent could never learn
// that nothing moved. It is a refusal, request_abandoned (409): nothing moved, send it again under
// a new request id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cashInTransferId } from "../../src/core/agents/cash-in.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

describe("a retry of an agent request whose transfer id was abandoned", () => {
  let w: AgentsWorld;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-abandoned");
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("is refused request_abandoned, moves nothing, and a new request id goes through", async () => {
    const agent = await w.newAgent(100_000n);
    const customer = await w.register("0712840020", "Abandon Cash", "4827");
    const cashIn = (id: string) => w.services.agents.cashIn({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, channel: "agent" });
    const id = uuidv7();
    // What SimSwapGuard.spend does after a move that threw: the move's transfer is refused for good.
    expect(await w.ledger.abandon(cashInTransferId(id))).toBe(true);
    await expect(cashIn(id)).resolves.toMatchObject({ ok: false, code: "request_abandoned" });
    expect(await w.balance(agent.floatAccountId)).toBe(100_000n);
    expect(await w.balance(customer.walletAccountId)).toBe(0n);
    expect(await cashIn(uuidv7())).toMatchObject({ ok: true });
    expect(await w.balance(agent.floatAccountId)).toBe(95_000n);
  });
});
