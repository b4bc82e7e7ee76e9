import { describe, expect, it } from "vitest";
import { isReservedAlias, parseInstrumentAlias, parsePseudonym } from "../../src/core/directory/aliases.js";

describe("parsePseudonym", () => {
  it.each([
    ["mama.jane", "mama.jane", "mama.jane"],
    ["Mama.Jane", "Mama.Jane", "mama.jane"],
    ["  jo_2  ", "jo_2", "jo_2"],
    ["a-b.c_d", "a-b.c_d", "a-b.c_d"],
    ["abc", "abc", "abc"],
    ["a1234567890123456789", "a1234567890123456789", "a1234567890123456789"],
    ["ｍａｍａ.ｊａｎｅ", "mama.jane", "mama.jane"], // full-width forms fold to ASCII under NFKC
  ])("accepts %j", (input, alias, key) => {
    expect(parsePseudonym(input)).toEqual({ ok: true, value: { alias, key } });
  });

  it.each([
    ["ab", "alias_too_short"],
    ["", "alias_too_short"],
    ["a12345678901234567890", "alias_too_long"],
    ["0712345678", "alias_looks_like_phone_number"],
    ["254712345678", "alias_looks_like_phone_number"],
    ["1jane", "alias_must_start_with_letter"],
    ["_jane", "alias_must_start_with_letter"],
    [".jane", "alias_must_start_with_letter"],
    ["mama..jane", "alias_repeated_separator"],
    ["mama._jane", "alias_repeated_separator"],
    ["mama-", "alias_ends_with_separator"],
    ["mama jane", "alias_invalid_characters"],
    ["mama@jane", "alias_invalid_characters"],
    ["jane'; DROP TABLE customer_aliases; --", "alias_too_long"],
    ["j'or'1'='1", "alias_invalid_characters"],
    ["%", "alias_too_short"],
    ["jane%", "alias_invalid_characters"],
    ["\u0430dmin", "alias_not_ascii"], // Cyrillic а
    ["p\u0430ypal", "alias_not_ascii"],
    ["jané", "alias_not_ascii"],
    ["mama\u00a0jane", "alias_invalid_characters"], // NFKC makes a no-break space a plain space
    ["ma\u200dma", "alias_invisible_characters"], // zero-width joiner
    ["ma\u200bma", "alias_invisible_characters"], // zero-width space
    ["\u202ejane", "alias_invisible_characters"], // right-to-left override
    ["jane\u200f", "alias_invisible_characters"], // right-to-left mark
    ["\ufeffjane", "alias_invisible_characters"], // byte-order mark
    ["jane\u0000", "alias_invisible_characters"],
    ["jane\n", "alias_invisible_characters"],
    ["jan\u00ade", "alias_invisible_characters"], // soft hyphen
    ["jane\ufe0f", "alias_invisible_characters"], // variation selector
    ["admin", "alias_reserved"],
    ["ADMIN", "alias_reserved"],
    ["ad.min", "alias_reserved"],
    ["support2", "alias_reserved"],
    ["fingate.kenya", "alias_reserved"],
    ["my-fingate", "alias_reserved"],
    ["ｂａｎｋ", "alias_reserved"],
    ["m-pesa", "alias_reserved"],
    ["customer.care", "alias_reserved"],
    // A brand or a staff word as one part, brands as a beginning, digits passing for letters.
    ["mpesa.help", "alias_reserved"],
    ["safaricom-care", "alias_reserved"],
    ["bank.support", "alias_reserved"],
    ["jane.agent", "alias_reserved"],
    ["mpesa2go", "alias_reserved"],
    ["vodafone_ke", "alias_reserved"],
    ["supp0rt", "alias_reserved"],
    ["officia1", "alias_reserved"],
    ["adm1n", "alias_reserved"],
    ["f1ngate", "alias_reserved"],
    // Letter pairs drawn as one letter: "rn" as "m", "vv" as "w" ("rnpesa" reads "mpesa").
    ["rnpesa", "alias_reserved"],
    ["RNPESA", "alias_reserved"],
    ["adrnin", "alias_reserved"],
    ["safaricorn", "alias_reserved"],
    ["jane.rnpesa", "alias_reserved"],
    ["custorner.care", "alias_reserved"],
    ["vvallet", "alias_reserved"],
    ["rnpe5a", "alias_reserved"],
  ])("refuses %j with %s", (input, code) => {
    expect(parsePseudonym(input)).toEqual({ ok: false, code });
  });

  it("refuses what is not a string", () => {
    for (const value of [undefined, null, 42, {}, ["jane"]]) expect(parsePseudonym(value).ok).toBe(false);
  });

  it("refuses a 10 KB string before normalizing it", () => {
    expect(parsePseudonym("x".repeat(10_240))).toEqual({ ok: false, code: "alias_too_long" });
    expect(parsePseudonym("\u0430".repeat(10_240))).toEqual({ ok: false, code: "alias_too_long" });
  });

  it("lets ordinary names that merely contain a reserved word through", () => {
    for (const alias of ["badminton", "bankole", "helper.joe", "rooted", "systematic", "momoh", "jane.info", "pay.day", "mama.jane", "tigo.lane", "orange.juice", "jane2020", "agentina", "momo.kamara", "edward.teller", "amina.operator", "griffin.gatere", "arnold", "bernard.m", "ernest", "kirwa", "ali", "vvera"]) {
      expect(isReservedAlias(alias), alias).toBe(false);
    }
  });
});

describe("parseInstrumentAlias", () => {
  it("uses 2..16 characters and stores lower case", () => {
    expect(parseInstrumentAlias("Salary")).toEqual({ ok: true, value: "salary" });
    expect(parseInstrumentAlias("mp")).toEqual({ ok: true, value: "mp" });
    expect(parseInstrumentAlias("m")).toEqual({ ok: false, code: "instrument_alias_too_short" });
    expect(parseInstrumentAlias("a234567890123456")).toEqual({ ok: true, value: "a234567890123456" });
    expect(parseInstrumentAlias("a2345678901234567")).toEqual({ ok: false, code: "instrument_alias_too_long" });
  });

  it("shares the character rules but not the reserved words", () => {
    expect(parseInstrumentAlias("wallet")).toEqual({ ok: true, value: "wallet" });
    expect(parseInstrumentAlias("mpesa")).toEqual({ ok: true, value: "mpesa" });
    expect(parseInstrumentAlias("\u0441ard")).toEqual({ ok: false, code: "instrument_alias_not_ascii" });
    expect(parseInstrumentAlias("sal\u200cary")).toEqual({ ok: false, code: "instrument_alias_invisible_characters" });
    expect(parseInstrumentAlias("12")).toEqual({ ok: false, code: "instrument_alias_looks_like_phone_number" });
    expect(parseInstrumentAlias("my card")).toEqual({ ok: false, code: "instrument_alias_invalid_characters" });
    expect(parseInstrumentAlias("a--b")).toEqual({ ok: false, code: "instrument_alias_repeated_separator" });
  });
});
