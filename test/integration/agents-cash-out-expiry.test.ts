/**
 * A customer's approval whose PIN check outlasts the cash-out's deadline is refused as expired:
 * the agent, told "expired" meanwhile, hands over no cash, so the money must not move either
 * (the ledger's hold lapses a little after the record, and would still have posted).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

let w: AgentsWorld;

beforeAll(async () => {
  w = await openAgentsWorld("cash-out-expiry");
});

afterAll(async () => {
  await w?.verify();
  await w?.close();
});

it("an approval whose PIN check ends after the deadline is refused as expired, and nothing moves", async () => {
  const agent = await w.newAgent(0n);
  await w.fund(w.bob.walletAccountId, 20_000n);
  const held = await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 30 });
  if (!held.ok) throw new Error(held.code);
  // A PIN check that takes two seconds (a lock's wait, a settle batch), the deadline passing meanwhile.
  const pins = w.services.pins;
  const slowPins = new Proxy(pins, {
    get(target, key, receiver) {
      if (key !== "verifyPin") return Reflect.get(target, key, receiver);
      return async (...args: Parameters<typeof pins.verifyPin>) => {
        const answer = await target.verifyPin(...args);
        w.clock.offsetMs += 2_000;
        return answer;
      };
    },
  });
  const agents = w.agentsOver(new SqlAgentStore(w.test.db), slowPins);
  w.clock.offsetMs = held.pending.expiresAt.getTime() - Date.now() - 500;
  const bobBefore = await w.balance(w.bob.walletAccountId);
  const approved = await agents.approveCashOut({ pendingId: held.pending.pendingId, customerId: w.bob.id, customerPin: "5903" });
  expect(approved).toEqual({ ok: false, code: "pending_expired" });
  expect((await w.services.agents.cashOutStatus(held.pending.pendingId))?.state).toBe("expired");
  expect(await w.balance(agent.floatAccountId)).toBe(0n);
  expect(await w.balance(w.bob.walletAccountId)).toBe(bobBefore);
  w.clock.offsetMs = 0;
});
