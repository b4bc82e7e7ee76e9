/**
 * The e2e tests' air-budget check (test/helpers/ussd-rig.ts airBudget, expectOnAir) must judge a
 * reply's encoding as the gateway's pager does: GSM-7 (GSM 03.38's basic set and extension table,
 * 182 septets) unless a character needs UCS-2 (80 units). Before 2026-11-30 it took any character
 * outside printable ASCII (é, è, à, ü, Ñ, ß …) for UCS-2 and held French screens to 80. And the
 * USSD channel's own table (src/ussd/gsm.ts) must be the SMS channel's (src/sms/gsm-alphabet.ts),
 * which encodes the septets: channels may not import each other, so the two are compared here.
 */
import { describe, expect, it } from "vitest";
import { gsmSeptets } from "../../src/sms/gsm-alphabet.js";
import { isGsm7, measure } from "../../src/ussd/gsm.js";
import { airBudget } from "../helpers/ussd-rig.js";

/** GSM 03.38's basic set without its escape (0x1B), and its extension table. */
const BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENSION = "\f^{}\\[~]|€";
const NO_BREAK_SPACES = [0xa0, 0x2007, 0x202f];

describe("the e2e air budget", () => {
  it("takes GSM 03.38's basic characters for GSM-7, one septet each, so a French screen has 182", () => {
    const french = "END Cette session est terminée. Rappelez. Déjà payé? à è ù ì ò Ç Ñ ü ö ä Å Ø É ß Æ";
    expect(airBudget(french)).toEqual({ body: french.slice(4), encoding: "gsm7", length: [...french.slice(4)].length, limit: 182 });
    expect(airBudget(`CON ${BASIC}`)).toMatchObject({ encoding: "gsm7", length: BASIC.length, limit: 182 });
  });

  it("counts the extension table's characters twice, € included", () => {
    expect(airBudget(`END ${EXTENSION}`)).toMatchObject({ encoding: "gsm7", length: 2 * EXTENSION.length, limit: 182 });
  });

  it("takes anything else (ê, ç lower-case, a backtick, Devanagari) for UCS-2, 80 units", () => {
    for (const body of ["Votre fenêtre", "garçon", "a`b", "शेष राशि"]) {
      expect(airBudget(`END ${body}`), body).toEqual({ body, encoding: "ucs2", length: body.length, limit: 80 });
    }
  });
});

describe("the USSD channel's GSM-7 table", () => {
  it("is exactly GSM 03.38's, as the SMS channel encodes it, over the whole Basic Multilingual Plane", () => {
    const differ: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      // No-break spaces (French amounts) go on the air as plain spaces (toAir): measured as one.
      if (NO_BREAK_SPACES.includes(code)) {
        expect(measure(String.fromCharCode(code))).toEqual({ encoding: "gsm7", length: 1 });
        continue;
      }
      const ch = String.fromCharCode(code);
      const septets = gsmSeptets(ch);
      const ussd = measure(ch);
      const same = septets === null ? !isGsm7(ch) && ussd.encoding === "ucs2" : isGsm7(ch) && ussd.encoding === "gsm7" && ussd.length === septets.length;
      if (!same) differ.push(`U+${code.toString(16).padStart(4, "0")}`);
    }
    expect(differ).toEqual([]);
    for (const ch of BASIC) expect(gsmSeptets(ch)?.length, JSON.stringify(ch)).toBe(1);
    for (const ch of EXTENSION) expect(gsmSeptets(ch)?.length, JSON.stringify(ch)).toBe(2);
  });
});
