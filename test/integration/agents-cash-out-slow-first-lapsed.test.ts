// An agent's cash-out request whose first call is slow on its way to the ledger (it read its
// deadline as still ahead, then stalled: a slow process, a stuck connection) and is retried after
// that deadline, over real PostgreSQL. The retry settles the hold's id (Ledger.abandon) and is told
// pending_expired; the first call then reaches the ledger and is refused under the abandoned id.
// It took that for a refusal on the agent's side and deleted the request's record, so every later
// retry of the id ran as a new request (its checks, a new record with a new deadline) and was told
// request_abandoned, and the agent's status read no longer knew the request. A request id must be
// one request: every answer after the deadline is the same, expired, with no money moved.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cashOutPendingId } from "../../src/core/agents/cash-out.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { TransferInput } from "../../src/core/ledger/types.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { openCashOutPair, resetAndVerify } from "../helpers/agents-cash-out-pair.js";
import { AGENT_PIN, type AgentsWorld } from "./agents-fixture.js";

const SYSTEM = { actorType: "system" as const, actorId: "test", channel: "system" as const };

/** The real ledger, whose submission of the hold `pendingId` stalls until let go. */
function stallingHold(w: AgentsWorld, pendingId: string) {
  let reached!: () => void;
  let go!: () => void;
  const atLedger = new Promise<void>((r) => (reached = r));
  const gate = new Promise<void>((r) => (go = r));
  const ledger = new Proxy(w.ledger, {
    get(target, prop, receiver) {
      if (prop === "submitLinked") {
        return async (group: TransferInput[]) => {
          if (group[0]?.id === pendingId && group[0].kind === "pending") {
            reached();
            await gate;
          }
          return target.submitLinked(group);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ledger, atLedger, letGo: () => go() };
}

describe("agents: a slow first cash-out call that meets a retry after its deadline", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let customer: Customer;

  beforeAll(async () => {
    ({ w, agent, customer } = await openCashOutPair({
      code: "agents-co-slow-first",
      agent: { msisdn: "+254713100001", storeNumber: "731001", name: "Duka Polepole" },
      customer: { msisdn: "+254713100002", name: "Zawadi Chebet", pin: "6491" },
    }));
  });
  afterEach(() => resetAndVerify(w));
  afterAll(() => w.close());

  const ask = (id: string) => ({ id, agentId: agent.id, customerQuery: customer.msisdn, amountMinor: 5_000n, agentPin: AGENT_PIN, timeoutSec: 60 });
  const pendingDebits = async () => (await w.ledger.getAccount(customer.walletAccountId))?.debitsPending;
  const rows = async (pendingId: string) =>
    (await w.test.db.query<{ state: string; expires_at: Date }>(`SELECT state, expires_at FROM agent_cash_outs WHERE pending_id = $1::uuid`, [pendingId])).rows;

  it("keeps the request's record, answers the first call and every later retry expired, and holds nothing", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    const slow = stallingHold(w, pendingId);
    const first = w.agentsOver(new SqlAgentStore(w.test.db), undefined, slow.ledger).startCashOut(ask(id));
    first.catch(() => undefined);
    await slow.atLedger;
    const [recorded] = await rows(pendingId);
    expect(recorded?.state).toBe("pending");

    w.clock.offsetMs = 61_000;
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    slow.letGo();
    // The first call's hold is refused under the id the retry settled: the request expired.
    expect(await first).toEqual({ ok: false, code: "pending_expired" });
    // The record is the request's, with its first deadline (not deleted, not written anew), settled expired.
    const settled = { ...recorded!, state: "expired" };
    expect(await rows(pendingId)).toEqual([settled]);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("expired");

    for (const later of [62_000, 200_000, 900_000]) {
      w.clock.offsetMs = later;
      expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    }
    // Still the same answer once the customer is blocked: the request is decided, its checks are not run again.
    expect((await w.services.directory.setStatus(SYSTEM, customer.id, "blocked")).ok).toBe(true);
    try {
      expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    } finally {
      expect((await w.services.directory.setStatus(SYSTEM, customer.id, "active")).ok).toBe(true);
    }
    expect(await rows(pendingId)).toEqual([settled]);
    expect(await w.ledger.getTransfer(pendingId)).toBeNull();
    expect(await pendingDebits()).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(50_000n);
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
  });

  // A hold id abandoned with no record left (what the old code left behind, or a record read on a
  // clock behind the abandoning call's): the retry writes a record with a fresh deadline and is told
  // expired. Left pending, that record read as pending and counted as a waiting request until then.
  it("settles the record a retry of an abandoned id writes as expired, so it never reads as pending", async () => {
    const id = uuidv7();
    const pendingId = cashOutPendingId(id);
    expect(await w.ledger.abandon(pendingId)).toBe(true);
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    expect((await rows(pendingId)).map((r) => r.state)).toEqual(["expired"]);
    expect((await w.services.agents.cashOutStatus(pendingId))?.state).toBe("expired");
    expect(await w.services.agents.pendingCashOuts(customer.id)).toEqual([]);
    expect(await w.services.agents.startCashOut(ask(id))).toEqual({ ok: false, code: "pending_expired" });
    expect(await pendingDebits()).toBe(0n);
  });
});
