import { describe, expect, it } from "vitest";
import { InMemoryAuditLog } from "../../src/core/audit/memory-audit-log.js";
import { InMemorySimSwapStore } from "../../src/core/auth/memory-stores.js";
import { resolveSimSwapPolicy, SimSwapGuard, type SimSwapPolicy } from "../../src/core/auth/sim-swap.js";

const MSISDN = "+254712349183";
const telco = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

function setup(policy: Partial<SimSwapPolicy> = {}) {
  let now = new Date("2026-11-25T09:00:00Z");
  const clock = () => now;
  const audit = new InMemoryAuditLog(clock);
  const store = new InMemorySimSwapStore(audit);
  const guard = new SimSwapGuard({ store, policy, clock });
  return { guard, store, audit, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

describe("SimSwapGuard", () => {
  it("lets everything through when no swap was reported", async () => {
    const { guard } = setup();
    expect(await guard.checkOutgoing(MSISDN, 1_000_000n)).toEqual({ ok: true });
    expect(await guard.checkPinReset(MSISDN)).toEqual({ ok: true });
  });

  it("during cooling refuses larger transfers and PIN resets, lets small ones pass", async () => {
    const { guard, advance } = setup();
    const report = await guard.report({ ...telco, msisdn: MSISDN, kind: "sim_swap" });
    const endsAt = new Date("2026-11-28T09:00:00Z");
    expect(report).toMatchObject({ ok: true, coolingEndsAt: endsAt, event: { reporterType: "telco", reporterId: "safaricom" } });
    expect(await guard.checkOutgoing(MSISDN, 1_000n)).toEqual({ ok: true });
    expect(await guard.checkOutgoing(MSISDN, 1_001n)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    expect(await guard.checkPinReset(MSISDN)).toEqual({ ok: false, code: "sim_swap_cooling", endsAt });
    expect(await guard.checkOutgoing("+254700000001", 5_000n)).toEqual({ ok: true });
    advance(72 * 3_600_000 - 1);
    expect((await guard.checkPinReset(MSISDN)).ok).toBe(false);
    advance(1);
    expect(await guard.checkPinReset(MSISDN)).toEqual({ ok: true });
    expect(await guard.checkOutgoing(MSISDN, 1_001n)).toEqual({ ok: true });
  });

  it("counts cooling from when the swap happened, and the latest swap wins", async () => {
    const { guard } = setup({ coolingHours: 24 });
    await guard.report({ ...telco, msisdn: MSISDN, kind: "sim_swap", occurredAt: new Date("2026-11-24T10:00:00Z") });
    expect(await guard.coolingEndsAt(MSISDN)).toEqual(new Date("2026-11-25T10:00:00Z"));
    await guard.report({ ...telco, msisdn: MSISDN, kind: "number_recycled", occurredAt: new Date("2026-11-20T10:00:00Z") });
    expect(await guard.coolingEndsAt(MSISDN)).toEqual(new Date("2026-11-25T10:00:00Z"));
  });

  it("takes reports from the telco or the bank only, audited", async () => {
    const { guard, audit } = setup();
    const customer = { actor: { type: "customer" as const, id: "c" }, channel: "ussd" as const };
    expect(await guard.report({ ...customer, msisdn: MSISDN, kind: "sim_swap" })).toEqual({ ok: false, code: "not_authorized" });
    const bank = { actor: { type: "bank_user" as const, id: "b-1" }, channel: "admin" as const };
    expect((await guard.report({ ...bank, msisdn: MSISDN, kind: "number_recycled" })).ok).toBe(true);
    expect(audit.records.map((r) => [r.action, r.actorType, r.subject])).toEqual([["sim_swap.report", "bank_user", MSISDN]]);
  });

  it("refuses bad input with a clear code and records nothing", async () => {
    const { guard, store } = setup();
    expect(await guard.report({ ...telco, msisdn: "0712349183", kind: "sim_swap" })).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await guard.report({ ...telco, msisdn: "+2547" + "1".repeat(10_000), kind: "sim_swap" })).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await guard.report({ ...telco, msisdn: MSISDN, kind: "stolen" as never })).toEqual({ ok: false, code: "invalid_kind" });
    expect(await guard.report({ ...telco, msisdn: MSISDN, kind: "sim_swap", occurredAt: new Date("2030-01-01") })).toEqual({
      ok: false,
      code: "invalid_time",
    });
    expect(await guard.report({ ...telco, msisdn: MSISDN, kind: "sim_swap", occurredAt: new Date("nope") })).toEqual({ ok: false, code: "invalid_time" });
    expect(await guard.checkOutgoing(MSISDN, -1n)).toEqual({ ok: false, code: "invalid_amount" });
    expect(await guard.checkOutgoing(MSISDN, 10 as unknown as bigint)).toEqual({ ok: false, code: "invalid_amount" });
    expect(await guard.checkPinReset("+٢٥٤٧١٢٣٤٩١٨٣")).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(store.events).toHaveLength(0);
  });

  it("keeps one allowance over overlapping cooling periods and a new one after cooling ended (in-memory store)", async () => {
    const msisdn = "+254712620802";
    const { guard, advance } = setup();
    const spend = async (amountMinor: bigint) => {
      const check = await guard.checkSpend(msisdn, amountMinor);
      if (!check.ok) return check;
      return guard.spend(check.cooling, amountMinor, async () => ({ ok: true as const }), () => true, async () => false);
    };
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    expect(await spend(700n)).toEqual({ ok: true });
    advance(48 * 3_600_000);
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    expect(await spend(301n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await spend(300n)).toEqual({ ok: true });
    // 73 hours after the second report: no cooling; a later swap has an allowance of its own.
    advance(73 * 3_600_000);
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    expect(await spend(1_000n)).toEqual({ ok: true });
  });

  it("counts what both runs spent once a late report joins them into one (in-memory store)", async () => {
    const msisdn = "+254712770901";
    const { guard, advance } = setup();
    const spend = async (amountMinor: bigint) => {
      const check = await guard.checkSpend(msisdn, amountMinor);
      if (!check.ok) return check;
      return guard.spend(check.cooling, amountMinor, async () => ({ ok: true as const }), () => true, async () => false);
    };
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    const first = (await guard.coolingEndsAt(msisdn))!.getTime() - 72 * 3_600_000;
    expect(await spend(600n)).toEqual({ ok: true });
    advance(100 * 3_600_000);
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    expect(await spend(300n)).toEqual({ ok: true });
    // A swap 50 hours after the first, reported late: one cooling all along, 900 of it spent.
    await guard.report({ ...telco, msisdn, kind: "sim_swap", occurredAt: new Date(first + 50 * 3_600_000) });
    expect(await spend(101n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await spend(100n)).toEqual({ ok: true });
  });

  it("gives an amount taken back after a move threw only when abandon says its transfer is refused for good", async () => {
    const msisdn = "+254712620801";
    const { guard, store } = setup();
    await guard.report({ ...telco, msisdn, kind: "sim_swap" });
    const check = await guard.checkSpend(msisdn, 400n);
    if (!check.ok) throw new Error(check.code);
    const boom = async (): Promise<{ ok: true }> => {
      throw new Error("ledger unavailable");
    };
    const spendThrowing = (abandon: () => Promise<boolean>) => guard.spend(check.cooling, 400n, boom, () => true, abandon);
    // Refused for good: given back. Posted, or abandon failing too (outcome unknown): kept.
    await expect(spendThrowing(async () => true)).rejects.toThrow("ledger unavailable");
    expect(store.spentInRun(msisdn, new Date(0))).toBe(0n);
    await expect(spendThrowing(async () => false)).rejects.toThrow("ledger unavailable");
    await expect(spendThrowing(() => Promise.reject(new Error("timeout")))).rejects.toThrow("ledger unavailable");
    expect(store.spentInRun(msisdn, new Date(0))).toBe(800n);
  });

  it("clamps its policy", () => {
    expect(resolveSimSwapPolicy()).toEqual({ coolingHours: 72, maxOutgoingMinor: 1_000n });
    expect(resolveSimSwapPolicy({ coolingHours: -1, maxOutgoingMinor: -5n })).toEqual({ coolingHours: 0, maxOutgoingMinor: 1_000n });
    expect(resolveSimSwapPolicy({ coolingHours: 1e6 }).coolingHours).toBe(720);
  });
});
