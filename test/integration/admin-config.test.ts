import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { TariffPlans } from "../../src/core/tariffs/plans.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { PLATFORM_KEY, bearer, issueKey, openAdmin, type AdminFixture } from "./admin-fixture.js";

let f: AdminFixture;
beforeAll(async () => {
  f = await openAdmin("postgres");
});
afterAll(async () => {
  await f?.close();
});

interface AuditItem {
  chain: number;
  seq: string;
  occurredAt: string;
  action: string;
  actorType: string;
  actorId: string;
  subject: string | null;
  payload: Record<string, unknown>;
}

async function auditOf(bankId: string, key: string, action: string): Promise<AuditItem[]> {
  const res = await request(f.app).get(`/admin/v1/institutions/${bankId}/audit?action=${action}`).set(...bearer(key));
  expect(res.status).toBe(200);
  return res.body.items as AuditItem[];
}

const tighter = {
  maxPerTransactionMinor: "500000",
  maxDailyAmountMinor: "1000000",
  maxDailyCount: 4,
  maxMonthlyAmountMinor: "5000000",
  maxBalanceMinor: "5000000",
};

describe("institutions", () => {
  it("are created with their own accounts and listed by code; codes are unique", async () => {
    const list = await request(f.app).get("/admin/v1/institutions").set(...bearer(PLATFORM_KEY));
    expect(list.body.items.map((i: { code: string }) => i.code)).toEqual(["bank-a", "bank-b"]);
    const a = list.body.items[0];
    expect(a).toMatchObject({ currency: "KES", timezone: "Africa/Nairobi", accounts: { feeIncome: expect.any(String), bank: expect.any(String) } });
    const account = await f.ledger.getAccount(a.accounts.feeIncome);
    expect(account).toMatchObject({ kind: "fee_income", institutionId: a.id, currency: "KES" });
    const again = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-a", name: "Again", currency: "KES", timezone: "UTC" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("institution_code_taken");
  });

  it("start in English unless created with another language; a bad language is refused and creates nothing", async () => {
    expect((await request(f.app).get(`/admin/v1/institutions/${f.a.id}`).set(...bearer(f.a.admin))).body.language).toBe("en");
    const sw = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-sw", name: "Benki", currency: "TZS", timezone: "Africa/Dar_es_Salaam", language: "sw" });
    expect(sw.status).toBe(201);
    expect(sw.body.language).toBe("sw");
    const bad = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-de", name: "Bank", currency: "EUR", timezone: "UTC", language: "de" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    expect((await request(f.app).get("/admin/v1/institutions").set(...bearer(PLATFORM_KEY))).body.items.map((i: { code: string }) => i.code)).not.toContain("bank-de");
  });

  it("the platform sizes an institution's limit ceilings to its currency (limitUnitMinor); the default keeps the shilling's", async () => {
    const make = (code: string, extra: object) =>
      request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code, name: "Benki", currency: "TZS", timezone: "Africa/Dar_es_Salaam", ...extra });
    for (const limitUnitMinor of ["0", "-5", "2.5", "1000000001", 2000]) {
      const bad = await make("bank-tz-bad", { limitUnitMinor });
      expect(bad.status, String(limitUnitMinor)).toBe(400);
    }
    const tz = await make("bank-tz-units", { limitUnitMinor: "2000" });
    expect([tz.status, tz.body.limitUnitMinor]).toEqual([201, "2000"]);
    expect((await request(f.app).get(`/admin/v1/institutions/${f.a.id}`).set(...bearer(f.a.admin))).body.limitUnitMinor).toBe("100");
    const admin = await issueKey(f.app, PLATFORM_KEY, tz.body.id as string, "admin");
    const cell = `/admin/v1/institutions/${tz.body.id}/limits/ussd/3`;
    // Level 3, tier 3: 250,000 units a transaction, 500,000 a day and in the wallet: TZS 5,000,000 and 10,000,000 here.
    const shown = await request(f.app).get(cell).set(...bearer(admin));
    expect(shown.body.ceiling).toMatchObject({ maxPerTransactionMinor: "500000000", maxDailyAmountMinor: "1000000000", maxBalanceMinor: "1000000000" });
    expect(shown.body.policy.maxPerTransactionMinor).toBe("500000000");
    const policy = { maxPerTransactionMinor: "300000000", maxDailyAmountMinor: "600000000", maxDailyCount: 20, maxMonthlyAmountMinor: "3000000000", maxBalanceMinor: "1000000000" };
    expect((await request(f.app).put(cell).set(...bearer(admin)).send(policy)).status).toBe(200);
    // The same figures at a bank on the default unit are over its ceiling.
    const kes = await request(f.app).put(`/admin/v1/institutions/${f.a.id}/limits/ussd/3`).set(...bearer(f.a.admin)).send(policy);
    expect(kes.status).toBe(400);
  });

  it("the platform corrects an institution's limit unit: the ceilings scale at once, audited; a bank cannot", async () => {
    const made = await request(f.app).post("/admin/v1/institutions").set(...bearer(PLATFORM_KEY)).send({ code: "bank-tz-fix", name: "Benki", currency: "TZS", timezone: "Africa/Dar_es_Salaam" });
    expect([made.status, made.body.limitUnitMinor]).toEqual([201, "100"]);
    const id = made.body.id as string;
    const admin = await issueKey(f.app, PLATFORM_KEY, id, "admin");
    const url = `/admin/v1/institutions/${id}/limit-unit`;
    const cell = `/admin/v1/institutions/${id}/limits/ussd/3`;
    expect((await request(f.app).get(cell).set(...bearer(admin))).body.ceiling.maxPerTransactionMinor).toBe("25000000");
    // Its own bank may not change it, nor may the platform set a unit out of range.
    expect((await request(f.app).put(url).set(...bearer(admin)).send({ limitUnitMinor: "2000" })).status).toBe(403);
    for (const limitUnitMinor of ["0", "2.5", "1000000001", 2000, ""]) {
      expect((await request(f.app).put(url).set(...bearer(PLATFORM_KEY)).send({ limitUnitMinor })).status, String(limitUnitMinor)).toBe(400);
    }
    expect((await request(f.app).put(`/admin/v1/institutions/${"0".repeat(8)}-0000-7000-8000-000000000000/limit-unit`).set(...bearer(PLATFORM_KEY)).send({ limitUnitMinor: "2000" })).status).toBe(404);
    const set = await request(f.app).put(url).set(...bearer(PLATFORM_KEY)).send({ limitUnitMinor: "2000" });
    expect([set.status, set.body.limitUnitMinor]).toEqual([200, "2000"]);
    expect((await request(f.app).get(cell).set(...bearer(admin))).body.ceiling.maxPerTransactionMinor).toBe("500000000");
    // The bank's own figures under the higher ceiling; the unit corrected back down holds them to the lower one.
    const own = { maxPerTransactionMinor: "300000000", maxDailyAmountMinor: "600000000", maxDailyCount: 20, maxMonthlyAmountMinor: "3000000000", maxBalanceMinor: "1000000000" };
    expect((await request(f.app).put(cell).set(...bearer(admin)).send(own)).status).toBe(200);
    expect((await request(f.app).put(url).set(...bearer(PLATFORM_KEY)).send({ limitUnitMinor: "100" })).status).toBe(200);
    const held = (await request(f.app).get(cell).set(...bearer(admin))).body;
    expect(held.policy).toMatchObject({ maxPerTransactionMinor: "25000000", maxDailyAmountMinor: "50000000", maxDailyCount: 20 });
    expect(held.policy.maxPerTransactionMinor).toBe(held.ceiling.maxPerTransactionMinor);
    expect((await request(f.app).put(url).set(...bearer(PLATFORM_KEY)).send({ limitUnitMinor: "2000" })).status).toBe(200);
    const [entry] = await auditOf(id, admin, "admin.institution.set_limit_unit");
    expect(entry).toMatchObject({ subject: id, payload: { before: { limitUnitMinor: "100" }, after: { limitUnitMinor: "2000" } } });
  });

  it("a bank's admin sets its own default language, audited with before and after; operators and other banks cannot", async () => {
    const url = `/admin/v1/institutions/${f.b.id}/language`;
    expect((await request(f.app).put(url).set(...bearer(f.b.operator)).send({ language: "hi" })).status).toBe(403);
    expect((await request(f.app).put(url).set(...bearer(f.a.admin)).send({ language: "hi" })).status).toBe(404);
    const wrong = await request(f.app).put(url).set(...bearer(f.b.admin)).send({ language: "klingon" });
    expect(wrong.status).toBe(400);
    expect((await request(f.app).get(`/admin/v1/institutions/${f.b.id}`).set(...bearer(f.b.admin))).body.language).toBe("en");
    const set = await request(f.app).put(url).set(...bearer(f.b.admin)).send({ language: "hi" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: f.b.id, language: "hi" });
    expect((await request(f.app).get(`/admin/v1/institutions/${f.b.id}`).set(...bearer(f.b.operator))).body.language).toBe("hi");
    const [entry] = await auditOf(f.b.id, f.b.admin, "admin.institution.set_language");
    expect(entry).toMatchObject({ subject: f.b.id, payload: { before: { language: "en" }, after: { language: "hi" } } });
  });

  it("a bank reads its own record", async () => {
    const own = await request(f.app).get(`/admin/v1/institutions/${f.a.id}`).set(...bearer(f.a.operator));
    expect(own.body).toMatchObject({ id: f.a.id, code: "bank-a" });
  });
});

