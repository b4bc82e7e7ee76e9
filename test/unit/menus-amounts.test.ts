import { describe, expect, it } from "vitest";
import { AesGcmSealer } from "../../src/menus/adapters/sealer.js";
import { parseAmount } from "../../src/menus/engine/amounts.js";
import { mayCorrectAmount, REFUSAL_KEYS, refusalMessage } from "../../src/menus/refusals.js";
import { createTranslator, formatMoney } from "../../src/infra/i18n/index.js";

describe("parseAmount", () => {
  it.each([
    ["150", 150_00n],
    ["150.5", 150_50n],
    ["150,50", 150_50n],
    ["1,500", 1_500_00n],
    ["1,500.25", 1_500_25n],
    ["0.01", 1n],
    ["007", 7_00n],
    [" 25 ", 25_00n],
    ["1 500", 1_500_00n],
    ["12 345 678,50", 12_345_678_50n],
    ["12,34,567.50", 12_34_567_50n],
    ["1,00,000", 1_00_000_00n],
  ])("en, sw, hi: %s → %s", (input, minor) => {
    for (const lang of ["en", "sw", "hi"] as const) expect(parseAmount(input, "KES", lang), lang).toBe(minor);
  });

  it.each(["", "0", "0.00", "-5", "1.234", "1e3", "12abc", "1,5,0", "9999999999999", "NaN", "Infinity", "1..2", "5 5", "1 2 3 4", "15 00", "1 500.123", "1\n500", "1,2,345", "12,34,56"])(
    "en, sw, hi refuse %j",
    (input) => {
      for (const lang of ["en", "sw", "hi"] as const) expect(parseAmount(input, "KES", lang), lang).toBeNull();
    },
  );

  it.each([
    ["150", 150_00n],
    ["150,5", 150_50n],
    ["150,50", 150_50n],
    ["1,5", 1_50n],
    ["1 500", 1_500_00n],
    ["1\u00a0500,25", 1_500_25n],
    ["12 345 678,50", 12_345_678_50n],
    // A dot is read as the decimal mark, never as grouping: a slip reads too little, not 1000x.
    ["150.50", 150_50n],
  ])("fr (decimal comma): %s → %s", (input, minor) => expect(parseAmount(input, "KES", "fr")).toBe(minor));

  it.each(["1,500", "1.500", "1.234,50", "1,234.50", "1,5,0", "1 500,123", "0,00", "5 5"])("fr refuses %j (more decimals than KES, or two marks)", (input) => {
    expect(parseAmount(input, "KES", "fr")).toBeNull();
  });

  it("reads back every amount as the customer's screens show it, 3-decimal currencies included", () => {
    for (const lang of ["en", "sw", "fr", "hi"] as const) {
      for (const [minor, currency] of [[150_500n, "TND"], [150_500n, "KWD"], [12_34_567_50n, "KES"], [1_234_50n, "INR"], [5n, "KES"], [1_500n, "JPY"]] as const) {
        const shown = formatMoney(lang, minor, currency).replace(/[^\d.,\s\u00a0\u202f]/g, "").trim();
        expect(parseAmount(shown, currency, lang), `${lang} ${JSON.stringify(shown)} ${currency}`).toBe(minor);
      }
    }
    expect(parseAmount("150,500", "TND", "fr")).toBe(150_500n);
    // The decimal-point reading is unchanged: there a comma before three digits groups thousands.
    expect(parseAmount("150,500", "TND", "en")).toBe(150_500_000n);
  });

  it("uses the currency's decimals", () => {
    expect(parseAmount("500", "JPY", "en")).toBe(500n);
    expect(parseAmount("5.5", "JPY", "en")).toBeNull();
    expect(parseAmount("5,5", "JPY", "fr")).toBeNull();
    expect(parseAmount("1.234", "BHD", "en")).toBe(1_234n);
    expect(parseAmount("1,234", "BHD", "fr")).toBe(1_234n);
  });
});

describe("formatMoney", () => {
  it("is exact from minor units, beyond a double's precision", () => {
    expect(formatMoney("en", 900_719_925_474_099_312n, "KES").replace(/\s/g, " ")).toBe("KES 9,007,199,254,740,993.12");
    expect(formatMoney("fr", 123_45n, "KES").replace(/\s/g, " ")).toBe("123,45 KES");
    expect(formatMoney("en", 5n, "KES").replace(/\s/g, " ")).toBe("KES 0.05");
    expect(formatMoney("en", 500n, "JPY")).toBe("¥500");
  });
});

