import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import { addUsage, evaluateLimits } from "../../src/core/limits/evaluate.js";
import { periodKeys } from "../../src/core/limits/periods.js";
import { defaultPolicy } from "../../src/core/limits/security-levels.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { SqlFeeScheduleStore } from "../../src/infra/db/fee-store.js";
import {
  SqlLimitPolicyStore,
  loadUsageCounters,
  saveUsageCounters,
  usageCounterKey,
  type UsageCounter,
} from "../../src/infra/db/limit-policy-store.js";
import { STORE_KINDS, openTestDb, type TestDb } from "../helpers/db.js";

const noAudit = (): AuditEntryInput[] => [];
const POLICY: LimitPolicy = { maxPerTransactionMinor: 3_000n, maxDailyAmountMinor: 10_000n, maxDailyCount: 50, maxMonthlyAmountMinor: 40_000n, maxBalanceMinor: 100_000n };

describe.each(STORE_KINDS)("policy stores (%s)", (kind) => {
  let test: TestDb;
  let institutionId: string;

  beforeAll(async () => {
    test = await openTestDb(kind, { maxConnections: 60 });
    institutionId = randomUUID();
    await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'bank-ke', 'Bank', 'KES', 'Africa/Nairobi')`, [institutionId]);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  it("limit policies: put returns what the cell held; null puts it back to the default", async () => {
    const store = new SqlLimitPolicyStore(test.db);
    const key = { institutionId, channel: "sms" as const, tier: 2 as const };
    expect(await store.put(key, POLICY, new Date(), noAudit)).toBeNull();
    const next = { ...POLICY, maxDailyCount: 3 };
    expect(await store.put(key, next, new Date(), noAudit)).toEqual(POLICY);
    expect((await store.list(institutionId)).map((s) => s.policy)).toEqual([next]);
    expect(await store.put(key, null, new Date(), noAudit)).toEqual(next);
    expect(await store.list(institutionId)).toEqual([]);
  });

  it("the database refuses a policy whose per-transaction limit exceeds its daily one", async () => {
    const store = new SqlLimitPolicyStore(test.db);
    const key = { institutionId, channel: "ussd" as const, tier: 0 as const };
    await expect(store.put(key, { ...defaultPolicy("ussd", 0), maxPerTransactionMinor: 10n ** 12n }, new Date(), noAudit)).rejects.toThrow(/limit_policies_nested/);
  });

  it("fee schedules keep amounts above 2^53 exactly and return bands in order", async () => {
    const store = new SqlFeeScheduleStore(test.db);
    const bands = [
      { minMinor: 1n, maxMinor: 9_007_199_254_740_992n, feeMinor: 1n },
      { minMinor: 9_007_199_254_740_993n, maxMinor: 9_223_372_036_854_775_807n, feeMinor: 9_007_199_254_740_993n },
    ];
    await store.put(institutionId, "bill", { type: "bill", bands, agentShareBps: 1 }, new Date(), noAudit);
    expect((await store.get(institutionId, "bill"))!.bands).toEqual(bands);
  });

  it("usage counters: absolute writes, per account and period, checked format", async () => {
    const account = randomUUID();
    const day = { accountId: account, periodKey: "2026-11-25", amountMinor: 500n, count: 1 };
    await test.db.transaction((tx) => saveUsageCounters(tx, [day, { ...day, periodKey: "2026-11" }, { ...day, amountMinor: 700n, count: 2 }]));
    const loaded = await loadUsageCounters(test.db, [day, { accountId: account, periodKey: "2026-11" }, { accountId: account, periodKey: "2026-10" }]);
    expect(loaded.get(usageCounterKey(account, "2026-11-25"))).toEqual({ ...day, amountMinor: 700n, count: 2 });
    expect(loaded.get(usageCounterKey(account, "2026-11"))).toEqual({ ...day, periodKey: "2026-11" });
    expect(loaded.has(usageCounterKey(account, "2026-10"))).toBe(false);
    await expect(test.db.transaction((tx) => saveUsageCounters(tx, [{ ...day, periodKey: "yesterday" }]))).rejects.toThrow(/limit_usage_period_key_format/);
  });

  // What the ledger's batch does with these pieces, reduced to one transfer per transaction: lock
  // the payer, load its counters, decide with the pure function, write. However many run at once,
  // the sum sent today never passes the daily limit.
  it("50 concurrent transfers against a daily limit: the sum allowed never exceeds it", async () => {
    const account = randomUUID();
    await test.db.query(`INSERT INTO accounts (id, institution_id, currency, kind) VALUES ($1, $2, 'KES', 'customer_wallet')`, [account, institutionId]);
    const { dayKey, monthKey } = periodKeys(new Date(), "Africa/Nairobi");
    const attempt = (amountMinor: bigint) =>
      test.db.transaction(async (tx) => {
        await tx.query(`SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, [account]);
        const counters = await loadUsageCounters(tx, [{ accountId: account, periodKey: dayKey }, { accountId: account, periodKey: monthKey }]);
        const day = counters.get(usageCounterKey(account, dayKey)) ?? { accountId: account, periodKey: dayKey, amountMinor: 0n, count: 0 };
        const month = counters.get(usageCounterKey(account, monthKey)) ?? { accountId: account, periodKey: monthKey, amountMinor: 0n, count: 0 };
        const usage = { dayAmountMinor: day.amountMinor, dayCount: day.count, monthAmountMinor: month.amountMinor };
        const decision = evaluateLimits({ amountMinor, payer: { policy: POLICY, usage } });
        if (!decision.ok) return decision.code;
        const after = addUsage(usage, amountMinor);
        const next: UsageCounter[] = [
          { ...day, amountMinor: after.dayAmountMinor, count: after.dayCount },
          { ...month, amountMinor: after.monthAmountMinor, count: month.count + 1 },
        ];
        await saveUsageCounters(tx, next);
        return "ok";
      });
    const amounts = Array.from({ length: 50 }, (_, i) => BigInt(300 + ((i * 137) % 700)));
    const results = await Promise.all(amounts.map(attempt));
    const allowed = amounts.filter((_, i) => results[i] === "ok").reduce((a, b) => a + b, 0n);
    expect(allowed <= POLICY.maxDailyAmountMinor).toBe(true);
    expect(allowed).toBeGreaterThan(POLICY.maxDailyAmountMinor - 1_000n);
    expect(new Set(results)).toEqual(new Set(["ok", "daily_amount_exceeded"]));
    const stored = await loadUsageCounters(test.db, [{ accountId: account, periodKey: dayKey }]);
    expect(stored.get(usageCounterKey(account, dayKey))).toMatchObject({ amountMinor: allowed, count: results.filter((r) => r === "ok").length });
  });
});
