/** Rendering notices with the real locales, encoding them, and sizing jobs. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeSms } from "../../src/sms/encoding.js";
import { chunk, messagesPerJob } from "../../src/sms/outbox/jobs.js";
import { createNoticeRenderer, RenderError } from "../../src/sms/outbox/renderer.js";
import { GSM_SINGLE_SEPTETS } from "../../src/sms/encoding.js";
import { gsmSeptets } from "../../src/sms/gsm-alphabet.js";

const renderer = createNoticeRenderer();
const p2p = { amountMinor: "150050", feeMinor: "1000", currency: "KES", name: "JANE W***", ref: "AB12CD34EF" };

describe("notice renderer", () => {
  it("renders every template in every language, each one GSM-7 single part except Hindi", () => {
    const params: Record<string, string> = { ...p2p, netMinor: "149050", agent: "Duka 12", customer: "JOHN K***", commissionMinor: "500", code: "*384#", minutes: "5" };
    for (const key of renderer.keys()) {
      for (const lang of ["en", "sw", "fr"]) {
        const encoded = encodeSms(renderer.render(key, params, lang), { reference: 1 });
        expect({ key, lang, dataCoding: encoded.dataCoding, parts: encoded.parts.length }).toEqual({ key, lang, dataCoding: 0, parts: 1 });
      }
      expect(encodeSms(renderer.render(key, params, "hi"), { reference: 1 }).dataCoding).toBe(8);
    }
  });

  it("formats money per language from minor units, without no-break spaces", () => {
    expect(renderer.render("receipt.p2p_sent", p2p, "en")).toBe("Sent KES 1,500.50 to JANE W***. Fee KES 10.00. Ref AB12CD34EF.");
    expect(renderer.render("receipt.p2p_sent", p2p, "fr")).toBe("Envoi de 1 500,50 KES à JANE W***. Frais 10,00 KES. Réf AB12CD34EF.");
  });

  it("falls back to the default language for none or an unknown one", () => {
    const sw = createNoticeRenderer({ defaultLanguage: "sw" });
    expect(sw.render("notice.pin_changed", {}, null)).toMatch(/^PIN yako/);
    expect(sw.render("notice.pin_changed", {}, "de")).toMatch(/^PIN yako/);
    expect(sw.render("notice.pin_changed", {}, "en")).toMatch(/^Your PIN/);
  });

  it("refuses unknown templates, missing parameters, bad amounts and anything named like a PIN", () => {
    expect(() => renderer.render("receipt.nope", {}, "en")).toThrow(RenderError);
    expect(() => renderer.render("receipt.p2p_sent", { ...p2p, name: undefined as unknown as string }, "en")).toThrow(/missing parameter "name"/);
    expect(() => renderer.render("receipt.p2p_sent", { ...p2p, amountMinor: "1.5" }, "en")).toThrow(/minor units/);
    expect(() => renderer.render("notice.pin_changed", { pin: "1234" }, "en")).toThrow(/secret/);
  });

  it("a value is never interpolated again", () => {
    expect(renderer.render("receipt.p2p_received", { ...p2p, name: "{{amount}}" }, "en")).toBe("Received KES 1,500.50 from {{amount}}. Ref AB12CD34EF.");
  });
});

describe("GSM single-part fast path", () => {
  it("gives the septets of the per-character table for any GSM text that fits one part", () => {
    const gsm = "@£$¥èéùìòÇ\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCZÄÖÑÜ§¿abcxyzäöñüà^{}\\[~]|€";
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...gsm), { maxLength: 170 }), (chars) => {
        const expected = Buffer.from(chars.flatMap((c) => [...gsmSeptets(c)!]));
        const encoded = encodeSms(chars.join(""), { reference: 7 });
        expect(encoded.dataCoding).toBe(0);
        if (expected.length <= GSM_SINGLE_SEPTETS) expect(encoded).toEqual({ dataCoding: 0, parts: [expected], udhi: false });
        else expect(Buffer.concat(encoded.parts.map((p) => p.subarray(6)))).toEqual(expected);
      }),
    );
  });
});

describe("job sizing", () => {
  it("gives a capped link jobs of a tenth of a second, and splits messages in order", () => {
    expect(messagesPerJob(null, 100)).toBe(100);
    expect(messagesPerJob(50, 100)).toBe(5);
    expect(messagesPerJob(5, 100)).toBe(1);
    expect(messagesPerJob(100_000, 100)).toBe(100);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
