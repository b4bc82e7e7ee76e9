import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { Institutions } from "../../src/core/institutions/institutions.js";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import type { Institution } from "../../src/core/institutions/types.js";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { AccountFlags, type Account } from "../../src/core/ledger/types.js";
import { SessionMeter, sessionChargeTransferId, type FinishedSession } from "../../src/core/tariffs/metering.js";
import { TariffPlans } from "../../src/core/tariffs/plans.js";
import type { MeteredSession, TariffTerms } from "../../src/core/tariffs/types.js";
import { CachedTelcoLookup } from "../../src/infra/cache/cached-stores.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { STORE_KINDS, openTestDb, openTestDbBefore, type TestDb } from "../helpers/db.js";

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
  let institutions: Institutions;

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
    institutions = new Institutions({ store: new SqlInstitutionStore(test.db), ledger });
    const created = await institutions.create(PLATFORM, { code: "bank-ke", name: "Bank KE", currency: "KES", timezone: "Africa/Nairobi" });
    if (!created.ok) throw new Error(created.code);
    bank = created.institution;
    const funding = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "settlement" });
    wallet = await ledger.createAccount({ institutionId: bank.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    expect((await ledger.transfer({ id: uuidv7(), debitAccountId: funding.id, creditAccountId: wallet.id, amountMinor: 10_000n, code: "cash_in" })).result).toBe("ok");
    const store = new SqlTariffStore(test.db);
    // Set up at the start of the year, before the sessions below (a plan starts no earlier than it is created).
    tariffs = new TariffPlans(store, () => new Date("2026-01-01T00:00:00Z"));
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
    const posted = await test.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM transfers WHERE id = $1`, [sessionChargeTransferId(bank.id, s.sessionId)]);
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

  it("a cached plan deleted since it was read: the session is planned afresh and recorded, not lost", async () => {
    const telco = await tariffs.createTelco(PLATFORM, `cache-${kind}`, { name: "Cached", networkCodes: [`6399${kind === "postgres" ? 1 : 2}`], smppLinkIds: [] });
    if (!telco.ok) throw new Error(telco.code);
    const id = telco.telco.id;
    const older = await tariffs.createPlan(PLATFORM, id, terms({ name: "older", effectiveFrom: new Date("2026-10-01T00:00:00Z") }));
    // Only a plan not yet in effect may be deleted: this one starts tomorrow, the session the day after.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const newer = await tariffs.createPlan(PLATFORM, id, terms({ name: "newer", perSessionMinor: 90n, perStageMinor: 0n, effectiveFrom: tomorrow }));
    if (!older.ok || !newer.ok) throw new Error("plans");
    const cached = new CachedTelcoLookup(new SqlTariffStore(test.db), 60_000);
    const startedAt = new Date(tomorrow.getTime() + 86_400_000);
    expect((await cached.planInEffect(id, startedAt))?.id).toBe(newer.plan.id);
    // Deleted elsewhere while this process still holds it (no session named it yet).
    expect((await tariffs.deletePlan(PLATFORM, newer.plan.id)).ok).toBe(true);
    const cachedMeter = new SessionMeter({ tariffs: cached, sessions, institutions: new Institutions({ store: new SqlInstitutionStore(test.db), ledger }), ledger });
    const result = await cachedMeter.meter(session({ telco: { networkCode: telco.telco.networkCodes[0]! }, startedAt, endedAt: new Date(startedAt.getTime() + 41_000) }));
    expect(result).toMatchObject({ ok: true, duplicate: false, session: { tariffPlanId: older.plan.id, chargeMinor: 250n, chargeResult: "posted" } });
  });

  it("a session before any plan is recorded free, without a transfer", async () => {
    const result = await meter.meter(session({ startedAt: new Date("2025-06-01T00:00:00Z"), endedAt: new Date("2025-06-01T00:00:05Z") }));
    expect(result).toMatchObject({ ok: true, session: { tariffPlanId: null, chargeMinor: 0n, transferId: null, chargeResult: null } });
  });

  /** A session as the meter would record it: free (no plan), so no posting columns. */
  const stored = (overrides: Partial<MeteredSession> = {}): MeteredSession => ({
    sessionId: `ATUid_${uuidv7()}`,
    institutionId: bank.id,
    telcoId,
    tariffPlanId: null,
    msisdn: "+254712345678",
    stages: 2,
    startedAt: new Date("2026-11-25T09:00:00.123Z"),
    endedAt: new Date("2026-11-25T09:00:41.456Z"),
    durationMs: 41_333,
    endReason: "end",
    payer: null,
    currency: null,
    chargeMinor: 0n,
    debitAccountId: null,
    creditAccountId: null,
    transferId: null,
    chargeResult: null,
    ...overrides,
  });

  it("the session log answers an insert with the session as given, and a later report with the row stored first", async () => {
    const s = stored({ stages: 4 });
    const first = await sessions.record(s);
    expect(first).toEqual({ session: s, inserted: true });
    expect(await sessions.get(bank.id, s.sessionId)).toEqual(s);
    const again = await sessions.record({ ...s, stages: 7, endReason: "timeout" });
    expect(again).toEqual({ session: s, inserted: false });
    await sessions.settle(bank.id, s.sessionId, "posted");
    expect(await sessions.record({ ...s, stages: 1 })).toEqual({ session: { ...s, chargeResult: "posted" }, inserted: false });
  });

  it("reports of one session through two session logs at once insert it once, and both see the first row", async () => {
    const other = new SqlSessionLog(test.db);
    for (let round = 0; round < 5; round += 1) {
      const batch = Array.from({ length: 20 }, (_, i) => stored({ stages: i }));
      const [a, b] = await Promise.all([
        Promise.all(batch.map((s) => sessions.record(s))),
        Promise.all(batch.map((s) => other.record({ ...s, stages: s.stages + 100 }))),
      ]);
      batch.forEach((s, i) => {
        expect([a[i]!.inserted, b[i]!.inserted].filter(Boolean)).toHaveLength(1);
        expect(b[i]!.session).toEqual(a[i]!.session);
        expect([s.stages, s.stages + 100]).toContain(a[i]!.session.stages);
      });
      const rows = await test.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM metered_sessions WHERE session_id = ANY($1::text[])`, [batch.map((s) => s.sessionId)]);
      expect(rows.rows[0]!.n).toBe(20);
    }
  });

  it("a row the database refuses (a CHECK) fails alone: the others of its batch are stored", async () => {
    const good = [stored(), stored(), stored()];
    const bad = stored({ msisdn: "0712345678" });
    const results = await Promise.allSettled([sessions.record(good[0]!), sessions.record(bad), sessions.record(good[1]!), sessions.record(good[2]!)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    for (const s of good) expect(await sessions.get(bank.id, s.sessionId)).toEqual(s);
    expect(await sessions.get(bank.id, bad.sessionId)).toBeNull();
  });

  it("settles keep the first outcome, also when two logs settle the same sessions at once (in opposite orders)", async () => {
    const other = new SqlSessionLog(test.db);
    const batch = Array.from({ length: 100 }, () => stored());
    await Promise.all(batch.map((s) => sessions.record(s)));
    await sessions.settle(bank.id, batch[0]!.sessionId, "exceeds_credits");
    for (let round = 0; round < 3; round += 1) {
      await Promise.all([
        Promise.all(batch.map((s) => sessions.settle(bank.id, s.sessionId, `a${round}`))),
        Promise.all([...batch].reverse().map((s) => other.settle(bank.id, s.sessionId, `b${round}`))),
      ]);
    }
    const rows = await test.db.query<{ session_id: string; charge_result: string }>(
      `SELECT session_id, charge_result FROM metered_sessions WHERE session_id = ANY($1::text[])`,
      [batch.map((s) => s.sessionId)],
    );
    const outcome = new Map(rows.rows.map((r) => [r.session_id, r.charge_result]));
    expect(outcome.get(batch[0]!.sessionId)).toBe("exceeds_credits");
    for (const s of batch.slice(1)) expect(["a0", "b0"]).toContain(outcome.get(s.sessionId));
  });

  it.skipIf(kind === "pglite")("a settle locks its sessions in key order, whatever the order given: no deadlock across batches", async () => {
    // Session a < b. A transaction holds a; batch 1 settles [a, b] and waits for a; batch 2 settles
    // [b, a]. Taking b first (the order given), batch 2 would hold b while waiting for a behind batch
    // 1, which would then wait for b: a deadlock once a is released. In key order it waits for a
    // holding nothing.
    const [a, b] = [stored({ sessionId: `ATUid_a_${uuidv7()}` }), stored({ sessionId: `ATUid_b_${uuidv7()}` })];
    await sessions.record(a);
    await sessions.record(b);
    const first = new SqlSessionLog(test.db);
    const second = new SqlSessionLog(test.db);
    const waiting = async (n: number) => {
      for (let i = 0; i < 200; i += 1) {
        const r = await test.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT metered_sessions_settle%' AND datname = current_database()`,
        );
        if (r.rows[0]!.n >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`fewer than ${n} settles waiting`);
    };
    let settles: Promise<unknown>[] = [];
    await test.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM metered_sessions WHERE institution_id = $1 AND session_id = $2 FOR UPDATE`, [bank.id, a.sessionId]);
      settles.push(Promise.all([first.settle(bank.id, a.sessionId, "first"), first.settle(bank.id, b.sessionId, "first")]));
      await waiting(1);
      settles.push(Promise.all([second.settle(bank.id, b.sessionId, "second"), second.settle(bank.id, a.sessionId, "second")]));
      await waiting(2);
    });
    await Promise.all(settles);
    settles = [];
    expect((await sessions.get(bank.id, a.sessionId))!.chargeResult).toBe("first");
    expect((await sessions.get(bank.id, b.sessionId))!.chargeResult).toBe("first");
  });

  it("refuses what cannot be metered: unknown telco, bad input", async () => {
    expect(await meter.meter(session({ telco: { networkCode: "99999" } }))).toEqual({ ok: false, code: "unknown_telco" });
    expect(await meter.meter(session({ stages: -1 }))).toEqual({ ok: false, code: "invalid_session" });
    expect(await meter.meter(session({ endedAt: new Date("2026-11-25T08:00:00Z") }))).toEqual({ ok: false, code: "invalid_session" });
  });

  it("records a session whose charge cannot be posted (a missing payer, a plan in another currency), with the reason and no transfer, once", async () => {
    const payerless = session({ customerAccountId: null });
    const first = await meter.meter(payerless);
    expect(first).toMatchObject({ ok: true, duplicate: false, session: { chargeResult: "payer_account_required", transferId: null, debitAccountId: null } });
    if (!first.ok) return;
    expect(first.session.chargeMinor).toBeGreaterThan(0n);
    expect(await sessions.get(bank.id, payerless.sessionId)).toMatchObject({ chargeResult: "payer_account_required", chargeMinor: first.session.chargeMinor });
    expect(await meter.meter(payerless)).toMatchObject({ ok: true, duplicate: true, session: { chargeResult: "payer_account_required" } });
    const telco = await tariffs.createTelco(PLATFORM, "airtel-in", { name: "Airtel", networkCodes: ["40410"], smppLinkIds: [] });
    expect(telco.ok).toBe(true);
    if (!telco.ok) return;
    await tariffs.createPlan(PLATFORM, telco.telco.id, terms({ currency: "INR" }));
    const foreign = session({ telco: { networkCode: "40410" } });
    expect(await meter.meter(foreign)).toMatchObject({ ok: true, session: { chargeResult: "currency_mismatch", currency: "INR", transferId: null } });
    expect(await sessions.get(bank.id, foreign.sessionId)).toMatchObject({ chargeResult: "currency_mismatch", telcoId: telco.telco.id });
    expect(await ledger.getTransfer(sessionChargeTransferId(bank.id, foreign.sessionId))).toBeNull();
  });

  describe("two institutions whose aggregators hand out the same session id", () => {
    const MSISDN = "+254719460233";
    let second: Institution;
    let secondWallet: Account;

    beforeAll(async () => {
      const created = await institutions.create(PLATFORM, { code: "bank-ke-two", name: "Bank KE Two", currency: "KES", timezone: "Africa/Nairobi" });
      if (!created.ok) throw new Error(created.code);
      second = created.institution;
      const funding = await ledger.createAccount({ institutionId: second.id, currency: "KES", kind: "settlement" });
      secondWallet = await ledger.createAccount({ institutionId: second.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
      const cashIn = await ledger.transfer({ id: uuidv7(), debitAccountId: funding.id, creditAccountId: secondWallet.id, amountMinor: 10_000n, code: "cash_in" });
      expect(cashIn.result).toBe("ok");
    });

    /** The same session id reported by each institution's gateway (its own customer and stages). */
    const reports = (sessionId: string) => [
      session({ sessionId, msisdn: MSISDN, stages: 2 }),
      session({ sessionId, msisdn: MSISDN, institutionId: second.id, customerAccountId: secondWallet.id, stages: 4 }),
    ] as const;
    const balances = async () => Promise.all([wallet, secondWallet].map(async (a) => balance(await ledger.getAccount(a.id))!));

    it("each institution's session is recorded and charged, under a transfer id of its own", async () => {
      const sessionId = `at:ATUid_${uuidv7()}`;
      const [before, secondPayable] = [await balances(), balance(await ledger.getAccount(systemAccountId(second.id, { kind: "telco_payable", telcoId })))];
      const [a, b] = await Promise.all(reports(sessionId).map((r) => meter.meter(r)));
      const ids = [sessionChargeTransferId(bank.id, sessionId), sessionChargeTransferId(second.id, sessionId)];
      expect(ids[0]).not.toBe(ids[1]);
      expect(a).toMatchObject({ ok: true, duplicate: false, session: { institutionId: bank.id, stages: 2, chargeMinor: 200n, chargeResult: "posted", transferId: ids[0] } });
      expect(b).toMatchObject({ ok: true, duplicate: false, session: { institutionId: second.id, stages: 4, chargeMinor: 300n, chargeResult: "posted", transferId: ids[1] } });
      expect(await balances()).toEqual([before[0]! - 200n, before[1]! - 300n]);
      expect(balance(await ledger.getAccount(systemAccountId(second.id, { kind: "telco_payable", telcoId })))).toBe((secondPayable ?? 0n) + 300n);
      expect(await ledger.getTransfer(ids[1]!)).toMatchObject({ debitAccountId: secondWallet.id, amountMinor: 300n, reference: sessionId });
      const rows = await test.db.query<{ institution_id: string; stages: number; charge_result: string }>(
        `SELECT institution_id, stages, charge_result FROM metered_sessions WHERE session_id = $1 ORDER BY stages`,
        [sessionId],
      );
      expect(rows.rows).toEqual([
        { institution_id: bank.id, stages: 2, charge_result: "posted" },
        { institution_id: second.id, stages: 4, charge_result: "posted" },
      ]);
    });

    it("a retry of one institution's session is still a duplicate and posts once; the other's session is its own", async () => {
      const sessionId = `at:ATUid_${uuidv7()}`;
      const [first, other] = reports(sessionId);
      expect(await meter.meter(first)).toMatchObject({ ok: true, duplicate: false, session: { chargeResult: "posted" } });
      const afterFirst = await balances();
      const retries = await Promise.all(Array.from({ length: 5 }, () => meter.meter({ ...first, stages: 9 })));
      for (const r of retries) expect(r).toMatchObject({ ok: true, duplicate: true, session: { institutionId: bank.id, stages: 2, chargeResult: "posted" } });
      expect(await balances()).toEqual(afterFirst);
      expect(await meter.meter(other)).toMatchObject({ ok: true, duplicate: false, session: { institutionId: second.id, stages: 4 } });
      expect(await meter.meter(other)).toMatchObject({ ok: true, duplicate: true, session: { institutionId: second.id, stages: 4 } });
      expect(await balances()).toEqual([afterFirst[0], afterFirst[1]! - 300n]);
      const ids = [sessionChargeTransferId(bank.id, sessionId), sessionChargeTransferId(second.id, sessionId)];
      const posted = await test.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[])`, [ids]);
      expect(posted.rows[0]!.n).toBe(2);
    });

    it("a settle of one institution's session leaves the other institution's session of that id alone", async () => {
      const sessionId = `at:ATUid_${uuidv7()}`;
      const a = stored({ sessionId, msisdn: MSISDN });
      const b = stored({ sessionId, msisdn: MSISDN, institutionId: second.id, stages: 5 });
      expect(await Promise.all([sessions.record(a), sessions.record(b)])).toEqual([{ session: a, inserted: true }, { session: b, inserted: true }]);
      await sessions.settle(second.id, sessionId, "exceeds_credits");
      expect(await sessions.get(bank.id, sessionId)).toEqual(a);
      expect(await sessions.get(second.id, sessionId)).toEqual({ ...b, chargeResult: "exceeds_credits" });
      // Both in one batch: each keeps its own first outcome.
      await Promise.all([sessions.settle(bank.id, sessionId, "posted"), sessions.settle(second.id, sessionId, "posted")]);
      expect((await sessions.get(bank.id, sessionId))!.chargeResult).toBe("posted");
      expect((await sessions.get(second.id, sessionId))!.chargeResult).toBe("exceeds_credits");
    });

    it("a session recorded under the transfer id of its session id alone keeps it: its retry posts nothing new", async () => {
      const sessionId = `at:ATUid_${uuidv7()}`;
      const oldId = derivedUuid(`fingate:session-charge:${sessionId}`);
      const credit = systemAccountId(bank.id, { kind: "telco_payable", telcoId });
      // As the meter left it before the key had the institution: recorded and posted, not yet settled.
      const old = stored({ sessionId, msisdn: MSISDN, tariffPlanId: null, chargeMinor: 250n, debitAccountId: wallet.id, creditAccountId: credit, transferId: oldId });
      expect((await sessions.record(old)).inserted).toBe(true);
      const posting = await ledger.transfer({ id: oldId, kind: "single", debitAccountId: wallet.id, creditAccountId: credit, amountMinor: 250n, code: "ussd_session", reference: sessionId });
      expect(posting.result).toBe("ok");
      const before = await balances();
      const retry = await meter.meter(session({ sessionId, msisdn: MSISDN }));
      expect(retry).toMatchObject({ ok: true, duplicate: true, session: { transferId: oldId, chargeResult: "posted" } });
      expect(await balances()).toEqual(before);
      expect(await ledger.getTransfer(sessionChargeTransferId(bank.id, sessionId))).toBeNull();
      expect((await sessions.get(bank.id, sessionId))!.chargeResult).toBe("posted");
    });
  });
});

