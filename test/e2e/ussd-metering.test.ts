/**
 * Tariff metering at the end of real USSD sessions (Africa's Talking payloads through the real
 * channel, PostgreSQL underneath): an END, a user abort reported by the events callback, and a
 * retried notification all charge the session once, per the telco's plan, to the right account.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import type { Ledger } from "../../src/core/ledger/ledger.js";
import { sessionChargeTransferId } from "../../src/core/tariffs/metering.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import type { TestDb } from "../helpers/db.js";
import { openUssdEnv, SYSTEM, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "metering-at-secret-0123456789abcdef";
const NETWORK = "63902";

let env: UssdEnv;
let test: TestDb;
let ledger: Ledger;
let app: express.Express;
let bankId: string;
let telcoId: string;
let wallet: string;

const hop = (sessionId: string, text: string) =>
  request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber: "+254712000111", networkCode: NETWORK, text });
const event = (sessionId: string, status: string) =>
  request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ sessionId, phoneNumber: "+254712000111", status, networkCode: NETWORK, hopsCount: "2" });

async function metered(sessionId: string, timeoutMs = 5_000) {
  const id = `at:${sessionId}`;
  for (const started = Date.now(); Date.now() - started < timeoutMs; await new Promise((r) => setTimeout(r, 50))) {
    const rows = await test.db.query<{ stages: number; charge: string; end_reason: string; charge_result: string | null; session_id: string }>(
      "SELECT stages, charge_minor::text AS charge, end_reason, charge_result, session_id FROM metered_sessions WHERE session_id LIKE $1 || '@%'",
      [id],
    );
    if (rows.rows[0]?.charge_result) return rows.rows[0];
  }
  throw new Error(`session ${id} was not metered`);
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "meter-bank", secret: SECRET });
  ({ test, ledger, app, bankId } = env);
  const { services } = env;
  const jane = await services.directory.register(SYSTEM, { institutionId: bankId, msisdn: "+254712000111", displayName: "Jane Meter" });
  if (!jane.ok) throw new Error(jane.code);
  expect((await services.pins.setPin({ actor: { type: "system", id: "e2e" }, channel: "system", subjectId: jane.value.id, msisdn: jane.value.msisdn, pin: "4827" })).ok).toBe(true);
  wallet = jane.value.walletAccountId;
  const treasury = await ledger.createAccount({ institutionId: bankId, currency: "KES", kind: "settlement" });
  expect((await ledger.transfer({ id: randomUUID(), debitAccountId: treasury.id, creditAccountId: wallet, amountMinor: 10_000n, code: "cash_in" })).result).toBe("ok");
  const tariffs = new SqlTariffStore(test.db);
  telcoId = randomUUID();
  const now = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Demo Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: now }, []);
  // TRAI-style: 10 per session + 5 per stage, at most 30, paid by the customer.
  await tariffs.insertPlan({ id: randomUUID(), telcoId, name: "capped", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 30n, maxStages: 8, payer: "customer", effectiveFrom: now, createdAt: now, updatedAt: now }, []);
});

afterAll(() => env?.close());

describe("USSD tariff metering", () => {
  it("charges a session that ends with END once, even when the aggregator then reports it", async () => {
    const sessionId = `s-${randomBytes(4).toString("hex")}`;
    expect((await hop(sessionId, "")).text).toMatch(/^CON /);
    const balance = await hop(sessionId, "1");
    expect(balance.text).toMatch(/^CON Enter your PIN/);
    const shown = await hop(sessionId, "1*4827");
    expect(shown.text).toMatch(/^END /);
    const row = await metered(sessionId);
    expect(row).toMatchObject({ end_reason: "end", charge_result: "posted" });
    expect(BigInt(row.charge)).toBe(BigInt(Math.min(30, 10 + 5 * row.stages)));
    expect((await event(sessionId, "Success")).status).toBe(200);
    const charge = await ledger.getTransfer(sessionChargeTransferId(bankId, row.session_id));
    expect(charge).toMatchObject({ debitAccountId: wallet, creditAccountId: systemAccountId(bankId, { kind: "telco_payable", telcoId }), code: "ussd_session" });
    const sessions = await test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM metered_sessions WHERE session_id LIKE $1 || '@%'", [`at:${sessionId}`]);
    expect(sessions.rows[0]!.n).toBe(1);
  });

  it("charges an abandoned session when the events callback reports it, once per notification retry", async () => {
    const sessionId = `s-${randomBytes(4).toString("hex")}`;
    await hop(sessionId, "");
    const before = await ledger.getAccount(wallet);
    await Promise.all([event(sessionId, "Incomplete"), event(sessionId, "Incomplete")]);
    const row = await metered(sessionId);
    expect(row).toMatchObject({ end_reason: "abort", charge_result: "posted", stages: 1, charge: "15" });
    const after = await ledger.getAccount(wallet);
    expect(after!.debitsPosted - before!.debitsPosted).toBe(15n);
  });
});
