import { createHash, randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { InMemoryAuditLog } from "../../src/core/audit/memory-audit-log.js";
import { InMemoryPinStore, InMemorySimSwapStore } from "../../src/core/auth/memory-stores.js";
import type { PinPolicy } from "../../src/core/auth/pin-policy.js";
import { PinService } from "../../src/core/auth/pin-service.js";
import type { PinHasher } from "../../src/core/auth/ports.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import type { AuthContext } from "../../src/core/auth/types.js";

/** A salted SHA-256 stand-in for Argon2: the service must not care which hash it gets. */
class FakeHasher implements PinHasher {
  readonly scheme = "fake";
  hashes = 0;
  verifies = 0;
  async hash(pin: string): Promise<string> {
    this.hashes += 1;
    const salt = randomBytes(8).toString("hex");
    return `fake$${salt}$${createHash("sha256").update(salt + pin).digest("hex")}`;
  }
  async verify(encoded: string, pin: string): Promise<boolean> {
    this.verifies += 1;
    const [, salt, digest] = encoded.split("$");
    return createHash("sha256").update(salt + pin).digest("hex") === digest;
  }
}

const SUBJECT = "0193a5b0-0000-7000-8000-000000000001";
const UNKNOWN = "0193a5b0-0000-7000-8000-00000000ffff";
const MSISDN = "+254712349183";
const customer: AuthContext = { actor: { type: "customer", id: SUBJECT }, channel: "ussd" };
const admin: AuthContext = { actor: { type: "bank_user", id: "admin-7" }, channel: "admin" };

function setup(policy: Partial<PinPolicy> = {}) {
  let now = new Date("2026-11-25T09:00:00Z");
  const clock = () => now;
  const audit = new InMemoryAuditLog(clock);
  const store = new InMemoryPinStore(audit);
  const swaps = new InMemorySimSwapStore(audit);
  const simSwap = new SimSwapGuard({ store: swaps, clock });
  const hasher = new FakeHasher();
  const pins = new PinService({ store, hasher, audit, simSwap, policy, clock });
  const advance = (ms: number) => (now = new Date(now.getTime() + ms));
  return { pins, store, audit, simSwap, hasher, clock, advance, actions: () => audit.records.map((r) => `${r.action}:${r.outcome}`) };
}

const verify = (pins: PinService, pin: string, subjectId = SUBJECT) => pins.verifyPin({ ...customer, subjectId, pin });

describe("PinService", () => {
  let t: ReturnType<typeof setup>;
  beforeEach(async () => {
    t = setup();
    expect(await t.pins.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "4827" })).toEqual({ ok: true });
  });

  it("sets once, verifies the right PIN, refuses a wrong one", async () => {
    expect(await verify(t.pins, "4827")).toEqual({ ok: true });
    expect(await verify(t.pins, "4828")).toEqual({ ok: false, code: "pin_wrong" });
    expect(await t.pins.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "7391" })).toEqual({ ok: false, code: "pin_already_set" });
    expect(t.actions()).toEqual(["pin.set:ok", "pin.verify:ok", "pin.verify:refused", "pin.set:refused"]);
    expect(t.audit.verify().ok).toBe(true);
  });

  it("refuses weak PINs at set, naming the rule", async () => {
    const other = "0193a5b0-0000-7000-8000-000000000002";
    const set = (pin: string) => t.pins.setPin({ ...customer, subjectId: other, msisdn: MSISDN, pin });
    expect(await set("1111")).toEqual({ ok: false, code: "pin_weak", reason: "same_digit" });
    expect(await set("9183")).toEqual({ ok: false, code: "pin_weak", reason: "phone_number" });
    expect(await set("590316")).toEqual({ ok: false, code: "pin_invalid", reason: "too_long" });
  });

  it("locks after maxAttempts wrong PINs; a right PIN then is refused too; the lock runs out", async () => {
    expect(await verify(t.pins, "1111")).toEqual({ ok: false, code: "pin_wrong" });
    expect(await verify(t.pins, "2222")).toEqual({ ok: false, code: "pin_wrong" });
    const third = await verify(t.pins, "3333");
    expect(third).toEqual({ ok: false, code: "pin_locked", lockedUntil: new Date("2026-11-25T09:30:00Z") });
    const checks = t.hasher.verifies;
    expect(await verify(t.pins, "4827")).toMatchObject({ ok: false, code: "pin_locked" });
    expect(t.hasher.verifies).toBe(checks); // a locked PIN costs no hash check
    t.advance(30 * 60_000);
    expect(await verify(t.pins, "4827")).toEqual({ ok: true });
    expect((await t.store.find(SUBJECT))!.failedAttempts).toBe(0);
  });

  it("a right PIN resets the count", async () => {
    await verify(t.pins, "1111");
    await verify(t.pins, "2222");
    await verify(t.pins, "4827");
    await verify(t.pins, "1111");
    await verify(t.pins, "2222");
    expect(await verify(t.pins, "4827")).toEqual({ ok: true });
  });

  it("counts concurrent wrong attempts each, and checks no more than maxAttempts", async () => {
    const checks = t.hasher.verifies;
    const results = await Promise.all(Array.from({ length: 10 }, () => verify(t.pins, "1111")));
    const codes = results.map((r) => (r.ok ? "ok" : r.code));
    expect(codes.filter((c) => c === "pin_wrong")).toHaveLength(2);
    expect(codes.filter((c) => c === "pin_locked")).toHaveLength(8);
    expect(t.hasher.verifies - checks).toBe(3);
    expect((await t.store.find(SUBJECT))!.failedAttempts).toBe(3);
  });

  for (const n of [10, 30]) {
    it(`${n} concurrent right PINs all pass, none audited as refused, and leave nothing counted`, async () => {
      const results = await Promise.all(Array.from({ length: n }, () => verify(t.pins, "4827")));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect((await t.store.find(SUBJECT))!).toMatchObject({ failedAttempts: 0, lockedAt: null, lockCount: 0 });
      expect(t.actions().filter((a) => a !== "pin.verify:ok" && a !== "pin.set:ok")).toEqual([]);
    });
  }

  it("right PINs mixed with parallel wrong ones: wrong checks after the last success stay within maxAttempts, and the lock holds", async () => {
    t.hasher.verifies = 0;
    const pins = ["4827", "1111", "4827", "2222", "3333", "4827", "5555", "6666", "7777", "8888", "9999", "1212"];
    const results = await Promise.all(pins.map((pin) => verify(t.pins, pin)));
    const rightOk = results.filter((r, i) => pins[i] === "4827" && r.ok).length;
    const wrongChecks = t.hasher.verifies - rightOk;
    expect(results.filter((r, i) => pins[i] !== "4827").every((r) => !r.ok)).toBe(true);
    expect(wrongChecks).toBeLessThanOrEqual(3 * (rightOk + 1));
    expect((await t.store.find(SUBJECT))!).toMatchObject({ failedAttempts: 3 });
    expect(await verify(t.pins, "4827")).toMatchObject({ ok: false, code: "pin_locked" });
  });

  it("a right PIN settled after guesses counted behind it leaves them counted: no fresh budget for guesses in flight", async () => {
    // Attempt 1 (right) is counted, then 1111 and 2222 are counted and checked before it settles.
    const countAttempt = t.store.countAttempt.bind(t.store);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const settle = t.store.settleSuccess.bind(t.store);
    t.store.settleSuccess = async (...args) => (await held, settle(...args));
    const first = verify(t.pins, "4827");
    await new Promise((r) => setTimeout(r, 5));
    expect(await Promise.all([verify(t.pins, "1111"), verify(t.pins, "2222")])).toEqual([{ ok: false, code: "pin_wrong" }, { ok: false, code: "pin_locked", lockedUntil: expect.any(Date) }]);
    release();
    expect(await first).toEqual({ ok: true });
    t.store.countAttempt = countAttempt;
    // The two wrong guesses counted after the right PIN still count: one more locks.
    expect((await t.store.find(SUBJECT))!).toMatchObject({ failedAttempts: 2, lockedAt: null });
    expect(await verify(t.pins, "3333")).toMatchObject({ ok: false, code: "pin_locked" });
  });

  it("answers an unknown subject exactly like a wrong PIN, after the same hash work", async () => {
    const checks = t.hasher.verifies;
    expect(await verify(t.pins, "4827", UNKNOWN)).toEqual({ ok: false, code: "pin_wrong" });
    expect(await verify(t.pins, "4827", UNKNOWN)).toEqual({ ok: false, code: "pin_wrong" });
    expect(t.hasher.verifies - checks).toBe(2);
  });

  it("locks until the bank unlocks when lockMinutes is 0", async () => {
    t = setup({ lockMinutes: 0, maxAttempts: 1 });
    await t.pins.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "4827" });
    expect(await verify(t.pins, "1111")).toEqual({ ok: false, code: "pin_locked", lockedUntil: null });
    t.advance(365 * 24 * 3_600_000);
    expect(await verify(t.pins, "4827")).toEqual({ ok: false, code: "pin_locked", lockedUntil: null });
    expect(await t.pins.unlockPin({ ...customer, subjectId: SUBJECT })).toEqual({ ok: false, code: "not_authorized" });
    expect(await t.pins.unlockPin({ ...admin, subjectId: SUBJECT })).toEqual({ ok: true, wasLocked: true });
    expect(await verify(t.pins, "4827")).toEqual({ ok: true });
    expect(t.actions()).toContain("pin.unlock:refused");
    expect(t.actions()).toContain("pin.unlock:ok");
  });

  it("changes with the old PIN; the old one then fails", async () => {
    t = setup({ maxLength: 6 });
    await t.pins.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "4827" });
    const change = (oldPin: string, newPin: string) => t.pins.changePin({ ...customer, subjectId: SUBJECT, oldPin, newPin });
    expect(await change("4827", "4827")).toEqual({ ok: false, code: "pin_unchanged" });
    expect(await change("4827", "123456")).toEqual({ ok: false, code: "pin_weak", reason: "sequence" });
    expect(await change("4827", "59a316")).toEqual({ ok: false, code: "pin_invalid", reason: "not_digits", field: "newPin" });
    expect(await change("1111", "590316")).toEqual({ ok: false, code: "pin_wrong" });
    expect(await change("4827", "590316")).toEqual({ ok: true });
    expect(await verify(t.pins, "4827")).toEqual({ ok: false, code: "pin_wrong" });
    expect(await verify(t.pins, "590316")).toEqual({ ok: true });
  });

  it("a wrong old PIN at change counts towards the lockout", async () => {
    const change = (oldPin: string) => t.pins.changePin({ ...customer, subjectId: SUBJECT, oldPin, newPin: "7391" });
    await change("1111");
    await change("2222");
    expect(await change("3333")).toMatchObject({ ok: false, code: "pin_locked" });
    expect(await verify(t.pins, "4827")).toMatchObject({ ok: false, code: "pin_locked" });
  });

  it("resets only by a bank user, clearing a lock", async () => {
    for (const pin of ["1111", "2222", "3333"]) await verify(t.pins, pin);
    const reset = (ctx: AuthContext, newPin: string) => t.pins.resetPin({ ...ctx, subjectId: SUBJECT, newPin });
    expect(await reset(customer, "7391")).toEqual({ ok: false, code: "not_authorized" });
    expect(await reset({ actor: { type: "agent", id: "ag-1" }, channel: "agent" }, "7391")).toEqual({ ok: false, code: "not_authorized" });
    expect(await reset(admin, "0000")).toEqual({ ok: false, code: "pin_weak", reason: "same_digit" });
    expect(await t.pins.resetPin({ ...admin, subjectId: UNKNOWN, newPin: "7391" })).toEqual({ ok: false, code: "pin_not_set" });
    expect(await reset(admin, "7391")).toEqual({ ok: true });
    expect(await verify(t.pins, "7391")).toEqual({ ok: true });
    const resetEntry = t.audit.records.find((r) => r.action === "pin.reset" && r.outcome === "ok")!;
    expect(resetEntry).toMatchObject({ actorType: "bank_user", actorId: "admin-7", channel: "admin", subject: SUBJECT });
  });

  it("a bank's reset sets the first PIN of a subject who has none, given its number: checked, audited, told by SMS", async () => {
    const first = (newPin: string, msisdn?: string) => t.pins.resetPin({ ...admin, subjectId: UNKNOWN, newPin, ...(msisdn ? { msisdn } : {}) });
    const number = "+254712000999";
    expect(await first("6042")).toEqual({ ok: false, code: "pin_not_set" });
    expect(await first("6042", "0712000999")).toEqual({ ok: false, code: "pin_not_set" });
    expect(await first("0999", number)).toEqual({ ok: false, code: "pin_weak", reason: "phone_number" });
    expect(await first("6042", number)).toEqual({ ok: true });
    expect(await verify(t.pins, "6042", UNKNOWN)).toEqual({ ok: true });
    expect(t.store.notices.map((n) => [n.msisdn, n.template])).toContainEqual([number, "notice.pin_reset"]);
    expect(t.audit.records.find((r) => r.action === "pin.reset" && r.outcome === "ok")).toMatchObject({ subject: UNKNOWN, payload: { first: true } });
    expect(JSON.stringify(t.audit.records.map((r) => r.payload))).not.toContain("6042");
  });

  it("refuses a reset during SIM-swap cooling, saying when it ends", async () => {
    const reported = await t.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: MSISDN, kind: "sim_swap" });
    expect(reported.ok).toBe(true);
    expect(await t.pins.resetPin({ ...admin, subjectId: SUBJECT, newPin: "7391" })).toEqual({
      ok: false,
      code: "sim_swap_cooling",
      endsAt: new Date("2026-11-28T09:00:00Z"),
    });
    t.advance(72 * 3_600_000);
    expect(await t.pins.resetPin({ ...admin, subjectId: SUBJECT, newPin: "7391" })).toEqual({ ok: true });
  });

  it("refuses a PIN change during SIM-swap cooling, with the old PIN right, and keeps the old PIN", async () => {
    const reported = await t.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: MSISDN, kind: "sim_swap" });
    expect(reported.ok).toBe(true);
    const change = () => t.pins.changePin({ ...customer, subjectId: SUBJECT, oldPin: "4827", newPin: "7391" });
    expect(await change()).toEqual({ ok: false, code: "sim_swap_cooling", endsAt: new Date("2026-11-28T09:00:00Z") });
    expect(await verify(t.pins, "4827")).toEqual({ ok: true });
    expect(await verify(t.pins, "7391")).toMatchObject({ ok: false, code: "pin_wrong" });
    expect(t.actions()).toContain("pin.change:refused");
    // A wrong old PIN in the window is still a counted wrong PIN, not a way to learn of the swap.
    expect(await t.pins.changePin({ ...customer, subjectId: SUBJECT, oldPin: "1111", newPin: "7391" })).toMatchObject({ ok: false, code: "pin_wrong" });
    t.advance(72 * 3_600_000);
    expect(await change()).toEqual({ ok: true });
  });

  it("an instance with the wrong PIN key fails loudly without locking anyone out", async () => {
    const keyed = (key: number) => new HmacPinHasher(Buffer.alloc(32, key));
    const audit = new InMemoryAuditLog(() => new Date("2026-11-25T09:00:00Z"));
    const store = new InMemoryPinStore(audit);
    const simSwap = new SimSwapGuard({ store: new InMemorySimSwapStore(audit) });
    const right = new PinService({ store, hasher: keyed(1), audit, simSwap });
    const misconfigured = new PinService({ store, hasher: keyed(2), audit, simSwap });
    expect(await right.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "4827" })).toEqual({ ok: true });
    // More right PINs than the lockout allows, on the instance whose key is not the one the PIN was set under.
    for (let i = 0; i < 5; i++) await expect(verify(misconfigured, "4827")).rejects.toThrow();
    expect((await store.find(SUBJECT))!).toMatchObject({ failedAttempts: 0, lockedAt: null });
    expect(await verify(right, "4827")).toEqual({ ok: true });
  });

  it("refuses bad input with a clear code and changes nothing", async () => {
    const before = { row: await t.store.find(SUBJECT), audit: t.audit.records.length, checks: t.hasher.verifies };
    const bad = ["48a7", "4".repeat(10_240), "١٢٣٤", "", "４８２７", " 4827", "4827\n"];
    for (const pin of bad) expect((await verify(t.pins, pin)).ok).toBe(false);
    expect(await verify(t.pins, "١٢٣٤")).toEqual({ ok: false, code: "pin_invalid", reason: "not_digits" });
    expect(await verify(t.pins, "4".repeat(10_240))).toEqual({ ok: false, code: "pin_invalid", reason: "too_long" });
    expect(await verify(t.pins, 4827 as unknown as string)).toEqual({ ok: false, code: "pin_invalid", reason: "not_a_string" });
    expect(await verify(t.pins, "4827", "not-a-uuid")).toEqual({ ok: false, code: "invalid_subject" });
    expect(await t.pins.verifyPin({ actor: { type: "hacker" as never, id: "x" }, channel: "ussd", subjectId: SUBJECT, pin: "4827" })).toEqual({
      ok: false,
      code: "invalid_actor",
    });
    expect(await t.pins.setPin({ ...customer, subjectId: UNKNOWN, msisdn: "0712349183", pin: "7391" })).toEqual({ ok: false, code: "invalid_msisdn" });
    expect(await t.pins.changePin({ ...customer, subjectId: SUBJECT, oldPin: "٤٨٢٧", newPin: "7391" })).toEqual({
      ok: false,
      code: "pin_invalid",
      reason: "not_digits",
      field: "oldPin",
    });
    expect({ row: await t.store.find(SUBJECT), audit: t.audit.records.length, checks: t.hasher.verifies }).toEqual(before);
  });

  it("accepts a 4-digit PIN set before the bank raised the minimum length", async () => {
    const raised = new PinService({ store: t.store, hasher: t.hasher, audit: t.audit, simSwap: t.simSwap, policy: { minLength: 6 } });
    expect(await verify(raised, "4827")).toEqual({ ok: true });
  });
});

