import { describe, expect, it } from "vitest";
import { countAttempt, isLocked, lockEnd, lockUntil, settleRight } from "../../src/core/auth/lockout.js";
import { DEFAULT_PIN_POLICY, resolvePinPolicy } from "../../src/core/auth/pin-policy.js";
import { pinFormatProblem, weakPinReason } from "../../src/core/auth/pin-rules.js";
import type { PinCredential } from "../../src/core/auth/ports.js";

describe("PIN format", () => {
  it("accepts ASCII digits within the bounds", () => {
    expect(pinFormatProblem("4827", 4, 4)).toBeNull();
    expect(pinFormatProblem("590316", 4, 6)).toBeNull();
  });

  it("names what is wrong without echoing the input", () => {
    expect(pinFormatProblem("482", 4, 6)).toBe("too_short");
    expect(pinFormatProblem("4827591", 4, 6)).toBe("too_long");
    expect(pinFormatProblem("48a7", 4, 6)).toBe("not_digits");
    expect(pinFormatProblem(" 4827", 4, 6)).toBe("not_digits");
    expect(pinFormatProblem(4827, 4, 6)).toBe("not_a_string");
    expect(pinFormatProblem(null, 4, 6)).toBe("not_a_string");
  });

  it("refuses unicode digits that look like ASCII ones", () => {
    expect(pinFormatProblem("١٢٣٤", 4, 6)).toBe("not_digits"); // Arabic-Indic
    expect(pinFormatProblem("４８２７", 4, 6)).toBe("not_digits"); // full-width
    expect(pinFormatProblem("४८२७", 4, 6)).toBe("not_digits"); // Devanagari
  });

  it("refuses a 10 KB string by its length", () => {
    expect(pinFormatProblem("4".repeat(10_240), 4, 6)).toBe("too_long");
  });
});

describe("weak PINs", () => {
  it.each([
    ["0000", "same_digit"],
    ["777777", "same_digit"],
    ["1234", "sequence"],
    ["0123", "sequence"],
    ["9876", "sequence"],
    ["7890", "sequence"],
    ["456789", "sequence"],
    ["210987", "sequence"],
    ["1212", "repeating"],
    ["123123", "repeating"],
    ["4545", "repeating"],
    ["1004", "common"],
    ["2000", "common"],
    ["6969", "repeating"],
    ["2001", "common"],
    ["1122", "common"],
    ["2580", "common"],
  ])("%s is weak (%s)", (pin, reason) => {
    expect(weakPinReason(pin, null)).toBe(reason);
  });

  it("refuses the last digits of the subject's own number", () => {
    expect(weakPinReason("9183", "+254712349183")).toBe("phone_number");
    expect(weakPinReason("349183", "+254712349183")).toBe("phone_number");
    expect(weakPinReason("9183", "+254700000001")).toBeNull();
  });

  it("accepts ordinary PINs", () => {
    for (const pin of ["4827", "590316", "7391", "8264", "1357"]) expect(weakPinReason(pin, "+254712345678"), pin).toBeNull();
  });
});

describe("PIN policy", () => {
  it("defaults to 4 digits, 3 attempts, 30-minute locks, the third lock in a row until the bank unlocks", () => {
    expect(resolvePinPolicy()).toEqual(DEFAULT_PIN_POLICY);
    expect(DEFAULT_PIN_POLICY).toEqual({ minLength: 4, maxLength: 4, maxAttempts: 3, lockMinutes: 30, maxTimedLocks: 3 });
    expect(resolvePinPolicy({ maxTimedLocks: 0 }).maxTimedLocks).toBe(1);
    expect(resolvePinPolicy({ maxTimedLocks: 1e9 }).maxTimedLocks).toBe(10);
  });

  it("clamps what a bank sets into safe ranges", () => {
    expect(resolvePinPolicy({ maxAttempts: 50 }).maxAttempts).toBe(10);
    expect(resolvePinPolicy({ maxAttempts: 0 }).maxAttempts).toBe(1);
    expect(resolvePinPolicy({ maxAttempts: Number.NaN }).maxAttempts).toBe(3);
    expect(resolvePinPolicy({ minLength: 2, maxLength: 12 })).toMatchObject({ minLength: 4, maxLength: 6 });
    expect(resolvePinPolicy({ minLength: 6 })).toMatchObject({ minLength: 6, maxLength: 6 });
    expect(resolvePinPolicy({ lockMinutes: -5 }).lockMinutes).toBe(0);
    expect(resolvePinPolicy({ lockMinutes: 1e9 }).lockMinutes).toBe(43_200);
  });
});