describe("limit policies", () => {
  const cell = () => `/admin/v1/institutions/${f.a.id}/limits/ussd/1`;

  it("the matrix shows 5 channels × 4 tiers with their security levels, all defaults at first", async () => {
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/limits`).set(...bearer(f.a.auditor));
    expect(res.body.items).toHaveLength(20);
    const sms = res.body.items.find((c: { channel: string; tier: number }) => c.channel === "sms" && c.tier === 0);
    expect(sms).toMatchObject({ securityLevel: 2, source: "default", updatedAt: null });
    expect(sms.policy).toEqual(sms.ceiling);
    expect(typeof sms.policy.maxDailyAmountMinor).toBe("string");
  });

  it("an admin tightens a cell; it applies, and the audit entry holds before and after", async () => {
    const before = (await request(f.app).get(cell()).set(...bearer(f.a.admin))).body;
    const res = await request(f.app).put(cell()).set(...bearer(f.a.admin)).send(tighter);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ channel: "ussd", tier: 1, securityLevel: 3, source: "institution", policy: tighter, ceiling: before.ceiling });
    expect((await request(f.app).get(cell()).set(...bearer(f.a.operator))).body.policy).toEqual(tighter);
    const [entry] = await auditOf(f.a.id, f.a.auditor, "limits.policy.set");
    expect(entry).toMatchObject({
      action: "limits.policy.set",
      actorType: "bank_user",
      actorId: expect.stringMatching(/^apikey:/),
      subject: f.a.id,
      payload: { channel: "ussd", tier: 1, before: before.policy, after: tighter, beforeSource: "default", afterSource: "institution" },
    });
  });

  it("a second change records the first as its before; a reset returns to the default", async () => {
    const next = { ...tighter, maxDailyCount: 2 };
    await request(f.app).put(cell()).set(...bearer(f.a.admin)).send(next);
    const reset = await request(f.app).delete(cell()).set(...bearer(f.a.admin));
    expect(reset.body.source).toBe("default");
    const [set] = await auditOf(f.a.id, f.a.admin, "limits.policy.set");
    expect(set!.payload).toMatchObject({ before: tighter, after: next });
    const [resetEntry] = await auditOf(f.a.id, f.a.admin, "limits.policy.reset");
    expect(resetEntry!.payload).toMatchObject({ before: next, after: reset.body.policy, afterSource: "default" });
  });

  it("bank B's matrix is untouched by bank A's changes", async () => {
    await request(f.app).put(cell()).set(...bearer(f.a.admin)).send(tighter);
    const b = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/limits/ussd/1`).set(...bearer(f.b.admin));
    expect(b.body.source).toBe("default");
  });
});

