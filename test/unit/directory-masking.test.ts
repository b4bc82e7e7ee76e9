import { describe, expect, it } from "vitest";
import { maskDisplayName, maskExternalRef, maskMsisdn } from "../../src/core/directory/masking.js";
import { parseDisplayName } from "../../src/core/directory/names.js";

describe("maskDisplayName", () => {
  it.each([
    ["Jane Wanjiru", "JANE W***"],
    ["Jane Wanjiru Mwangi", "JANE W*** M***"],
    ["jane", "JANE"],
    ["Mary-Jane O'Neil", "MARY J*** O***"], // a hyphen joins two names: the second is masked too
    ["Jane.Wanjiru.Mwangi", "JANE W*** M***"], // else dots or hyphens would show the whole name
    ["Jane-Wanjiru-Mwangi", "JANE W*** M***"],
    ["Jane. Wanjiru", "JANE W***"],
    ["Amélie Ébongué", "AMÉLIE É***"],
    ["Jane 'Mama' Wanjiru", "JANE M*** W***"],
    ["Ιωάννα Παπαδοπούλου", "ΙΩΆΝΝΑ Π***"],
    ["प्रिया शर्मा", "प्रिया श***"],
    ["Zhang Wěi", "ZHANG W***"],
    ["istanbul ilker", "ISTANBUL I***"], // locale-independent: no dotted capital İ
    ["Jane -'9x", "JANE X***"], // ASCII: the first letter, whatever comes before it
    ["Jane 42", "JANE ***"],
    ["Jane e\u0301mile", "JANE E\u0301***"], // a combining mark stays with its letter (then upper-cased)
  ])("%j → %j", (name, masked) => {
    expect(maskDisplayName(name)).toBe(masked);
  });

  it("masks a name it cannot split", () => {
    expect(maskDisplayName("")).toBe("***");
  });
});

describe("maskMsisdn and maskExternalRef", () => {
  it("keeps the country prefix and the last three digits", () => {
    expect(maskMsisdn("+254712345678")).toBe("+2547*****678");
    expect(maskMsisdn("+1234567")).toBe("********");
  });

  it("shows only the last four of an external reference", () => {
    expect(maskExternalRef("4242")).toBe("**** 4242");
    expect(maskExternalRef(null)).toBeNull();
  });
});

describe("parseDisplayName", () => {
  it.each([
    ["Jane Wanjiru", "Jane Wanjiru"],
    ["  Jane   Wanjiru  ", "Jane Wanjiru"],
    ["Jane\u00a0Wanjiru", "Jane Wanjiru"], // no-break space becomes a space
    ["O\u2019Neil", "O'Neil"],
    ["Ame\u0301lie", "Amélie"], // NFC: e + combining acute → é
    ["प्रिया शर्मा", "प्रिया शर्मा"],
    ["Jean-Luc St. Clair", "Jean-Luc St. Clair"],
    ["张伟", "张伟"],
    ["Анна Ivanova", "Анна Ivanova"], // scripts may differ between words
    ["x".repeat(60), "x".repeat(60)],
  ])("accepts %j", (input, name) => {
    const result = parseDisplayName(input);
    expect(result).toEqual({ ok: true, value: name });
    if (result.ok) expect(result.value).toBe(result.value.normalize("NFC"));
  });

  it.each([
    ["", "display_name_required"],
    ["   ", "display_name_required"],
    ["x".repeat(61), "display_name_too_long"],
    ["Jane\nWanjiru", "display_name_invalid_characters"],
    ["Jane\u0000", "display_name_invalid_characters"],
    ["Jane\u200bWanjiru", "display_name_invalid_characters"],
    ["\u202eJane", "display_name_invalid_characters"],
    ["Jane2", "display_name_invalid_characters"],
    ["Jane <script>", "display_name_invalid_characters"],
    ["Robert'); DROP TABLE customers;--", "display_name_invalid_characters"],
    ["'Jane", "display_name_invalid_characters"],
    ["admin'--", "display_name_invalid_characters"],
    ["Jane..", "display_name_invalid_characters"],
    ["...", "display_name_invalid_characters"],
    ["Ja\u0301\u0300\u0302\u0303\u0304ne", "display_name_invalid_characters"], // a pile of combining marks
    ["Jane 🙂", "display_name_invalid_characters"],
    ["\u0430dmin", "display_name_mixed_scripts"], // Cyrillic а among Latin letters
    ["Jane P\u0430ul", "display_name_mixed_scripts"],
    ["\u0391lice", "display_name_mixed_scripts"], // Greek Alpha
    // Names that would pass, masked, for the platform, its staff or a brand on a payer's screen.
    ["Fingate Support", "display_name_reserved"],
    ["FinGate", "display_name_reserved"],
    ["Safaricom Care", "display_name_reserved"],
    ["M-Pesa Agent", "display_name_reserved"],
    ["Bank Support", "display_name_reserved"],
    ["Jane Official", "display_name_reserved"],
  ])("refuses %j with %s", (input, code) => {
    expect(parseDisplayName(input)).toEqual({ ok: false, code });
  });

  it("lets real names that look like reserved words or hold them inside a word through", () => {
    for (const name of ["Bankole Adeyemi", "Edward Teller", "Momo Kamara", "Agnes Supportis", "Helen Banks", "Orange Mwangi", "Griffin Gatere", "Delfin Gatete", "Amina Operator", "Joy Cashier"]) {
      expect(parseDisplayName(name), name).toEqual({ ok: true, value: name });
    }
  });

  it("refuses a 10 KB name unread", () => {
    expect(parseDisplayName("x".repeat(10_240))).toEqual({ ok: false, code: "display_name_too_long" });
  });

  it("refuses what is not a string", () => {
    expect(parseDisplayName(undefined)).toEqual({ ok: false, code: "display_name_required" });
    expect(parseDisplayName(42)).toEqual({ ok: false, code: "display_name_required" });
  });
});
