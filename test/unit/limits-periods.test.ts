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