describe("PinService: one-write verify on a seen credential (a fast hasher)", () => {
  class FastFakeHasher extends FakeHasher {
    readonly fastVerify = true;
  }

  function fastSetup(seenCredentials?: number) {
    const base = setup();
    const hasher = new FastFakeHasher();
    const counts = { count: 0 };
    const countAttempt = base.store.countAttempt.bind(base.store);
    base.store.countAttempt = (...args) => ((counts.count += 1), countAttempt(...args));
    const pins = new PinService({ store: base.store, hasher, audit: base.audit, simSwap: base.simSwap, clock: base.clock, seenCredentials });
    return { ...base, pins, counts };
  }

  it("answers, stores and audits what the counted path does, across a lock and its expiry, counting first only when it must", async () => {
    const runs = await Promise.all(
      [undefined, 0].map(async (seenCredentials) => {
        const s = fastSetup(seenCredentials);
        expect(await s.pins.setPin({ ...customer, subjectId: SUBJECT, msisdn: MSISDN, pin: "4827" })).toEqual({ ok: true });
        const results = [];
        for (const pin of ["4827", "1111", "4827", "1111", "2222", "3333", "4827"]) results.push(await verify(s.pins, pin));
        s.advance(31 * 60_000);
        for (const pin of ["1111", "4827", "2222"]) results.push(await verify(s.pins, pin));
        const { pinHash: _h, ...row } = (await s.store.find(SUBJECT))!;
        return { results, row, audit: s.audit.records.map((r) => [r.action, r.outcome, r.payload]), counted: s.counts.count };
      }),
    );
    const [seen, plain] = runs as [(typeof runs)[number], (typeof runs)[number]];
    expect(seen.results).toEqual(plain.results);
    expect(seen.results.map((r) => (r.ok ? "ok" : r.code))).toEqual(["ok", "pin_wrong", "ok", "pin_wrong", "pin_wrong", "pin_locked", "pin_locked", "pin_wrong", "ok", "pin_wrong"]);
    expect(seen.row).toEqual(plain.row);
    expect(seen.audit).toEqual(plain.audit);
    expect(plain.counted).toBe(10);
    // The first verify, the one refused while locked, and the first after the lock ran out.
    expect(seen.counted).toBe(3);
  });
});

