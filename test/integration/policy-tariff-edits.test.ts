/**
 * A tariff plan that has taken effect is billing history: its price and start may no longer change
 * (a session under way would be billed under terms that were not in force when it started, and
 * metered sessions would point at terms that did not price them). Real PostgreSQL, the real store,
 * meter and ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { Institutions } from "../../src/core/institutions/institutions.js";
import type { Institution } from "../../src/core/institutions/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { AccountFlags, type Account } from "../../src/core/ledger/types.js";
import { SessionMeter } from "../../src/core/tariffs/metering.js";
import { TariffPlans } from "../../src/core/tariffs/plans.js";
import type { TariffTerms } from "../../src/core/tariffs/types.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };
const MSISDN = "+254712290001";
const HOUR_MS = 3_600_000;

let test: TestDb;
let ledger: Ledger;
let bank: Institution;
let wallet: Account;
let store: SqlTariffStore;
let tariffs: TariffPlans;
let meter: SessionMeter;

/**
 * The plans as they were at `time`: a plan starts no earlier than it is created, so one in effect
 * for an hour was created an hour ago (its audit entry says so too).
 */
const tariffsAt = (time: Date) => new TariffPlans(store, () => time);

/** TRAI-style: 10 a session + 20 a stage, at most 50, paid by the customer. */
const terms = (overrides: Partial<TariffTerms> = {}): TariffTerms => ({
  name: "capped",
  currency: "KES",
  perSessionMinor: 10n,
  perStageMinor: 20n,
  ceilingMinor: 50n,
  maxStages: 8,
  payer: "customer",
  effectiveFrom: new Date(Date.now() - HOUR_MS),
  ...overrides,
});

let telcoSeq = 0;
async function telcoWithPlan(overrides: Partial<TariffTerms> = {}) {
  telcoSeq += 1;
  const telco = await tariffs.createTelco(PLATFORM, `edits-${telcoSeq}`, { name: "Telco", networkCodes: [`6412${telcoSeq}`], smppLinkIds: [] });
  if (!telco.ok) throw new Error(telco.code);
  const effectiveFrom = terms(overrides).effectiveFrom;
  const plan = await tariffsAt(new Date(Math.min(Date.now(), effectiveFrom.getTime()))).createPlan(PLATFORM, telco.telco.id, terms(overrides));
  if (!plan.ok) throw new Error(plan.code);
  return { networkCode: telco.telco.networkCodes[0]!, plan: plan.plan };
}

