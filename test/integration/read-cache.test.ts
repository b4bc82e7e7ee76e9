// The read-through caches in front of the payment path's configuration, over the real SQL stores.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { CachedFeeScheduleStore, CachedInstitutionStore, CachedLimitPolicyStore, CachedTelcoLookup } from "../../src/infra/cache/cached-stores.js";
import { TtlCache } from "../../src/infra/cache/ttl-cache.js";
import { SqlFeeScheduleStore } from "../../src/infra/db/fee-store.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlLimitPolicyStore } from "../../src/infra/db/limit-policy-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const noAudit = (): AuditEntryInput[] => [];
const POLICY: LimitPolicy = { maxPerTransactionMinor: 3_000n, maxDailyAmountMinor: 10_000n, maxDailyCount: 50, maxMonthlyAmountMinor: 40_000n, maxBalanceMinor: 100_000n };
const schedule = (fee: bigint) => ({ type: "p2p" as const, agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: fee }] });

describe("TtlCache", () => {
  it("shares a load in flight, keeps it for the TTL, forgets failures, and hands out frozen values", async () => {
    let now = 0;
    const cache = new TtlCache<{ n: number }>(1_000, 100, () => now);
    let loads = 0;
    const load = async () => ({ n: ++loads });
    const [a, b] = await Promise.all([cache.get("k", load), cache.get("k", load)]);
    expect([a, b, loads]).toEqual([{ n: 1 }, { n: 1 }, 1]);
    // Nobody can change what the next caller reads: the value is frozen, all the way down.
    expect(() => (a.n = 99)).toThrow(TypeError);
    expect(await cache.get("k", load)).toEqual({ n: 1 });
    const nested = await new TtlCache<{ bands: { fee: number }[] }>(1_000).get("n", async () => ({ bands: [{ fee: 1 }] }));
    expect(() => nested.bands.push({ fee: 2 })).toThrow(TypeError);
    expect(() => (nested.bands[0]!.fee = 3)).toThrow(TypeError);
    now = 1_000;
    expect(await cache.get("k", load)).toEqual({ n: 2 });
    await expect(cache.get("bad", async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("bad", load)).toEqual({ n: 3 });
    cache.invalidate("k");
    expect(await cache.get("k", load)).toEqual({ n: 4 });
    expect(await new TtlCache<{ n: number }>(0).get("k", load)).toEqual({ n: 5 }); // TTL 0: no cache
  });

  it("stays within maxEntries", async () => {
    const cache = new TtlCache<number>(60_000, 3);
    for (let i = 0; i < 10; i++) await cache.get(`k${i}`, async () => i);
    let loads = 0;
    expect(await cache.get("k9", async () => ++loads)).toBe(9);
    expect(await cache.get("k0", async () => ++loads)).toBe(1); // evicted, loaded again
  });
});

describe("cached stores (postgres)", () => {
  let test: TestDb;
  let institutionId: string;
  beforeAll(async () => {
    test = await openTestDb("postgres");
    institutionId = randomUUID();
    await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'cache-bank', 'Bank', 'KES', 'Africa/Nairobi')`, [institutionId]);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  it("a write through the cache is read back at once; a write elsewhere within the TTL", async () => {
    const raw = new SqlFeeScheduleStore(test.db);
    const fees = new CachedFeeScheduleStore(raw, 60_000);
    expect(await fees.get(institutionId, "p2p")).toBeNull();
    await fees.put(institutionId, "p2p", schedule(10n), new Date(), noAudit);
    expect((await fees.get(institutionId, "p2p"))?.bands[0]?.feeMinor).toBe(10n);
    await raw.put(institutionId, "p2p", schedule(20n), new Date(), noAudit); // another process
    expect((await fees.get(institutionId, "p2p"))?.bands[0]?.feeMinor).toBe(10n); // until the TTL runs out
    const short = new CachedFeeScheduleStore(raw, 30);
    expect((await short.get(institutionId, "p2p"))?.bands[0]?.feeMinor).toBe(20n);
    await raw.put(institutionId, "p2p", schedule(30n), new Date(), noAudit);
    await new Promise((r) => setTimeout(r, 60));
    expect((await short.get(institutionId, "p2p"))?.bands[0]?.feeMinor).toBe(30n);

    const limits = new CachedLimitPolicyStore(new SqlLimitPolicyStore(test.db), 60_000);
    expect(await limits.list(institutionId)).toEqual([]);
    await limits.put({ institutionId, channel: "ussd", tier: 0 }, POLICY, new Date(), noAudit);
    expect((await limits.list(institutionId)).map((p) => p.policy)).toEqual([POLICY]);

    const rawTariffs = new SqlTariffStore(test.db);
    const telcos = new CachedTelcoLookup(rawTariffs, 60_000);
    expect(await telcos.findTelco("network_code", "63999")).toBeNull();
    const telco = { id: randomUUID(), code: "cache-telco", name: "Cache Telco", networkCodes: ["63998"], smppLinkIds: [], createdAt: new Date() };
    expect(await rawTariffs.insertTelco(telco, [])).toBe("ok");
    expect((await telcos.findTelco("network_code", "63998"))?.id).toBe(telco.id);
    expect(await telcos.planInEffect(telco.id, new Date())).toBeNull();
    // The telco's timeline is cached: a plan stored to start later applies from its start exactly.
    const t0 = new Date(Date.now() - 60_000);
    const terms = { currency: "KES", perSessionMinor: 100n, perStageMinor: 0n, ceilingMinor: 100n, maxStages: 8, payer: "bank" as const };
    const plan = (name: string, effectiveFrom: Date) => ({ id: randomUUID(), telcoId: telco.id, name, ...terms, effectiveFrom, createdAt: new Date(), updatedAt: new Date() });
    const [now, later] = [plan("now", t0), plan("later", new Date(t0.getTime() + 3_600_000))];
    for (const p of [later, now]) expect(await rawTariffs.insertPlan(p, [])).toBe("ok");
    expect(await telcos.planInEffect(telco.id, new Date())).toBeNull(); // stored elsewhere: seen within the TTL
    const fresh = new CachedTelcoLookup(rawTariffs, 60_000);
    expect(await fresh.planInEffect(telco.id, new Date(t0.getTime() - 1))).toBeNull();
    expect((await fresh.planInEffect(telco.id, t0))?.name).toBe("now");
    expect((await fresh.planInEffect(telco.id, new Date(t0.getTime() + 3_599_999)))?.name).toBe("now");
    expect((await fresh.planInEffect(telco.id, new Date(t0.getTime() + 3_600_000)))?.name).toBe("later");
    for (const at of [t0, new Date(t0.getTime() + 3_600_000), new Date(0)]) {
      expect(await fresh.planInEffect(telco.id, at)).toEqual(await rawTariffs.planInEffect(telco.id, at));
    }

    const institutions = new CachedInstitutionStore(new SqlInstitutionStore(test.db), 60_000);
    expect((await institutions.get(institutionId))?.code).toBe("cache-bank");
    expect(await institutions.get(randomUUID())).toBeNull();
  });
});
