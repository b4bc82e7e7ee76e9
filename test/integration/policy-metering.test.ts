import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { Institutions } from "../../src/core/institutions/institutions.js";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import type { Institution } from "../../src/core/institutions/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { AccountFlags, type Account } from "../../src/core/ledger/types.js";
import { SessionMeter, sessionChargeTransferId, type FinishedSession } from "../../src/core/tariffs/metering.js";
import { TariffPlans } from "../../src/core/tariffs/plans.js";
import type { TariffTerms } from "../../src/core/tariffs/types.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { STORE_KINDS, openTestDb, type TestDb } from "../helpers/db.js";

const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };
const balance = (a: Account | null) => (a ? a.creditsPosted - a.debitsPosted : null);

const terms = (overrides: Partial<TariffTerms> = {}): TariffTerms => ({
  name: "per stage",
  currency: "KES",
  perSessionMinor: 100n,
  perStageMinor: 50n,
  ceilingMinor: 300n,
  maxStages: 8,
  payer: "customer",
  effectiveFrom: new Date("2026-01-01T00:00:00Z"),
  ...overrides,
});

describe.each(STORE_KINDS)("session metering (%s)", (kind) => {
  let test: TestDb;
  let ledger: Ledger;
  let meter: SessionMeter;
  let bank: Institution;
  let wallet: Account;
  let telcoId: string;
  let tariffs: TariffPlans;
  let sessions: SqlSessionLog;

  const session = (overrides: Partial<FinishedSession> = {}): FinishedSession => ({
    sessionId: `ATUid_${uuidv7()}`,
    telco: { networkCode: "63902" },
    institutionId: bank.id,
    msisdn: "+254712345678",
    customerAccountId: wallet.id,
    stages: 3,
    startedAt: new Date("2026-11-25T09:00:00Z"),
    endedAt: new Date("2026-11-25T09:00:41Z"),
    endReason: "end",
    ...overrides,
  });

  beforeAll(async () => {
    test = await openTestDb(kind, { maxConnections: 24 });
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    const institutions = new Institutions({ store: new SqlInstitutionStore(test.db), ledger });
    const created = await institutions.create(PLATFORM, { code: "bank-ke", name: "Bank KE", currency: "KES", timezone: "Africa/Nairobi" });
    if (!created.ok) throw new Error(created.code);
    bank = created.institution;
    const funding = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "settlement" });
    wallet = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    expect((await ledger.transfer({ id: uuidv7(), debitAccountId: funding.id, creditAccountId: wallet.id, amountMinor: 10_000n, code: "cash_in" })).result).toBe("ok");
    const store = new SqlTariffStore(test.db);
    tariffs = new TariffPlans(store);
    const telco = await tariffs.createTelco(PLATFORM, "safaricom-ke", { name: "Safaricom", networkCodes: ["63902"], smppLinkIds: ["smsc-nbo-1"] });
    if (!telco.ok) throw new Error(telco.code);
    telcoId = telco.telco.id;
    expect((await tariffs.createPlan(PLATFORM, telcoId, terms())).ok).toBe(true);
    sessions = new SqlSessionLog(test.db);
    meter = new SessionMeter({ tariffs: store, sessions, institutions, ledger });
  });
  afterAll(async () => {
    await ledger?.close();
    await test?.cleanup();
  });

  it("charges min(ceiling, per session + stages × per stage) from the customer to the telco payable", async () => {
    const before = balance(await ledger.getAccount(wallet.id))!;
    const result = await meter.meter(session({ stages: 3 }));
    expect(result).toMatchObject({ ok: true, duplicate: false, session: { chargeMinor: 250n, chargeResult: "posted", payer: "customer", durationMs: 41_000 } });
    const capped = await meter.meter(session({ stages: 7 }));
    expect(capped).toMatchObject({ ok: true, session: { chargeMinor: 300n } });
    expect(balance(await ledger.getAccount(wallet.id))).toBe(before - 550n);
    const payable = await ledger.getAccount(systemAccountId(bank.id, { kind: "telco_payable", telcoId }));
    expect(payable).toMatchObject({ kind: "telco_payable", ownerRef: telcoId });
    expect(balance(payable)).toBe(550n);
  });

  it("posts once per session id even when the same session is reported many times at once", async () => {
    const s = session({ stages: 2 });
    const before = balance(await ledger.getAccount(wallet.id))!;
    const results = await Promise.all(Array.from({ length: 10 }, () => meter.meter(s)));
    expect(results.every((r) => r.ok && r.session.chargeResult === "posted")).toBe(true);
    expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect(balance(await ledger.getAccount(wallet.id))).toBe(before - 200n);
    const posted = await test.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM transfers WHERE id = $1`, [sessionChargeTransferId(s.sessionId)]);
    expect(posted.rows[0]!.n).toBe(1);
    const again = await meter.meter({ ...s, stages: 9 });
    expect(again).toMatchObject({ ok: true, duplicate: true, session: { stages: 2, chargeMinor: 200n } });
    expect(balance(await ledger.getAccount(wallet.id))).toBe(before - 200n);
  });

  it("records a charge the customer cannot pay with the ledger's refusal, and a retry moves nothing", async () => {
    const poor = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    const s = session({ customerAccountId: poor.id });
    expect(await meter.meter(s)).toMatchObject({ ok: true, session: { chargeResult: "exceeds_credits" } });
    expect(await meter.meter(s)).toMatchObject({ ok: true, duplicate: true, session: { chargeResult: "exceeds_credits" } });
    expect(balance(await ledger.getAccount(poor.id))).toBe(0n);
  });

  it("uses the plan in effect when the session started; a bank-paid plan debits the bank's account", async () => {
    const plan = await tariffs.createPlan(PLATFORM, telcoId, terms({ name: "bank pays", payer: "bank", perSessionMinor: 70n, perStageMinor: 0n, effectiveFrom: new Date("2026-12-01T00:00:00Z") }));
    expect(plan.ok).toBe(true);
    const november = await meter.meter(session({ startedAt: new Date("2026-11-30T23:59:00Z"), endedAt: new Date("2026-12-01T00:01:00Z") }));
    expect(november).toMatchObject({ ok: true, session: { chargeMinor: 250n, payer: "customer" } });
    const december = await meter.meter(session({ telco: { smppLinkId: "smsc-nbo-1" }, customerAccountId: null, startedAt: new Date("2026-12-01T00:00:00Z"), endedAt: new Date("2026-12-01T00:00:10Z") }));
    expect(december).toMatchObject({ ok: true, session: { chargeMinor: 70n, payer: "bank", chargeResult: "posted", debitAccountId: systemAccountId(bank.id, { kind: "bank" }) } });
  });

  it("a session before any plan is recorded free, without a transfer", async () => {
    const result = await meter.meter(session({ startedAt: new Date("2025-06-01T00:00:00Z"), endedAt: new Date("2025-06-01T00:00:05Z") }));
    expect(result).toMatchObject({ ok: true, session: { tariffPlanId: null, chargeMinor: 0n, transferId: null, chargeResult: null } });
  });

  it("refuses what cannot be metered: unknown telco, bad input, a plan in another currency, a missing payer", async () => {
    expect(await meter.meter(session({ telco: { networkCode: "99999" } }))).toEqual({ ok: false, code: "unknown_telco" });
    expect(await meter.meter(session({ stages: -1 }))).toEqual({ ok: false, code: "invalid_session" });
    expect(await meter.meter(session({ endedAt: new Date("2026-11-25T08:00:00Z") }))).toEqual({ ok: false, code: "invalid_session" });
    expect(await meter.meter(session({ customerAccountId: null }))).toEqual({ ok: false, code: "payer_account_required" });
    const telco = await tariffs.createTelco(PLATFORM, "airtel-in", { name: "Airtel", networkCodes: ["40410"], smppLinkIds: [] });
    expect(telco.ok).toBe(true);
    if (!telco.ok) return;
    await tariffs.createPlan(PLATFORM, telco.telco.id, terms({ currency: "INR" }));
    expect(await meter.meter(session({ telco: { networkCode: "40410" } }))).toEqual({ ok: false, code: "currency_mismatch" });
  });
});
