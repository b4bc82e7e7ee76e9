// The cast of the cash-out retry tests: one agent (onboarded, its float not topped up) and one
// customer holding 50,000, in a test file's own AgentsWorld.
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "../integration/agents-fixture.js";

export interface CashOutPairSpec {
  /** The world's institution code, unique per test file. */
  code: string;
  agent: { msisdn: string; storeNumber: string; name: string };
  customer: { msisdn: string; name: string; pin: string };
}

export interface CashOutPair {
  w: AgentsWorld;
  agent: Agent;
  customer: Customer;
}

export async function openCashOutPair(spec: CashOutPairSpec): Promise<CashOutPair> {
  const w = await openAgentsWorld(spec.code);
  try {
    const made = await w.services.agents.onboard({ institutionId: w.institutionId, ...spec.agent, location: "Kibera", actor: BANK, pin: AGENT_PIN });
    if (!made.ok) throw new Error(made.code);
    const customer = await w.register(spec.customer.msisdn, spec.customer.name, spec.customer.pin);
    await w.fund(customer.walletAccountId, 50_000n);
    return { w, agent: made.agent, customer };
  } catch (e) {
    // The file's afterAll has no world to close when this throws.
    await w.close();
    throw e;
  }
}

/** After each test: the clock back to now, and the ledger checked. */
export async function resetAndVerify(w: AgentsWorld): Promise<void> {
  w.clock.offsetMs = 0;
  await w.verify();
}
