import { describe, expect, it } from "vitest";
import { MAX_MSISDN_INPUT_LENGTH, isCountryCode, normalizeMsisdn } from "../../src/core/directory/msisdn.js";

describe("normalizeMsisdn", () => {
  it.each([
    ["0712 345 678", "KE"],
    ["0712345678", "KE"],
    ["712345678", "KE"],
    ["254712345678", "KE"],
    ["+254712345678", "KE"],
    ["+254 712 345 678", null],
    ["00254712345678", "KE"],
    ["00254712345678", null],
    ["(0712) 345-678", "KE"],
    ["  +254.712.345.678  ", "TZ"],
    ["254712345678", "US"], // international without "+" when the default country's reading fails
    ["254712345678", null],
  ])("reads %j (default %s) as +254712345678", (input, country) => {
    expect(normalizeMsisdn(input, country)).toEqual({ ok: true, value: "+254712345678" });
  });

  it("uses the institution's default country for national numbers", () => {
    expect(normalizeMsisdn("0712 345 678", "TZ")).toEqual({ ok: true, value: "+255712345678" });
    expect(normalizeMsisdn("09876 543210", "IN")).toEqual({ ok: true, value: "+919876543210" });
  });

  it("accepts numbering plans that cannot tell mobile from fixed (NANP)", () => {
    expect(normalizeMsisdn("+1 201 555 0123")).toEqual({ ok: true, value: "+12015550123" });
  });

  it.each([
    ["020 2222222", "KE"], // Nairobi fixed line
    ["+254202222222", null],
    ["+44 20 7946 0958", null], // London fixed line
  ])("refuses fixed lines: %j", (input, country) => {
    expect(normalizeMsisdn(input, country)).toEqual({ ok: false, code: "not_a_mobile_number" });
  });

  it.each([
    ["", "KE"],
    ["   ", "KE"],
    ["0712345678", null], // national number without a default country
    ["0712345678", "XX"], // unknown default country is ignored
    ["+2547123456789", null], // one digit too many
    ["+25471234567", null], // one digit too few
    ["+254800123456", null], // not allocated
    ["+0712345678", null],
    ["12", "KE"],
    ["0712 345 678 ext 5", "KE"],
    ["0712345678#", "KE"],
    ["tel:+254712345678", null],
    ["+254712345678'; DROP TABLE customers; --", null],
    ["٠٧١٢٣٤٥٦٧٨", "KE"], // Arabic-Indic digits are not what telcos send
    ["+２５４７１２３４５６７８", null], // full-width digits
    ["+254\u200b712345678", null], // zero-width space
    ["9".repeat(10_000), "KE"],
    ["+".repeat(20), null],
  ])("refuses %j as invalid_msisdn", (input, country) => {
    expect(normalizeMsisdn(input, country)).toEqual({ ok: false, code: "invalid_msisdn" });
  });

  it("refuses input that is not a string", () => {
    for (const value of [undefined, null, 254712345678, {}, ["+254712345678"]]) {
      expect(normalizeMsisdn(value, "KE")).toEqual({ ok: false, code: "invalid_msisdn" });
    }
  });

  it("bounds the input length before parsing", () => {
    const padded = `+254712345678${" ".repeat(MAX_MSISDN_INPUT_LENGTH)}`;
    expect(normalizeMsisdn(padded)).toEqual({ ok: false, code: "invalid_msisdn" });
  });

  it("knows country codes", () => {
    expect(isCountryCode("KE")).toBe(true);
    expect(isCountryCode("ke")).toBe(false);
    expect(isCountryCode("XX")).toBe(false);
    expect(isCountryCode(undefined)).toBe(false);
  });
});
