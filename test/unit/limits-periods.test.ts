import { describe, expect, it } from "vitest";
import { isValidTimeZone, periodKeys } from "../../src/core/limits/periods.js";

describe("periodKeys: local days and months", () => {
  it("21:30 UTC is already the next day in Nairobi (UTC+3) but not in UTC", () => {
    const at = new Date("2026-11-25T21:30:00Z");
    expect(periodKeys(at, "UTC")).toEqual({ dayKey: "2026-11-25", monthKey: "2026-11" });
    expect(periodKeys(at, "Africa/Nairobi")).toEqual({ dayKey: "2026-11-26", monthKey: "2026-11" });
  });

  it("the Nairobi day starts at 21:00 UTC exactly", () => {
    expect(periodKeys(new Date("2026-11-25T20:59:59.999Z"), "Africa/Nairobi").dayKey).toBe("2026-11-25");
    expect(periodKeys(new Date("2026-11-25T21:00:00.000Z"), "Africa/Nairobi").dayKey).toBe("2026-11-26");
  });

  it("months turn over in local time: 30 November 21:30 UTC is December in Nairobi", () => {
    const at = new Date("2026-11-30T21:30:00Z");
    expect(periodKeys(at, "UTC")).toEqual({ dayKey: "2026-11-30", monthKey: "2026-11" });
    expect(periodKeys(at, "Africa/Nairobi")).toEqual({ dayKey: "2026-12-01", monthKey: "2026-12" });
  });

  it("years turn over too, and zones west of UTC lag behind", () => {
    const at = new Date("2026-12-31T22:00:00Z");
    expect(periodKeys(at, "Africa/Nairobi")).toEqual({ dayKey: "2027-01-01", monthKey: "2027-01" });
    expect(periodKeys(new Date("2027-01-01T02:00:00Z"), "America/Lima")).toEqual({ dayKey: "2026-12-31", monthKey: "2026-12" });
  });

  it("half-hour zones: India is UTC+5:30", () => {
    expect(periodKeys(new Date("2026-11-25T18:29:59Z"), "Asia/Kolkata").dayKey).toBe("2026-11-25");
    expect(periodKeys(new Date("2026-11-25T18:30:00Z"), "Asia/Kolkata").dayKey).toBe("2026-11-26");
  });

  it("leap days exist", () => {
    expect(periodKeys(new Date("2028-02-29T12:00:00Z"), "UTC").dayKey).toBe("2028-02-29");
  });

  it("answers the same as a fresh formatter for every minute around DST changes and day ends, cached or not", () => {
    const fresh = (at: Date, timeZone: string) => {
      const parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(at);
      const part = (t: string) => parts.find((p) => p.type === t)!.value;
      return { dayKey: `${part("year")}-${part("month")}-${part("day")}`, monthKey: `${part("year")}-${part("month")}` };
    };
    // Europe/London and America/New_York change offset at night; Kolkata and Kathmandu are :30 and :45 off UTC.
    const starts = ["2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z", "2026-03-08T05:00:00Z", "2026-11-01T04:00:00Z", "2026-11-25T18:00:00Z"];
    for (const zone of ["Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Africa/Nairobi"]) {
      for (const start of starts) {
        for (let m = 0; m < 200; m++) {
          // Two instants in the same minute, the second served from the cache.
          for (const offset of [0, 59_999]) {
            const at = new Date(Date.parse(start) + m * 60_000 + offset);
            expect(periodKeys(at, zone)).toEqual(fresh(at, zone));
          }
        }
      }
    }
  });

  it("a caller changing the keys it got does not change what the next caller gets", () => {
    const at = new Date("2026-11-25T10:00:00Z");
    periodKeys(at, "UTC").dayKey = "changed";
    expect(periodKeys(at, "UTC").dayKey).toBe("2026-11-25");
  });

  it("knows IANA zones and refuses anything else", () => {
    expect(isValidTimeZone("Africa/Nairobi")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
    expect(isValidTimeZone(42)).toBe(false);
    expect(() => periodKeys(new Date(), "Mars/Olympus_Mons")).toThrow(RangeError);
    expect(() => periodKeys(new Date(Number.NaN), "UTC")).toThrow(RangeError);
  });
});
