// Closing an agent, over real PostgreSQL: the close must be serialised with a customer's
// withdrawal at that agent (either the withdrawal posts first and the close is refused for the
// float it brought, or the close comes first and the withdrawal is refused), and a closed agent's
// device keys must stop working. Races are driven with gated stores (the real SqlAgentStore, held
// at a chosen call until the test lets it go) and with concurrent calls repeated.
import express from "express";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import type { CloseAgentOutcome } from "../../src/core/agents/ports.js";
import type { Agent, AgentLimits, AgentStatus } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { agentApiRouter } from "../../src/http/agent/router.js";
import { SqlAgentStore } from "../../src/infra/db/agent-store.js";
import { SqlAgentDeviceKeyStore } from "../../src/infra/db/agent-device-key-store.js";
import { AgentDeviceKeys } from "../../src/core/agents/device-keys.js";
import { createLogger } from "../../src/infra/log.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

/** The real store; a withdrawal's plan is held after it read the agent by store number. */
class WithdrawalHeldAfterRead extends SqlAgentStore {
  reached = gate();
  release = gate();
  override async findByStore(storeNumber: string, institutionId: string): Promise<Agent | null> {
    const agent = await super.findByStore(storeNumber, institutionId);
    this.reached.open();
    await this.release.opened;
    return agent;
  }
}

/** The real store; closing is held at its write (the old code checked the balances before it, the new one checks them inside it). */
class CloseHeldAtWrite extends SqlAgentStore {
  reached = gate();
  release = gate();
  override async update(id: string, patch: { status?: AgentStatus; limits?: AgentLimits }, now: Date, audit: (before: Agent) => AuditEntryInput[]): Promise<Agent | null> {
    this.reached.open();
    await this.release.opened;
    return super.update(id, patch, now, audit);
  }
  override async close(id: string, now: Date, audit: (before: Agent, revokedKeyIds: string[]) => AuditEntryInput[]): Promise<CloseAgentOutcome> {
    this.reached.open();
    await this.release.opened;
    return super.close(id, now, audit);
  }
}