const planAudit = async (planId: string) =>
  (await test.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq`, [planId])).rows.map((r) => r.action);

beforeAll(async () => {
  test = await openTestDb("postgres");
  ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  const institutions = new Institutions({ store: new SqlInstitutionStore(test.db), ledger });
  const created = await institutions.create(PLATFORM, { code: "bank-edits", name: "Bank", currency: "KES", timezone: "Africa/Nairobi" });
  if (!created.ok) throw new Error(created.code);
  bank = created.institution;
  const funding = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "settlement" });
  wallet = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
  expect((await ledger.transfer({ id: uuidv7(), debitAccountId: funding.id, creditAccountId: wallet.id, amountMinor: 10_000n, code: "cash_in" })).result).toBe("ok");
  store = new SqlTariffStore(test.db);
  tariffs = new TariffPlans(store);
  meter = new SessionMeter({ tariffs: store, sessions: new SqlSessionLog(test.db), institutions, ledger });
});

afterAll(async () => {
  await ledger?.close();
  await test?.cleanup();
});

describe("a tariff plan that has taken effect", () => {
  it("keeps its ceiling for a session under way: raising it mid-session is refused, and the session is charged at most the ceiling it started under", async () => {
    const { networkCode, plan } = await telcoWithPlan();
    const startedAt = new Date(Date.now() - 60_000);
    const raised = await tariffs.updatePlan(PLATFORM, plan.id, terms({ effectiveFrom: plan.effectiveFrom, ceilingMinor: 500n }));
    expect(raised).toMatchObject({ ok: false, code: "plan_in_effect" });
    // The session that started before the attempted change ends now, 6 stages long: 10 + 6 × 20 = 130, capped at 50.
    const metered = await meter.meter({
      sessionId: `ATUid_${uuidv7()}`, telco: { networkCode }, institutionId: bank.id, msisdn: MSISDN, customerAccountId: wallet.id,
      stages: 6, startedAt, endedAt: new Date(), endReason: "end",
    });
    expect(metered).toMatchObject({ ok: true, session: { tariffPlanId: plan.id, chargeMinor: 50n, chargeResult: "posted" } });
    expect(await tariffs.getPlan(plan.id)).toMatchObject({ ceilingMinor: 50n });
    expect(await planAudit(plan.id)).toEqual(["tariffs.plan.create"]);
  });

  it("cannot be moved or repriced once sessions were metered under it (plan_in_use); a rename passes and is audited", async () => {
    const { networkCode, plan } = await telcoWithPlan();
    const startedAt = new Date(plan.effectiveFrom.getTime() + 60_000);
    const metered = await meter.meter({
      sessionId: `ATUid_${uuidv7()}`, telco: { networkCode }, institutionId: bank.id, msisdn: MSISDN, customerAccountId: wallet.id,
      stages: 1, startedAt, endedAt: new Date(startedAt.getTime() + 5_000), endReason: "end",
    });
    expect(metered).toMatchObject({ ok: true, session: { tariffPlanId: plan.id, chargeMinor: 30n } });
    const same = { effectiveFrom: plan.effectiveFrom };
    for (const change of [{ perStageMinor: 5n }, { payer: "bank" as const }, { maxStages: 12 }, { currency: "INR" }, { effectiveFrom: new Date(startedAt.getTime() + 1_000) }]) {
      expect(await tariffs.updatePlan(PLATFORM, plan.id, terms({ ...same, ...change })), JSON.stringify(change, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))).toMatchObject({
        ok: false,
        code: "plan_in_use",
      });
    }
    expect(await tariffs.getPlan(plan.id)).toMatchObject({ perStageMinor: 20n, payer: "customer", maxStages: 8, currency: "KES", effectiveFrom: plan.effectiveFrom });
    const renamed = await tariffs.updatePlan(PLATFORM, plan.id, terms({ ...same, name: "TRAI 2026" }));
    expect(renamed).toMatchObject({ ok: true, plan: { name: "TRAI 2026", ceilingMinor: 50n } });
    expect(await planAudit(plan.id)).toEqual(["tariffs.plan.create", "tariffs.plan.update"]);
  });

  it("a plan not yet in effect may still be changed, its change audited", async () => {
    const { plan } = await telcoWithPlan({ effectiveFrom: new Date(Date.now() + 24 * HOUR_MS) });
    const changed = await tariffs.updatePlan(PLATFORM, plan.id, terms({ effectiveFrom: new Date(Date.now() + 48 * HOUR_MS), ceilingMinor: 40n }));
    expect(changed).toMatchObject({ ok: true, plan: { ceilingMinor: 40n } });
    expect(await tariffs.getPlan(plan.id)).toMatchObject({ ceilingMinor: 40n });
    expect(await planAudit(plan.id)).toEqual(["tariffs.plan.create", "tariffs.plan.update"]);
  });

  it("a plan dated back over sessions already metered under another plan is refused (effective_from_billed); one after them, or before its successor took over, is not", async () => {
    const { networkCode, plan } = await telcoWithPlan({ effectiveFrom: new Date(Date.now() - 2 * HOUR_MS) });
    const telcoId = plan.telcoId;
    const startedAt = new Date(Date.now() - 30 * 60_000);
    const metered = await meter.meter({
      sessionId: `ATUid_${uuidv7()}`, telco: { networkCode }, institutionId: bank.id, msisdn: MSISDN, customerAccountId: wallet.id,
      stages: 1, startedAt, endedAt: new Date(startedAt.getTime() + 5_000), endReason: "end",
    });
    expect(metered).toMatchObject({ ok: true, session: { tariffPlanId: plan.id, chargeMinor: 30n } });
    // From an hour ago: the session of half an hour ago, priced at 30 by the first plan, would be this plan's.
    // Today a plan dated back is refused before anything is read (effective_from_past); the store's
    // own check still stands for one created then (or by a clock behind the sessions').
    const cheaper = { name: "cheaper", perSessionMinor: 5n, perStageMinor: 0n };
    const hourAgo = new Date(Date.now() - HOUR_MS);
    expect(await tariffs.createPlan(PLATFORM, telcoId, terms({ ...cheaper, effectiveFrom: hourAgo }))).toMatchObject({ ok: false, code: "effective_from_past" });
    expect(await tariffsAt(hourAgo).createPlan(PLATFORM, telcoId, terms({ ...cheaper, effectiveFrom: hourAgo }))).toMatchObject({ ok: false, code: "effective_from_billed" });
    expect(await tariffsAt(startedAt).createPlan(PLATFORM, telcoId, terms({ ...cheaper, effectiveFrom: startedAt }))).toMatchObject({ ok: false, code: "effective_from_billed" });
    expect((await tariffs.listPlans(telcoId)).map((p) => p.id)).toEqual([plan.id]);
    // Before the first plan, created then: its own sessions are the first plan's still (it took over at its start).
    const threeHoursAgo = new Date(Date.now() - 3 * HOUR_MS);
    expect(await tariffsAt(threeHoursAgo).createPlan(PLATFORM, telcoId, terms({ ...cheaper, name: "older", effectiveFrom: threeHoursAgo }))).toMatchObject({ ok: true });
    // A future plan cannot be moved back over them either.
    const future = await tariffs.createPlan(PLATFORM, telcoId, terms({ ...cheaper, name: "next", effectiveFrom: new Date(Date.now() + HOUR_MS) }));
    if (!future.ok) throw new Error(future.code);
    expect(await tariffs.updatePlan(PLATFORM, future.plan.id, terms({ ...cheaper, name: "next", effectiveFrom: hourAgo }))).toMatchObject({ ok: false, code: "effective_from_past" });
    const back = await tariffsAt(hourAgo).updatePlan(PLATFORM, future.plan.id, terms({ ...cheaper, name: "next", effectiveFrom: hourAgo }));
    expect(back).toMatchObject({ ok: false, code: "effective_from_billed" });
    const later = new Date(startedAt.getTime() + 1);
    expect(await tariffsAt(later).updatePlan(PLATFORM, future.plan.id, terms({ ...cheaper, name: "next", effectiveFrom: later }))).toMatchObject({ ok: true, plan: { effectiveFrom: later } });
  });

  it("cannot be deleted, which would hand its sessions under way to the plan before it (plan_in_effect); a plan not yet in effect can", async () => {
    const { networkCode, plan: earlier } = await telcoWithPlan({ effectiveFrom: new Date(Date.now() - 2 * HOUR_MS), ceilingMinor: 500n });
    const hourAgo = new Date(Date.now() - HOUR_MS);
    const capped = await tariffsAt(hourAgo).createPlan(PLATFORM, earlier.telcoId, terms({ name: "capped at 50", effectiveFrom: hourAgo }));
    if (!capped.ok) throw new Error(capped.code);
    const startedAt = new Date(Date.now() - 60_000);
    expect(await tariffs.deletePlan(PLATFORM, capped.plan.id)).toMatchObject({ ok: false, code: "plan_in_effect" });
    // The session under way when the deletion was tried is priced by the plan it started under: 10 + 6 × 20 capped at 50.
    const metered = await meter.meter({
      sessionId: `ATUid_${uuidv7()}`, telco: { networkCode }, institutionId: bank.id, msisdn: MSISDN, customerAccountId: wallet.id,
      stages: 6, startedAt, endedAt: new Date(), endReason: "end",
    });
    expect(metered).toMatchObject({ ok: true, session: { tariffPlanId: capped.plan.id, chargeMinor: 50n } });
    expect(await planAudit(capped.plan.id)).toEqual(["tariffs.plan.create"]);
    const future = await tariffs.createPlan(PLATFORM, earlier.telcoId, terms({ name: "next", effectiveFrom: new Date(Date.now() + HOUR_MS) }));
    if (!future.ok) throw new Error(future.code);
    expect(await tariffs.deletePlan(PLATFORM, future.plan.id)).toMatchObject({ ok: true });
    expect(await planAudit(future.plan.id)).toEqual(["tariffs.plan.create", "tariffs.plan.delete"]);
  });
});
