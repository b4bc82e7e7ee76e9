import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { paymentWithFee } from "../../src/core/fees/linked.js";
import { quoteFee } from "../../src/core/fees/quote.js";
import { Institutions } from "../../src/core/institutions/institutions.js";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, type Account } from "../../src/core/ledger/types.js";
import { periodKeys } from "../../src/core/limits/periods.js";
import { SessionMeter } from "../../src/core/tariffs/metering.js";
import { TariffPlans } from "../../src/core/tariffs/plans.js";
import { SqlFeeScheduleStore } from "../../src/infra/db/fee-store.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { PLATFORM_KEY, bearer, openAdmin, type AdminFixture } from "./admin-fixture.js";

const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };
const DAY_MS = 86_400_000;
const NAIROBI = "Africa/Nairobi";

let f: AdminFixture;
let payer: Account;
let payee: Account;
let agentCommission: Account;
let window: string;

const newWallet = () => f.ledger.createAccount({ institutionId: f.a.id, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });

beforeAll(async () => {
  f = await openAdmin("postgres");
  const funding = await f.ledger.createAccount({ institutionId: f.a.id, currency: "KES", kind: "settlement" });
  payer = await newWallet();
  payee = await newWallet();
  agentCommission = await f.ledger.createAccount({ institutionId: f.a.id, currency: "KES", kind: "commission" });
  await f.ledger.transfer({ id: uuidv7(), debitAccountId: funding.id, creditAccountId: payer.id, amountMinor: 1_000_000n, code: "cash_in" });
  // Yesterday to tomorrow in Nairobi, so a run near midnight still sees today's transfers.
  const now = Date.now();
  window = `from=${periodKeys(new Date(now - DAY_MS), NAIROBI).dayKey}&to=${periodKeys(new Date(now + DAY_MS), NAIROBI).dayKey}`;
});
afterAll(async () => {
  await f?.close();
});

describe("reports", () => {
  it("fees earned: fees in, agents' commissions out, what the bank kept — per type", async () => {
    const put = await request(f.app).put(`/admin/v1/institutions/${f.a.id}/fees/p2p`).set(...bearer(f.a.admin)).send({
      bands: [{ minMinor: "100", maxMinor: "100000", feeMinor: "700" }, { minMinor: "100001", maxMinor: "1000000", feeMinor: "1300" }],
      agentShareBps: 2000,
    });
    expect(put.status).toBe(200);
    const schedule = await new SqlFeeScheduleStore(f.test.db).get(f.a.id, "p2p");
    const feeIncomeAccountId = systemAccountId(f.a.id, { kind: "fee_income" });
    for (const [amount, agent] of [[50_000n, false], [200_000n, true]] as const) {
      const quote = quoteFee(schedule, amount);
      if (!quote.ok) throw new Error("no quote");
      const payment = { id: uuidv7(), debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: amount, code: "p2p" };
      const group = paymentWithFee(payment, { type: "p2p", ...quote }, { feeIncomeAccountId, agentCommissionAccountId: agent ? agentCommission.id : undefined });
      expect((await f.ledger.submitLinked(group)).map((r) => r.result)).toEqual(group.map(() => "ok"));
    }
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/reports/fees?${window}`).set(...bearer(f.a.auditor));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ timeZone: NAIROBI });
    expect(res.body.items).toEqual([{ day: expect.any(String), type: "p2p", fees: 2, feesMinor: "2000", commissionsMinor: "260", feesRefundedMinor: "0", commissionsClawedBackMinor: "0", netMinor: "1740" }]);
  });

  it("daily transaction totals per code, for posted money touching the bank's accounts", async () => {
    const res = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/reports/transactions?${window}`).set(...bearer(f.a.operator));
    const byCode = Object.fromEntries(res.body.items.map((i: { code: string; count: number; amountMinor: string }) => [i.code, [i.count, i.amountMinor]]));
    expect(byCode).toEqual({
      cash_in: [1, "1000000"],
      p2p: [2, "250000"],
      fee_p2p: [2, "2000"],
      commission_p2p: [1, "260"],
    });
    const other = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/reports/transactions?${window}`).set(...bearer(f.b.operator));
    expect(other.body.items).toEqual([]);
  });

  it("session charges per telco and local day: 21:30 UTC belongs to the next day in Nairobi, not in UTC", async () => {
    const store = new SqlTariffStore(f.test.db);
    // Set up at the start of the year, before the sessions below (a plan starts no earlier than it is created).
    const tariffs = new TariffPlans(store, () => new Date("2026-01-01T00:00:00Z"));
    const telco = await tariffs.createTelco(PLATFORM, "safaricom-ke", { name: "Safaricom", networkCodes: ["63902"], smppLinkIds: [] });
    if (!telco.ok) throw new Error(telco.code);
    await tariffs.createPlan(PLATFORM, telco.telco.id, {
      name: "flat", currency: "KES", perSessionMinor: 100n, perStageMinor: 10n, ceilingMinor: 500n, maxStages: 8, payer: "customer",
      effectiveFrom: new Date("2026-01-01T00:00:00Z"),
    });
    const institutions = new Institutions({ store: new SqlInstitutionStore(f.test.db), ledger: f.ledger });
    const meter = new SessionMeter({ tariffs: store, sessions: new SqlSessionLog(f.test.db), institutions, ledger: f.ledger });
    const base = { telco: { networkCode: "63902" }, institutionId: f.a.id, msisdn: "+254712345678", customerAccountId: payer.id, endReason: "end" as const };
    const at = (iso: string, seconds = 30) => ({ startedAt: new Date(Date.parse(iso) - seconds * 1000), endedAt: new Date(iso) });
    for (const [id, stages, time] of [["s1", 2, "2026-11-25T10:00:00Z"], ["s2", 4, "2026-11-25T21:30:00Z"], ["s3", 1, "2026-11-26T08:00:00Z"]] as const) {
      expect((await meter.meter({ ...base, sessionId: id, stages, ...at(time) })).ok).toBe(true);
    }
    const nairobi = await request(f.app).get(`/admin/v1/institutions/${f.a.id}/reports/session-charges?from=2026-11-25&to=2026-11-26`).set(...bearer(f.a.auditor));
    expect(nairobi.body.items).toEqual([
      { day: "2026-11-25", telcoId: telco.telco.id, telcoCode: "safaricom-ke", currency: "KES", sessions: 1, stages: 2, chargedMinor: "120", postedMinor: "120" },
      { day: "2026-11-26", telcoId: telco.telco.id, telcoCode: "safaricom-ke", currency: "KES", sessions: 2, stages: 5, chargedMinor: "250", postedMinor: "250" },
    ]);
    const utc = await request(f.app).get(`/admin/v1/reports/session-charges?from=2026-11-25&to=2026-11-26&timeZone=UTC`).set(...bearer(PLATFORM_KEY));
    expect(utc.body.items.map((i: { day: string; sessions: number }) => [i.day, i.sessions])).toEqual([["2026-11-25", 2], ["2026-11-26", 1]]);
    const otherBank = await request(f.app).get(`/admin/v1/institutions/${f.b.id}/reports/session-charges?from=2026-11-25&to=2026-11-26`).set(...bearer(f.b.auditor));
    expect(otherBank.body.items).toEqual([]);
  });
});