describe("fee schedules", () => {
  const url = () => `/admin/v1/institutions/${f.a.id}/fees/cash_out`;
  const bands = [
    { minMinor: "5000", maxMinor: "10000", feeMinor: "1000" },
    { minMinor: "10001", maxMinor: "250000", feeMinor: "2900" },
    // Above 2^53: amounts survive the round trip exactly as strings. A fee is at most 10^15.
    { minMinor: "250001", maxMinor: "9007199254740993", feeMinor: "1000000000000000" },
  ];

  it("are replaced as a whole, read back exactly, quoted at the band edges, and audited", async () => {
    const put = await request(f.app).put(url()).set(...bearer(f.a.admin)).send({ bands, agentShareBps: 5000 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ type: "cash_out", bands, agentShareBps: 5000 });
    expect((await request(f.app).get(url()).set(...bearer(f.a.auditor))).body.bands).toEqual(bands);
    const quote = (amount: string) => request(f.app).get(`${url()}/quote?amountMinor=${amount}`).set(...bearer(f.a.operator));
    expect((await quote("10000")).body).toMatchObject({ feeMinor: "1000", agentCommissionMinor: "500", totalMinor: "11000" });
    expect((await quote("10001")).body).toMatchObject({ feeMinor: "2900", agentCommissionMinor: "1450" });
    // A fee past the largest payment is refused, and nothing changes.
    const absurd = [...bands.slice(0, 2), { ...bands[2]!, feeMinor: "1000000000000001" }];
    const refused = await request(f.app).put(url()).set(...bearer(f.a.admin)).send({ bands: absurd, agentShareBps: 5000 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ path: "body.bands.2.feeMinor", message: "must not exceed 1000000000000000" }]);
    expect((await request(f.app).get(url()).set(...bearer(f.a.auditor))).body.bands).toEqual(bands);
    const outside = await quote("4999");
    expect(outside.status).toBe(422);
    expect(outside.body.error).toMatchObject({ code: "amount_outside_fee_bands", details: [{ path: "query.amountMinor", message: "must be from 5000 to 9007199254740993" }] });
    const [entry] = await auditOf(f.a.id, f.a.auditor, "fees.schedule.set");
    expect(entry!.payload).toMatchObject({ type: "cash_out", before: null, after: { type: "cash_out", bands, agentShareBps: 5000 } });
  });

  it("a type without a schedule is free; removing one is audited", async () => {
    const free = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/fees/p2p/quote?amountMinor=100`).set(...bearer(f.a.operator));
    expect(free.body).toMatchObject({ feeMinor: "0", band: null });
    expect((await request(f.app).delete(url()).set(...bearer(f.a.admin))).status).toBe(204);
    expect((await request(f.app).get(url()).set(...bearer(f.a.admin))).status).toBe(404);
    const [entry] = await auditOf(f.a.id, f.a.admin, "fees.schedule.remove");
    expect(entry!.payload).toMatchObject({ before: { bands }, after: null });
  });
});

describe("telcos and tariff plans (platform)", () => {
  let telcoId: string;
  let planId: string;
  const plan = {
    name: "TRAI 2026",
    currency: "KES",
    perSessionMinor: "10",
    perStageMinor: "8",
    ceilingMinor: "50",
    maxStages: 8,
    payer: "customer",
    // Not yet in effect: only such a plan's terms may change.
    effectiveFrom: "2099-01-01T00:00:00+05:30",
  };

  it("creates a telco with its identifiers; an identifier belongs to one telco only", async () => {
    const res = await request(f.app).post("/admin/v1/telcos").set(...bearer(PLATFORM_KEY)).send({ code: "safaricom-ke", name: "Safaricom", networkCodes: ["63902"], smppLinkIds: ["smsc-1"] });
    expect(res.status).toBe(201);
    telcoId = res.body.id;
    const clash = await request(f.app).post("/admin/v1/telcos").set(...bearer(PLATFORM_KEY)).send({ code: "airtel-ke", name: "Airtel", networkCodes: ["63902"] });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe("telco_identifier_taken");
    const updated = await request(f.app).put(`/admin/v1/telcos/${telcoId}`).set(...bearer(PLATFORM_KEY)).send({ name: "Safaricom PLC", networkCodes: ["63902", "63907"] });
    expect(updated.body).toMatchObject({ name: "Safaricom PLC", networkCodes: ["63902", "63907"], smppLinkIds: [] });
    expect((await request(f.app).get(`/admin/v1/telcos/${telcoId}`).set(...bearer(f.a.auditor))).body.networkCodes).toEqual(["63902", "63907"]);
  });

  it("creates, reads, updates and deletes a plan, auditing each change with before and after", async () => {
    const created = await request(f.app).post("/admin/v1/tariff-plans").set(...bearer(PLATFORM_KEY)).send({ telcoId, ...plan });
    expect(created.status).toBe(201);
    planId = created.body.id;
    expect(created.body).toMatchObject({ ...plan, telcoId, effectiveFrom: "2098-12-31T18:30:00.000Z" });
    const twin = await request(f.app).post("/admin/v1/tariff-plans").set(...bearer(PLATFORM_KEY)).send({ telcoId, ...plan });
    expect(twin.body.error.code).toBe("effective_from_taken");
    const updated = await request(f.app).put(`/admin/v1/tariff-plans/${planId}`).set(...bearer(PLATFORM_KEY)).send({ ...plan, ceilingMinor: "40" });
    expect(updated.body.ceilingMinor).toBe("40");
    expect((await request(f.app).get(`/admin/v1/tariff-plans?telcoId=${telcoId}`).set(...bearer(f.a.operator))).body.items).toHaveLength(1);
    const deleted = await request(f.app).delete(`/admin/v1/tariff-plans/${planId}`).set(...bearer(PLATFORM_KEY));
    expect(deleted.status).toBe(200);
    expect((await request(f.app).get(`/admin/v1/tariff-plans/${planId}`).set(...bearer(PLATFORM_KEY))).status).toBe(404);
    const entries = await f.test.db.query<{ action: string; payload: { before: { ceilingMinor: string } | null; after: { ceilingMinor: string } | null } }>(
      `SELECT action, payload FROM audit_log WHERE subject = $1 ORDER BY seq`,
      [planId],
    );
    expect(entries.rows.map((r) => r.action)).toEqual(["tariffs.plan.create", "tariffs.plan.update", "tariffs.plan.delete"]);
    expect(entries.rows[1]!.payload.before!.ceilingMinor).toBe("50");
    expect(entries.rows[1]!.payload.after!.ceilingMinor).toBe("40");
    expect(entries.rows[2]!.payload.after).toBeNull();
  });

  it("a plan in effect keeps its terms: a new price is a 409 (plan_in_effect) and changes nothing; a rename passes", async () => {
    const inEffect = { ...plan, name: "TRAI 2025", effectiveFrom: "2025-01-01T00:00:00+05:30" };
    // Dated back, it would price sessions that started before it existed: refused.
    const backDated = await request(f.app).post("/admin/v1/tariff-plans").set(...bearer(PLATFORM_KEY)).send({ telcoId, ...inEffect });
    expect([backDated.status, backDated.body.error?.code]).toEqual([409, "effective_from_past"]);
    // The plan as it was created when it was announced, at its start.
    const platform: Principal = { keyId: "env", role: "platform", institutionId: null };
    const start = new Date(inEffect.effectiveFrom);
    const created = await new TariffPlans(new SqlTariffStore(f.test.db), () => start).createPlan(platform, telcoId, {
      ...inEffect, payer: "customer", perSessionMinor: BigInt(plan.perSessionMinor), perStageMinor: BigInt(plan.perStageMinor), ceilingMinor: BigInt(plan.ceilingMinor), effectiveFrom: start,
    });
    if (!created.ok) throw new Error(created.code);
    const id = created.plan.id;
    const raised = await request(f.app).put(`/admin/v1/tariff-plans/${id}`).set(...bearer(PLATFORM_KEY)).send({ ...inEffect, ceilingMinor: "150" });
    expect([raised.status, raised.body.error?.code]).toEqual([409, "plan_in_effect"]);
    const later = await request(f.app).put(`/admin/v1/tariff-plans/${id}`).set(...bearer(PLATFORM_KEY)).send({ ...inEffect, effectiveFrom: "2099-06-01T00:00:00Z" });
    expect([later.status, later.body.error?.code]).toEqual([409, "plan_in_effect"]);
    expect((await request(f.app).get(`/admin/v1/tariff-plans/${id}`).set(...bearer(PLATFORM_KEY))).body).toMatchObject({ ceilingMinor: "50", effectiveFrom: "2024-12-31T18:30:00.000Z" });
    const renamed = await request(f.app).put(`/admin/v1/tariff-plans/${id}`).set(...bearer(PLATFORM_KEY)).send({ ...inEffect, name: "TRAI 2025 (USSD)" });
    expect([renamed.status, renamed.body.name, renamed.body.ceilingMinor]).toEqual([200, "TRAI 2025 (USSD)", "50"]);
    const actions = await f.test.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq`, [id]);
    expect(actions.rows.map((r) => r.action)).toEqual(["tariffs.plan.create", "tariffs.plan.update"]);
  });

  it("refuses a plan for a telco that does not exist", async () => {
    const res = await request(f.app).post("/admin/v1/tariff-plans").set(...bearer(PLATFORM_KEY)).send({ telcoId: "01900000-0000-7000-8000-000000000000", ...plan });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("telco_not_found");
  });
});