/** The migration that keyed metered sessions by institution and session id. */
const KEYED_BY_INSTITUTION = "20261128020000_metered_sessions_institution";

describe.each(STORE_KINDS)("metered sessions recorded before the institution was in their key (%s)", (kind) => {
  let test: TestDb | undefined;
  afterAll(async () => {
    await test?.cleanup();
  });

  /** A database migrated up to the migration before KEYED_BY_INSTITUTION. */
  const openBefore = () => openTestDbBefore(kind, KEYED_BY_INSTITUTION);

  it("the upgrade keeps them and their transfer ids, a report of one is its duplicate, and the old settle is gone", async () => {
    test = await openBefore();
    const telcoId = uuidv7();
    await test.db.query(`INSERT INTO telcos (id, code, name) VALUES ($1::uuid, 'upgrade-telco', 'Upgrade')`, [telcoId]);
    const sessionId = `at:ATUid_${uuidv7()}`;
    const old: MeteredSession = {
      sessionId, institutionId: uuidv7(), telcoId, tariffPlanId: null, msisdn: "+254719460234", stages: 3,
      startedAt: new Date("2026-11-25T09:00:00Z"), endedAt: new Date("2026-11-25T09:00:41Z"), durationMs: 41_000, endReason: "end",
      payer: "customer", currency: "KES", chargeMinor: 250n, debitAccountId: uuidv7(), creditAccountId: uuidv7(),
      transferId: derivedUuid(`fingate:session-charge:${sessionId}`), chargeResult: null,
    };
    // As the meter wrote it then: keyed by the session id, recorded and not yet settled.
    await test.db.query(
      `INSERT INTO metered_sessions (session_id, institution_id, telco_id, msisdn, stages, started_at, ended_at, duration_ms, end_reason,
         payer, currency, charge_minor, debit_account_id, credit_account_id, transfer_id)
       VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9, $10, $11, $12::bigint, $13::uuid, $14::uuid, $15::uuid)`,
      [sessionId, old.institutionId, telcoId, old.msisdn, old.stages, old.startedAt.toISOString(), old.endedAt.toISOString(), old.durationMs,
        old.endReason, old.payer, old.currency, old.chargeMinor.toString(), old.debitAccountId, old.creditAccountId, old.transferId],
    );
    expect((await migrate(test.db))[0]).toBe(KEYED_BY_INSTITUTION);

    const log = new SqlSessionLog(test.db);
    const report = { ...old, stages: 9, transferId: sessionChargeTransferId(old.institutionId, sessionId) };
    expect(await log.record(report)).toEqual({ session: old, inserted: false });
    await log.settle(old.institutionId, sessionId, "posted");
    expect(await log.get(old.institutionId, sessionId)).toEqual({ ...old, chargeResult: "posted" });
    const elsewhere = { ...report, institutionId: uuidv7() };
    expect(await log.record(elsewhere)).toEqual({ session: elsewhere, inserted: true });
    const settles = await test.db.query<{ old: boolean; now: boolean }>(
      `SELECT to_regprocedure('metered_sessions_settle(text[], text[])') IS NOT NULL AS old,
              to_regprocedure('metered_sessions_settle(uuid[], text[], text[])') IS NOT NULL AS now`,
    );
    expect(settles.rows[0]).toEqual({ old: false, now: true });
  });
});
