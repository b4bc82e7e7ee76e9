// One institution with fee schedules for cash-in and cash-out, two customers with PINs, and a
// helper to onboard funded agents, over real PostgreSQL. Each test file gets its own schema.
import { expect } from "vitest";
import { Agents, type AgentsDeps } from "../../src/core/agents/agents.js";
import type { AgentStore } from "../../src/core/agents/ports.js";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { FeeSchedules } from "../../src/core/fees/schedules.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import type { LedgerStore } from "../../src/core/ledger/ports.js";
import { LimitPolicies } from "../../src/core/limits/policies.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

export const BANK = { type: "bank_user" as const, id: "apikey:test" };
export const AGENT_PIN = "4718";

export interface AgentsWorld {
  test: TestDb;
  ledger: Ledger;
  services: CoreServices;
  institutionId: string;
  /** Milliseconds added to the services' clock: moves "now" forward for expiry tests. */
  clock: { offsetMs: number };
  alice: Customer;
  bob: Customer;
  /** An active agent with float, its PIN is AGENT_PIN. */
  newAgent(floatMinor?: bigint, suffix?: number): Promise<Agent>;
  /** The agent asks the customer (number or alias) for a cash-out, with AGENT_PIN. */
  askCashOut(agentId: string, customerQuery: string, amountMinor: bigint, id?: string): ReturnType<Agents["startCashOut"]>;
  register(msisdn: string, name: string, pin: string): Promise<Customer>;
  /** The agents core as services builds it, over another store (one that fails on cue, say), and ledger. */
  agentsOver(store: AgentStore, pins?: CoreServices["pins"], ledger?: AgentsDeps["ledger"]): Agents;
  balance(accountId: string): Promise<bigint>;
  fund(accountId: string, amountMinor: bigint): Promise<void>;
  verify(): Promise<void>;
  close(): Promise<void>;
}

let agentCounter = 0;

/** wrapStore: the ledger's store as the services get it (a test's fault injection around the real one). */
export async function openAgentsWorld(code: string, wrapStore: (store: LedgerStore) => LedgerStore = (s) => s): Promise<AgentsWorld> {
  const test = await openTestDb("postgres", { maxConnections: 24 });
  const ledger = new Ledger(wrapStore(new SqlLedgerStore(test.db)), { isRetryable: isRetryableSqlError });
  const clock = { offsetMs: 0 };
  const services = buildServices(test.db, ledger, { schema: test.schema, clock: () => new Date(Date.now() + clock.offsetMs) });
  const { institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, code, "Agents KE");
  const fund = async (accountId: string, amountMinor: bigint) => {
    const r = await ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: accountId, amountMinor, code: "deposit" });
    expect(r.result).toBe("ok");
  };
  const register = (msisdn: string, name: string, pin: string) => registerWithPin(services, institutionId, { msisdn, name, pin });
  const alice = await register("0712300001", "Alice Wanjiru", "4827");
  const bob = await register("0712300002", "Bob Otieno", "5903");
  const bands = [
    { minMinor: 1n, maxMinor: 10_000n, feeMinor: 100n },
    { minMinor: 10_001n, maxMinor: 10_000_000n, feeMinor: 1_000n },
  ];
  await services.fees.put(institutionId, "cash_in", { type: "cash_in", agentShareBps: 5_000, bands }, new Date(), () => []);
  await services.fees.put(institutionId, "cash_out", { type: "cash_out", agentShareBps: 4_000, bands }, new Date(), () => []);
  const balance = async (accountId: string) => {
    const a = await ledger.getAccount(accountId);
    return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
  };
  const newAgent = async (floatMinor = 100_000n, suffix?: number) => {
    const n = suffix ?? ++agentCounter;
    const made = await services.agents.onboard({
      institutionId, msisdn: `07199${String(n).padStart(5, "0")}`, storeNumber: String(500000 + n), name: `Duka ${n}`, location: "Kibera",
      actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    if (floatMinor > 0n) {
      const topUp = await services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: floatMinor, actor: BANK });
      if (!topUp.ok) throw new Error(topUp.code);
    }
    return made.agent;
  };
  const now = () => new Date(Date.now() + clock.offsetMs);
  const agentsOver = (store: AgentStore, pins = services.pins, over: AgentsDeps["ledger"] = ledger) =>
    new Agents({
      store, ledger: over, directory: services.directory, pins, simSwap: services.simSwap, institutions: services.institutions,
      limits: new LimitPolicies(services.limits, now), fees: new FeeSchedules(services.fees, now), audit: services.audit,
      defaultCountry: async () => "KE", clock: now,
    });
  const askCashOut = (agentId: string, customerQuery: string, amountMinor: bigint, id = uuidv7()) =>
    services.agents.startCashOut({ id, agentId, customerQuery, amountMinor, agentPin: AGENT_PIN });
  return {
    test, ledger, services, institutionId, clock, alice, bob, newAgent, askCashOut, balance, fund, register, agentsOver,
    verify: async () => {
      const report = await verifyLedger(test.db);
      expect(report.violations).toEqual([]);
      expect(report.ok).toBe(true);
    },
    close: async () => {
      await ledger.close();
      await services.close();
      await test.cleanup();
    },
  };
}
