import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import { verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const telco = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
const bank = { actor: { type: "bank_user" as const, id: "b-1" }, channel: "admin" as const };

describe("SIM-swap cooling on PostgreSQL", () => {
  let t: TestDb;
  let now = new Date("2026-11-25T09:00:00.000Z");
  let guard: SimSwapGuard;
  beforeAll(async () => {
    t = await openTestDb("postgres");
    guard = new SimSwapGuard({ store: new SqlSimSwapStore(t.db), clock: () => now, policy: { coolingHours: 48, maxOutgoingMinor: 500n } });
  });
  afterAll(() => t.cleanup());

  it("refuses larger transfers and PIN resets until the cooling period ends", async () => {
    const msisdn = "+254712349183";
    const report = await guard.report({ ...telco, msisdn, kind: "sim_swap", occurredAt: new Date("2026-11-25T08:00:00Z") });
    const endsAt = new Date("2026-11-27T08:00:00Z");
    expect(report).toMatchObject({ ok: true, coolingEndsAt: endsAt });
    expect(await guard.checkOutgoing(msisdn, 500n)).toEqual({ ok: true });
    expect(await guard.checkOutgoing(msisdn, 501n)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    expect(await guard.checkPinReset(msisdn)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    now = endsAt;
    expect(await guard.checkOutgoing(msisdn, 10_000n)).toEqual({ ok: true });
    expect(await guard.checkPinReset(msisdn)).toEqual({ ok: true });
  });

  it("a recycled number cools too; the latest event counts", async () => {
    const msisdn = "+254733000222";
    await guard.report({ ...bank, msisdn, kind: "sim_swap", occurredAt: new Date(now.getTime() - 100 * 3_600_000) });
    expect(await guard.coolingEndsAt(msisdn)).toBeNull();
    await guard.report({ ...bank, msisdn, kind: "number_recycled" });
    expect(await guard.coolingEndsAt(msisdn)).toEqual(new Date(now.getTime() + 48 * 3_600_000));
  });

  it("stores who reported, when and what, append-only and audited", async () => {
    const rows = await t.db.query<{ kind: string; reporter_type: string; reporter_id: string; reported_at: Date }>(
      "SELECT kind, reporter_type, reporter_id, reported_at FROM sim_swap_events WHERE msisdn = '+254712349183'",
    );
    expect(rows.rows).toEqual([
      { kind: "sim_swap", reporter_type: "telco", reporter_id: "safaricom", reported_at: new Date("2026-11-25T09:00:00.000Z") },
    ]);
    await expect(t.db.query("UPDATE sim_swap_events SET kind = 'sim_swap'")).rejects.toThrow(/append-only/);
    await expect(t.db.query("DELETE FROM sim_swap_events")).rejects.toThrow(/append-only/);
    const audit = await t.db.query<{ action: string; actor_type: string; subject: string }>(
      "SELECT action, actor_type, subject FROM audit_log ORDER BY seq",
    );
    expect(audit.rows.map((r) => `${r.action}:${r.actor_type}:${r.subject}`)).toEqual([
      "sim_swap.report:telco:+254712349183",
      "sim_swap.report:bank_user:+254733000222",
      "sim_swap.report:bank_user:+254733000222",
    ]);
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, checked: 3 });
  });

  it("refuses bad input and records nothing", async () => {
    const before = (await t.db.query("SELECT id FROM sim_swap_events")).rows.length;
    expect(await guard.report({ ...telco, msisdn: "+٢٥٤٧١٢٣٤٩١٨٣", kind: "sim_swap" })).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await guard.report({ ...telco, msisdn: "x".repeat(10_240), kind: "sim_swap" })).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await guard.report({ actor: { type: "customer", id: "c" }, channel: "ussd", msisdn: "+254712349183", kind: "sim_swap" })).toEqual({
      ok: false,
      code: "not_authorized",
    });
    expect(await guard.report({ ...telco, msisdn: "+254712349183", kind: "sim_swap", occurredAt: new Date("2099-01-01") })).toEqual({
      ok: false,
      code: "invalid_time",
    });
    expect((await t.db.query("SELECT id FROM sim_swap_events")).rows.length).toBe(before);
  });

  it("decides an outgoing amount known in two steps on the final amount", async () => {
    const msisdn = "+254712349184";
    const endsAt = new Date(now.getTime() + 47 * 3_600_000);
    await guard.report({ ...telco, msisdn, kind: "sim_swap", occurredAt: new Date(now.getTime() - 3_600_000) });
    // Over the allowance.
    expect(await guard.outgoingCheck(msisdn)(600n)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    // Just over it (an amount within it, plus the fee).
    expect(await guard.outgoingCheck(msisdn)(501n)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    // Within it: it passes during cooling, naming the period whose
    // allowance (a total) it must then be taken from; an invalid amount or number is refused.
    expect(await guard.outgoingCheck(msisdn)(500n)).toEqual({ ok: true, cooling: { msisdn, endsAt } });
    expect(await guard.outgoingCheck(msisdn)(-1n)).toEqual({ ok: false, code: "invalid_amount" });
    expect(await guard.outgoingCheck("0712")(900n)).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await guard.outgoingCheck("+254712349185")(900n)).toEqual({ ok: true, cooling: null });
  });
});
