/**
 * What an agent learns of a customer's state before its PIN: nothing a number never known would
 * not say. A customer's wallet frozen in the ledger (the customer still active) is not read before
 * the agent's PIN at all: lookup, quotes and a request with a wrong PIN answer as for any customer.
 * A customer the bank blocked after the agent was shown their name: the agent's cash-out quote,
 * which carries the customer's id from that lookup (the USSD cash-out flow), answers as for an
 * unknown customer, as the lookup itself now would (it said customer_unavailable). The customer's
 * own withdrawal quote still tells them their own state. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Agent } from "../../src/core/agents/types.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const WRONG_PIN = "0000";

describe("a customer's state, before the agent's PIN (postgres)", () => {
  let w: AgentsWorld;
  let agent: Agent;
  let plain: Customer;
  let frozen: Customer;
  let blocked: Customer;

  beforeAll(async () => {
    w = await openAgentsWorld("state-before-pin");
    plain = await w.register("0712934001", "Pendo Mutua", "6284");
    frozen = await w.register("0712934002", "Rehema Atieno", "7391");
    blocked = await w.register("0712934003", "Simba Kariuki", "8142");
    for (const c of [plain, frozen, blocked]) await w.fund(c.walletAccountId, 50_000n);
    await w.test.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1::uuid", [frozen.walletAccountId]);
    agent = await w.newAgent();
  });
  afterAll(async () => {
    await w?.close();
  });

  /** Everything an agent (a fresh one: wrong PINs add up) may ask about a customer without its PIN, names masked out. */
  async function beforePin(c: Customer): Promise<unknown[]> {
    const { agents } = w.services;
    const agent = await w.newAgent();
    const answers = [
      await agents.lookupCustomer(agent.id, c.msisdn),
      await agents.quoteCashIn(agent.id, c.msisdn, 1_000n),
      await agents.quoteWithdraw(c.id, agent.msisdn, agent.storeNumber, 1_000n, "agent", "agent"),
      await agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: c.msisdn, amountMinor: 1_000n, agentPin: WRONG_PIN, channel: "agent" }),
      await agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: c.msisdn, amountMinor: 1_000n, agentPin: WRONG_PIN, channel: "agent" }),
    ];
    return JSON.parse(JSON.stringify(answers, (k, v) => (["maskedName", "customerId", "agentName", "storeNumber"].includes(k) ? "…" : typeof v === "bigint" ? v.toString() : v)));
  }

  it("a frozen wallet is answered as any customer's", async () => {
    const answers = await beforePin(plain);
    expect(answers[0]).toMatchObject({ ok: true });
    expect(answers.at(-1)).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(await beforePin(frozen)).toEqual(answers);
  });

  it("the agent's cash-out quote for a customer blocked since the lookup says what an unknown customer gets", async () => {
    const { agents } = w.services;
    const quote = (customerId: string) => agents.quoteWithdraw(customerId, agent.msisdn, agent.storeNumber, 1_000n, "agent", "agent");
    expect(await quote(blocked.id)).toMatchObject({ ok: true });
    const bank = { actorType: "bank_user" as const, actorId: "apikey:test", channel: "admin" as const, institutionId: w.institutionId };
    expect((await w.services.directory.setStatus(bank, blocked.id, "blocked")).ok).toBe(true);
    const unknown = await quote(uuidv7());
    expect(unknown).toEqual({ ok: false, code: "customer_not_found" });
    expect(await quote(blocked.id)).toEqual(unknown);
    expect(await agents.lookupCustomer(agent.id, blocked.msisdn)).toEqual(unknown);
    // Their own withdrawal quote tells the customer their own state.
    expect(await agents.quoteWithdraw(blocked.id, agent.msisdn, agent.storeNumber, 1_000n)).toEqual({ ok: false, code: "customer_unavailable" });
  });
});
