// A customer's daily limit for the agent channel, over real PostgreSQL: an agent's cash-out hold
// counts against it when it is made, and a hold the customer declines or lets lapse gives that
// back, so the customer can still take out their whole daily limit afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { SqlLimitPolicyStore } from "../../src/infra/db/limit-policy-store.js";
import { limitUsageLabels } from "../helpers/limit-usage.js";
import { AGENT_PIN, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const DAILY: LimitPolicy = {
  maxPerTransactionMinor: 10_000n,
  maxDailyAmountMinor: 10_000n,
  maxDailyCount: 10,
  maxMonthlyAmountMinor: 100_000n,
  maxBalanceMinor: 1_000_000n,
};

describe("agent cash-out holds and the customer's daily limit", () => {
  let w: AgentsWorld;

  beforeAll(async () => {
    w = await openAgentsWorld("agents-usage");
    await new SqlLimitPolicyStore(w.test.db).put({ institutionId: w.institutionId, channel: "agent", tier: 0 }, DAILY, new Date(), () => []);
  });
  afterEach(async () => {
    await w.verify();
  });
  afterAll(async () => {
    await w.close();
  });

  const usageOf = (accountId: string) => limitUsageLabels(w.test.db, accountId);

  it("a declined hold and a lapsed one give the limit back: the full daily limit can still be taken out", async () => {
    const agent = await w.newAgent(0n);
    await w.fund(w.bob.walletAccountId, 50_000n);
    const start = (timeoutSec?: number) =>
      w.services.agents.startCashOut({ id: uuidv7(), agentId: agent.id, customerQuery: w.bob.msisdn, amountMinor: 10_000n, agentPin: AGENT_PIN, timeoutSec });

    const declined = await start();
    if (!declined.ok) throw new Error(declined.code);
    expect(await start()).toMatchObject({ ok: false, code: "daily_amount_exceeded" });
    expect(await w.services.agents.declineCashOut({ pendingId: declined.pending.pendingId, customerId: w.bob.id })).toMatchObject({ ok: true });
    expect(await usageOf(w.bob.walletAccountId)).toEqual(["day 0/0", "month 0/0"]);
    expect(await usageOf(agent.floatAccountId)).toEqual(["day:in 0/0", "month:in 0/0"]);

    const ignored = await start(30);
    if (!ignored.ok) throw new Error(ignored.code);
    expect(await w.ledger.expirePendings(new Date(Date.now() + 31_000))).toBeGreaterThanOrEqual(1);
    expect(await usageOf(w.bob.walletAccountId)).toEqual(["day 0/0", "month 0/0"]);

    const taken = await start();
    if (!taken.ok) throw new Error(taken.code);
    expect(await w.services.agents.approveCashOut({ pendingId: taken.pending.pendingId, customerId: w.bob.id, customerPin: "5903" })).toMatchObject({ ok: true, amountMinor: 10_000n });
    expect(await usageOf(w.bob.walletAccountId)).toEqual(["day 10000/1", "month 10000/1"]);
    // A replayed decline of the first hold gives nothing back a second time.
    await w.services.agents.declineCashOut({ pendingId: declined.pending.pendingId, customerId: w.bob.id });
    expect(await usageOf(w.bob.walletAccountId)).toEqual(["day 10000/1", "month 10000/1"]);
    expect(await start()).toMatchObject({ ok: false, code: "daily_amount_exceeded" });
  });
});