describe("AesGcmSealer", () => {
  it("opens only in the same context with the same key", () => {
    const sealer = new AesGcmSealer(Buffer.alloc(32, 1));
    const sealed = sealer.seal("4827", "at:s1:reg");
    expect(sealed).not.toContain("4827");
    expect(sealer.open(sealed, "at:s1:reg")).toBe("4827");
    expect(sealer.open(sealed, "at:s2:reg")).toBeNull();
    expect(new AesGcmSealer(Buffer.alloc(32, 2)).open(sealed, "at:s1:reg")).toBeNull();
    expect(sealer.open("garbage", "at:s1:reg")).toBeNull();
    expect(sealer.seal("4827", "x")).not.toBe(sealer.seal("4827", "x"));
  });

  it("refuses a sealed value whose tag was cut short or altered", () => {
    const sealer = new AesGcmSealer(Buffer.alloc(32, 1));
    const raw = Buffer.from(sealer.seal("4827", "ctx"), "base64url");
    // The IV, then only 4 bytes of the 16-byte tag and no ciphertext.
    expect(sealer.open(raw.subarray(0, 16).toString("base64url"), "ctx")).toBeNull();
    const flipped = Buffer.from(raw);
    flipped[20]! ^= 1;
    expect(sealer.open(flipped.toString("base64url"), "ctx")).toBeNull();
    expect(sealer.open(raw.toString("base64url"), "ctx")).toBe("4827");
  });
});

describe("refusal table", () => {
  it("maps codes to messages, limits with what remains, unknown codes to a generic message", () => {
    expect(refusalMessage("insufficient_funds")).toEqual({ key: "err.insufficient_funds" });
    expect(refusalMessage("daily_amount_exceeded", { currency: "KES", remainingMinor: 35_00n, sending: true })).toEqual({
      key: "err.limit_remaining",
      params: { remaining: { kind: "money", minor: "3500", currency: "KES" } },
    });
    expect(refusalMessage("per_transaction_exceeded", { currency: "KES", remainingMinor: 35_00n })).toEqual({
      key: "err.limit_remaining_amount",
      params: { remaining: { kind: "money", minor: "3500", currency: "KES" } },
    });
    // A per-payment maximum is not "what you can still send today": two such payments may fit the day.
    expect(refusalMessage("per_transaction_exceeded", { currency: "KES", remainingMinor: 10_000_00n, sending: true })).toEqual({
      key: "err.limit_remaining_amount",
      params: { remaining: { kind: "money", minor: "1000000", currency: "KES" } },
    });
    expect(refusalMessage("daily_amount_exceeded", { currency: "KES", remainingMinor: 0n, sending: true })).toEqual({ key: "err.limit_reached" });
    expect(refusalMessage("monthly_amount_exceeded", { currency: "KES", remainingMinor: 0n, sending: true })).toEqual({ key: "err.limit_reached_month" });
    // Nothing left, but which limit binds is unknown (per payment), or it is not the sender's own.
    expect(refusalMessage("per_transaction_exceeded", { currency: "KES", remainingMinor: 0n, sending: true })).toEqual({ key: "err.limit_reached_now" });
    expect(refusalMessage("daily_amount_exceeded", { currency: "KES", remainingMinor: 0n })).toEqual({ key: "err.limit_none" });
    // No amount (a retry, or someone else's limit: the customer's on an agent's screen): "your limit" only when sending.
    expect(refusalMessage("daily_amount_exceeded", { currency: "KES" })).toEqual({ key: "err.limit_over" });
    expect(refusalMessage("per_transaction_exceeded", { currency: "KES" })).toEqual({ key: "err.limit_over" });
    expect(refusalMessage("daily_amount_exceeded", { currency: "KES", sending: true })).toEqual({ key: "err.limit_exceeded" });
    expect(mayCorrectAmount("daily_amount_exceeded", 35_00n)).toBe(true);
    expect(mayCorrectAmount("daily_amount_exceeded", 0n)).toBe(false);
    expect(mayCorrectAmount("invalid_amount")).toBe(true);
    expect(refusalMessage({ code: "pin_locked", until: null })).toEqual({ key: "err.pin_locked" });
    expect(refusalMessage("something_new")).toEqual({ key: "err.generic" });
  });

  it("every message the table names exists in English (the pager test checks the other locales)", () => {
    const t = createTranslator();
    for (const key of [...REFUSAL_KEYS, "err.limit_remaining", "err.pin_locked_until", "err.sim_swap_cooling_until"]) expect(t.has("en", key), key).toBe(true);
  });
});