describe("API keys and the audit trail", () => {
  it("lists keys without secrets; creation and revocation are audited; the chain verifies", async () => {
    const keys = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/api-keys`).set(...bearer(f.a.admin));
    expect(keys.body.items.map((k: { role: string }) => k.role).sort()).toEqual(["admin", "auditor", "operator"]);
    expect(JSON.stringify(keys.body)).not.toContain(f.a.admin);
    expect(JSON.stringify(keys.body)).not.toMatch(/hash/i);
    const created = await auditOf(f.a.id, f.a.auditor, "admin.api_key.create");
    expect(created).toHaveLength(3);
    expect(created.every((e) => JSON.stringify(e).includes(f.a.admin) === false)).toBe(true);
    const verified = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/audit/verify`).set(...bearer(f.a.auditor));
    // A bank learns whether the chains hold, not how many entries every bank wrote (that count
    // was in its answer), and one walk a minute serves every bank's auditors.
    expect(verified.body).toEqual({ ok: true, checkedAt: expect.any(String) });
    const again = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/audit/verify`).set(...bearer(f.b.auditor));
    expect(again.body).toEqual(verified.body);
    const platform = await request(f.app).get("/admin/v1/audit/verify").set(...bearer(PLATFORM_KEY));
    expect(platform.body).toMatchObject({ ok: true, checked: expect.any(Number) });
    expect(platform.body.checked).toBeGreaterThan(5);
  });

  it("a bank's audit query shows its own entries only, paged newest first", async () => {
    const mine = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/audit?limit=2`).set(...bearer(f.b.auditor));
    expect(mine.body.items).toHaveLength(2);
    const position = (e: AuditItem) => `${e.chain}:${e.seq}`;
    const time = (e: AuditItem) => Date.parse(e.occurredAt);
    expect(time(mine.body.items[0])).toBeGreaterThanOrEqual(time(mine.body.items[1]));
    expect(mine.body.nextBefore).toBe(position(mine.body.items[1]));
    const next = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/audit?limit=2&before=${mine.body.nextBefore}`).set(...bearer(f.b.auditor));
    expect(next.body.items.length).toBeGreaterThan(0);
    expect(time(next.body.items[0])).toBeLessThanOrEqual(time(mine.body.items[1]));
    expect(next.body.items.map(position)).not.toContain(position(mine.body.items[0]));
    expect(next.body.items.map(position)).not.toContain(position(mine.body.items[1]));
    const all = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/audit?limit=200`).set(...bearer(f.b.auditor));
    expect(all.body.items.some((e: AuditItem) => e.action.startsWith("limits.") || e.action.startsWith("fees."))).toBe(false);
    expect(all.body.items.length).toBeGreaterThanOrEqual(4);
    expect(all.body.items.every((e: AuditItem) => e.subject === f.b.id)).toBe(true);
  });

  it("the platform pages through the whole chain, both banks and its own telco changes included", async () => {
    const res = await request(f.app).get("/admin/v1/audit?limit=200&action=admin").set(...bearer(PLATFORM_KEY));
    const subjects = new Set(res.body.items.map((e: AuditItem) => e.subject));
    expect(subjects).toContain(f.a.id);
    expect(subjects).toContain(f.b.id);
    const telcos = await request(f.app).get("/admin/v1/audit?action=tariffs.telco").set(...bearer(PLATFORM_KEY));
    expect(telcos.body.items.map((e: AuditItem) => e.action)).toEqual(["tariffs.telco.update", "tariffs.telco.create"]);
    expect((await request(f.app).get("/admin/v1/audit/verify").set(...bearer(PLATFORM_KEY))).body.ok).toBe(true);
  });
});
