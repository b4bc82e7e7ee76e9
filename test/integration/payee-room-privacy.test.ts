// Nobody learns a stranger's balance from a refusal that moves nothing: a payee's room under its
// wallet cap (its balance) is not told to a payer who could not pay anyway, and an agent asking
// for a cash-out hears its own float's limits before anything about the customer's funds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { LimitPolicies } from "../../src/core/limits/policies.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "../integration/agents-fixture.js";

describe("p2p: a payer who can fund the amount but not its fee", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  let institutionId: string;
  let bankAccountId: string;
  const balance = async (accountId: string) => {
    const a = await ledger.getAccount(accountId);
    return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
  };
  const fund = (accountId: string, amountMinor: bigint) =>
    ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: accountId, amountMinor, code: "cash_in" });

  beforeAll(async () => {
    test = await openTestDb("postgres", { maxConnections: 8 });
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    services = buildServices(test.db, ledger, { schema: test.schema });
    ({ institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "rv-ke", "Review KE"));
    await services.fees.put(institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor: 1_500n }] }, new Date(), () => []);
  });
  afterAll(async () => {
    await ledger.close();
    await services.close();
    await test.cleanup();
  });

  it("hears insufficient funds whatever the payee's room, so the payee's balance stays unknown", async () => {
    const prober = await registerWithPin(services, institutionId, { msisdn: "0712399001", name: "Prober", pin: "3816" });
    const nearlyFull = await registerWithPin(services, institutionId, { msisdn: "0712399002", name: "Nearly Full", pin: "5903" });
    const roomy = await registerWithPin(services, institutionId, { msisdn: "0712399003", name: "Roomy", pin: "5903" });
    const cap = (await new LimitPolicies(services.limits).walletCap(institutionId, 0)).maxBalanceMinor;
    await fund(nearlyFull.walletAccountId, cap - 18_000n); // room 18,000
    await fund(roomy.walletAccountId, cap - 25_000n); // room 25,000
    await fund(prober.walletAccountId, 20_000n); // can pay 19,000 but not 19,000 + 1,500 fee
    const pay = (payee: string) => services.payments.sendP2P({ payerCustomerId: prober.id, payee, amountMinor: 19_000n, channel: "ussd", paymentId: uuidv7(), pin: "3816" });
    const a = await pay(nearlyFull.msisdn);
    const b = await pay(roomy.msisdn);
    expect(a).toEqual({ ok: false, code: "insufficient_funds" });
    expect(b).toEqual({ ok: false, code: "insufficient_funds" });
    expect(await balance(prober.walletAccountId)).toBe(20_000n);
    // With the fee covered, the cap answers (after the PIN), without the room.
    await fund(prober.walletAccountId, 1_000n);
    expect(await pay(nearlyFull.msisdn)).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await pay(roomy.msisdn)).toMatchObject({ ok: true });
  });
});

describe("agent cash-out: the agent asks", () => {
  let w: AgentsWorld;
  beforeAll(async () => {
    w = await openAgentsWorld("rv-agents");
  });
  afterAll(async () => {
    await w.close();
  });

  it("an agent whose float is at its cap hears that for every amount, never whether the customer holds it", async () => {
    const agent = await w.newAgent(20_000n);
    expect((await w.services.agents.setLimits(agent.id, { maxFloatBalanceMinor: 20_000n }, BANK)).ok).toBe(true);
    const victim = await w.register("0712399011", "Victim Person", "6284");
    await w.fund(victim.walletAccountId, 7_000n);
    const probe = async (amountMinor: bigint) =>
      (await w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: victim.msisdn, amountMinor, agentPin: AGENT_PIN })) as { ok: boolean; code?: string };
    const answers: Record<string, string | undefined> = {};
    for (const a of [1_000n, 5_000n, 6_900n, 7_000n, 7_001n, 8_000n, 15_000n]) answers[a.toString()] = (await probe(a)).code;
    // Nothing was held, nothing counted, no prompt: every probe was refused.
    expect(await w.balance(victim.walletAccountId)).toBe(7_000n);
    expect(await w.services.agents.pendingCashOuts(victim.id)).toEqual([]);
    expect(new Set(Object.values(answers))).toEqual(new Set(["float_limit_exceeded"]));
  });
});