describe("agents: closing an agent", () => {
  let w: AgentsWorld;
  let customer: Customer;
  let n = 0;
  const CUSTOMER_PIN = "6183";

  beforeAll(async () => {
    w = await openAgentsWorld("agents-close");
    customer = await w.register("+254712750101", "Neema Achieng", CUSTOMER_PIN);
    await w.fund(customer.walletAccountId, 1_000_000n);
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  /** An active agent with an empty float and commission (closable as it stands). */
  async function emptyAgent(): Promise<Agent> {
    n++;
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: `+2547127500${String(n).padStart(2, "0")}`, storeNumber: String(727500 + n), name: `Duka Close ${n}`,
      location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    return made.agent;
  }

  const withdrawal = (agent: Agent, amountMinor = 5_000n) => ({
    id: uuidv7(), customerId: customer.id, agentNumber: agent.msisdn, storeNumber: agent.storeNumber, amountMinor, customerPin: CUSTOMER_PIN, channel: "ussd" as const,
  });

  it("a withdrawal that read the agent active before the close is refused by the ledger once the close is in: no float lands on a closed agent", async () => {
    const agent = await emptyAgent();
    const store = new WithdrawalHeldAfterRead(w.test.db);
    const before = await w.balance(customer.walletAccountId);
    const withdrawing = w.agentsOver(store).withdraw(withdrawal(agent));
    await store.reached.opened;
    expect(await w.services.agents.setStatus(agent.id, "closed", BANK)).toMatchObject({ ok: true, agent: { status: "closed" } });
    store.release.open();
    expect(await withdrawing).toEqual({ ok: false, code: "agent_unavailable" });
    expect(await w.balance(agent.floatAccountId)).toBe(0n);
    expect(await w.balance(agent.commissionAccountId)).toBe(0n);
    expect(await w.balance(customer.walletAccountId)).toBe(before);
    expect((await w.services.agents.get(agent.id))?.status).toBe("closed");
  });

  it("a withdrawal that posts between the close's balance check and its write makes the close refused: the agent stays active with its float", async () => {
    const agent = await emptyAgent();
    const store = new CloseHeldAtWrite(w.test.db);
    const closing = w.agentsOver(store).setStatus(agent.id, "closed", BANK);
    await store.reached.opened;
    expect(await w.services.agents.withdraw(withdrawal(agent))).toMatchObject({ ok: true, amountMinor: 5_000n });
    store.release.open();
    expect(await closing).toEqual({ ok: false, code: "agent_has_balance" });
    const after = await w.services.agents.get(agent.id);
    expect(after?.status).toBe("active");
    expect(await w.balance(agent.floatAccountId)).toBe(5_000n);
    // The float can still be taken out (the agent is not closed), and the commission the withdrawal
    // earned still stands in the way of a close.
    expect(await w.services.agents.withdrawFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 5_000n, actor: BANK })).toMatchObject({ ok: true });
    expect(await w.balance(agent.commissionAccountId)).toBeGreaterThan(0n);
    expect(await w.services.agents.setStatus(agent.id, "closed", BANK)).toEqual({ ok: false, code: "agent_has_balance" });
  });

  it("a close and a withdrawal made at once, again and again: never both done, and a closed agent never holds float", async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round++) {
      const agent = await emptyAgent();
      const [withdrawn, closed] = await Promise.all([
        w.services.agents.withdraw(withdrawal(agent, 1_000n)),
        w.services.agents.setStatus(agent.id, "closed", BANK),
      ]);
      outcomes.push(`${withdrawn.ok ? "withdrawn" : withdrawn.code}/${closed.ok ? "closed" : closed.code}`);
      expect([withdrawn.ok, closed.ok], outcomes.join(" ")).not.toEqual([true, true]);
      const status = (await w.services.agents.get(agent.id))?.status;
      const float = await w.balance(agent.floatAccountId);
      if (status === "closed") expect(float).toBe(0n);
      else expect(float).toBe(1_000n);
    }
  });

  it("a closed agent's device keys authenticate no more, over the agent API too; reopened, the agent takes float again but its old keys stay revoked", async () => {
    const agent = await emptyAgent();
    const issued = await w.services.agentKeys.issue(agent.id, w.institutionId, "POS 1", BANK);
    if (!issued.ok) throw new Error(issued.code);
    const app = express().use(agentApiRouter({ agents: w.services.agents, keys: w.services.agentKeys, logger: createLogger("silent") }));
    const float = () => request(app).get("/agent/v1/float").set("Authorization", `Bearer ${issued.secret}`);
    expect((await float()).status).toBe(200);
    expect((await w.services.agentKeys.authenticate(issued.secret))?.id).toBe(agent.id);
    expect(await w.services.agents.setStatus(agent.id, "closed", BANK)).toMatchObject({ ok: true });
    expect(await w.services.agentKeys.authenticate(issued.secret)).toBeNull();
    for (const path of ["/agent/v1/float", "/agent/v1/me", "/agent/v1/commission", "/agent/v1/transactions/today"]) {
      const answer = await request(app).get(path).set("Authorization", `Bearer ${issued.secret}`);
      expect([path, answer.status, answer.body.error?.code]).toEqual([path, 401, "unauthenticated"]);
    }
    const keys = await w.services.agentKeys.list(agent.id, w.institutionId);
    expect(keys?.map((k) => k.revokedAt !== null)).toEqual([true]);
    // A closed agent's float takes nothing, from the ledger's side too.
    const [floatAccount] = await w.ledger.getAccounts([agent.floatAccountId]);
    expect(floatAccount?.status).toBe("closed");
    expect(await w.services.agents.topUpFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 100n, actor: BANK })).toEqual({ ok: false, code: "agent_unavailable" });
    // Reopened by the bank: the accounts take money again; the old device stays locked out.
    expect(await w.services.agents.setStatus(agent.id, "active", BANK)).toMatchObject({ ok: true, agent: { status: "active" } });
    expect(await w.services.agents.topUpFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 100n, actor: BANK })).toMatchObject({ ok: true });
    expect(await w.services.agentKeys.authenticate(issued.secret)).toBeNull();
    expect((await float()).status).toBe(401);
  });

  it("a device key issued by a call that read the agent before its close is refused, and stays out after a reopening", async () => {
    const agent = await emptyAgent();
    // The issue read the agent while it was active; the close commits before the issue writes.
    const readBeforeClose = new AgentDeviceKeys({ keys: new SqlAgentDeviceKeyStore(w.test.db), agents: { get: async () => agent } });
    expect(await w.services.agents.setStatus(agent.id, "closed", BANK)).toMatchObject({ ok: true });
    expect(await readBeforeClose.issue(agent.id, w.institutionId, "POS late", BANK)).toEqual({ ok: false, code: "agent_unavailable" });
    expect(await w.services.agents.setStatus(agent.id, "active", BANK)).toMatchObject({ ok: true });
    expect(await w.services.agentKeys.list(agent.id, w.institutionId)).toEqual([]);
  });
});