describe("lockout arithmetic", () => {
  const now = new Date("2026-11-25T09:00:00Z");
  const base: PinCredential = {
    subjectId: "s",
    msisdn: "+254712345678",
    pinHash: "h",
    pinScheme: "fake",
    failedAttempts: 0,
    lockedAt: null,
    lockedUntil: null,
    lockCount: 0,
    attemptSeq: 0,
    pinSetAt: now,
  };
  const rule = { maxAttempts: 3, lockMinutes: 30, maxTimedLocks: 3 };

  it("locks on the attempt that reaches the limit", () => {
    const { next, reservation } = countAttempt({ ...base, failedAttempts: 2 }, now, rule);
    expect(reservation).toMatchObject({ kind: "counted", failedAttempts: 3, lockedNow: true, lockedUntil: lockEnd(rule, now) });
    expect(isLocked(next!, now)).toBe(true);
  });

  it("refuses while locked and starts afresh once a timed lock has run out", () => {
    const locked = { ...base, failedAttempts: 3, lockedAt: now, lockedUntil: new Date(now.getTime() + 60_000) };
    expect(countAttempt(locked, now, rule)).toEqual({ next: null, reservation: { kind: "locked", lockedUntil: locked.lockedUntil, lockedAt: now, failedAttempts: 3, attemptSeq: 0 } });
    const later = new Date(now.getTime() + 60_000);
    expect(countAttempt(locked, later, rule).reservation).toMatchObject({ kind: "counted", failedAttempts: 1, lockedNow: false });
  });

  it("the lock that makes maxTimedLocks in a row lasts until the bank unlocks; a right PIN in between starts the tally again", () => {
    let c: PinCredential = base;
    let at = now;
    const lockOnce = () => {
      for (let i = 0; i < rule.maxAttempts; i++) c = countAttempt(c, at, rule).next ?? c;
      return c;
    };
    expect(lockOnce()).toMatchObject({ lockCount: 1, lockedUntil: new Date(at.getTime() + 30 * 60_000) });
    at = new Date(at.getTime() + 31 * 60_000);
    expect(lockOnce()).toMatchObject({ lockCount: 2, lockedUntil: new Date(at.getTime() + 30 * 60_000) });
    at = new Date(at.getTime() + 31 * 60_000);
    expect(lockOnce()).toMatchObject({ lockCount: 3, lockedUntil: null });
    expect(isLocked(c, new Date("2099-01-01"))).toBe(true);
    expect(countAttempt(c, new Date("2099-01-01"), rule).reservation).toMatchObject({ kind: "locked", lockedUntil: null, attemptSeq: 9 });
    expect(lockUntil(rule, now, 2)).toEqual(lockEnd(rule, now));
  });

  it("a right PIN forgives the attempts counted up to it, never those counted after it", () => {
    // Attempts 1, 2, 3 counted at once (3 locked); 1 was right: 2 and 3 stay counted, unlocked.
    let c: PinCredential = base;
    for (let i = 0; i < 3; i++) c = countAttempt(c, now, rule).next!;
    expect(c).toMatchObject({ failedAttempts: 3, attemptSeq: 3, lockCount: 1 });
    expect(settleRight(c, 1)).toEqual({ failedAttempts: 2, lockedAt: null, lockedUntil: null, lockCount: 0 });
    expect(settleRight(c, 3)).toEqual({ failedAttempts: 0, lockedAt: null, lockedUntil: null, lockCount: 0 });
    // Another right PIN already cleared the count and three attempts after it locked: attempt 1's
    // late settle changes nothing, the lock stays.
    const relocked = { ...c, failedAttempts: 3, attemptSeq: 6 };
    expect(settleRight(relocked, 1)).toBeNull();
    expect(settleRight(relocked, 3)).toBeNull();
    expect(settleRight(relocked, 4)).toEqual({ failedAttempts: 2, lockedAt: null, lockedUntil: null, lockCount: 0 });
  });

  it("a lock of 0 minutes lasts until the bank unlocks", () => {
    expect(lockEnd({ maxAttempts: 3, lockMinutes: 0, maxTimedLocks: 3 }, now)).toBeNull();
    expect(isLocked({ lockedAt: now, lockedUntil: null }, new Date("2099-01-01"))).toBe(true);
  });
});
