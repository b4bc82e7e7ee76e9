// Dates are shown on the institution's clock, on USSD screens and in SMS statements alike, and
// outside Hindi they never force UCS-2 on the text around them.
import { describe, expect, it } from "vitest";
import { createTranslator } from "../../src/infra/i18n/index.js";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { loadVocabulary } from "../../src/sms/commands/vocabulary.js";
import { foldToGsm7 } from "../../src/infra/i18n/gsm7-fold.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { isGsm7, measure } from "../../src/ussd/gsm.js";
import { renderPages } from "../../src/ussd/render.js";
import type { HopRequest } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const air = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("dates in the institution's time zone", () => {
  it("the USSD channel shows a SIM-swap 'until' time on the institution's clock (Nairobi, UTC+3)", async () => {
    const bank = new FakeBank();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
    bank.cooling.add("+254700000010"); // until 2030-01-02T03:04:00Z = 06:04 in Nairobi
    const channel = createUssdChannel({
      ports: bank.ports(),
      institutionId: bank.institutionId,
      timeZone: "Africa/Nairobi",
      sessions: new MemorySessionStore(),
      secretKey: Buffer.alloc(32, 7),
      aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
      logger: { info() {}, warn() {}, error() {} },
    });
    const hop = (text: string): HopRequest => ({ aggregator: "at", sessionId: "tz-1", msisdn: "+254700000010", serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
    let last = { end: false, text: "" };
    for (const text of ["", "2", "2*peter", "2*peter*100"]) last = await channel.hops.handle(hop(text));
    expect(air(last.text)).toBe("Your SIM was changed recently. Payments are limited until Jan 2, 06:04 AM.");
  });

  it("a translator without a zone keeps UTC; one with a zone uses it, in every language", () => {
    const until = { kind: "date" as const, iso: "2030-01-02T22:04:00Z" };
    const render = (zone: string | undefined, lang: "en" | "fr") => air(createTranslator({ timeZone: zone }).render(lang, { key: "err.pin_locked_until", params: { until } }));
    expect(render(undefined, "en")).toBe("Your PIN is locked until Jan 2, 10:04 PM.");
    expect(render("Africa/Nairobi", "en")).toBe("Your PIN is locked until Jan 3, 01:04 AM.");
    expect(render("Asia/Kolkata", "fr")).toContain("3 janv., 03:34");
  });

  it("an SMS statement dates a payment on its institution's clock", () => {
    const v = loadVocabulary();
    const late = new Date("2026-08-15T22:30:00Z"); // already the 16th in Nairobi
    const line = (timeZone?: string) => v.render("en", "statement_in", { amount: { money: 100_00n, currency: "KES" }, date: { date: late, timeZone }, ref: "ABCDEF1234" });
    expect(line()).toContain(" Aug 15 ");
    expect(line("Africa/Nairobi")).toContain(" Aug 16 ");
  });
});

describe("dates stay GSM-7 outside Hindi", () => {
  const t = createTranslator({ timeZone: "Africa/Nairobi" });
  const v = loadVocabulary({ timeZone: "Africa/Nairobi" });
  const months = Array.from({ length: 12 }, (_, m) => new Date(Date.UTC(2026, m, 15, 10, 5)));

  it("every month of the year, on a screen and in an SMS statement, in fr, en and sw", () => {
    for (const lang of ["fr", "en", "sw"] as const) {
      for (const date of months) {
        const line = t.render(lang, { key: "stmt.in", params: { date: { kind: "date", iso: date.toISOString() }, amount: { kind: "money", minor: "10000", currency: "KES" }, ref: "ABCDEF1234" } });
        expect(measure(line).encoding, `${lang} ${line}`).toBe("gsm7");
        const sms = v.render(lang, "statement_in", { amount: { money: 100_00n, currency: "KES" }, date: { date }, ref: "ABCDEF1234" });
        expect(isGsm7(sms), `${lang} ${sms}`).toBe(true);
      }
    }
  });

  it("August in French loses only the circumflex; letters GSM-7 has are kept", () => {
    const august = t.render("fr", { key: "stmt.in", params: { date: { kind: "date", iso: "2026-08-15T10:05:00Z" }, amount: { kind: "money", minor: "10000", currency: "KES" }, ref: "ABCDEF1234" } });
    expect(august).toMatch(/^15 aout, 13:05 /);
    expect(t.render("fr", { key: "err.pin_locked_until", params: { until: { kind: "date", iso: "2026-12-15T10:05:00Z" } } })).toContain("15 déc., 13:05");
    expect(foldToGsm7("août ç û Ç é è à ü ñ ø")).toBe("aout c u Ç é è à ü ñ ø");
  });

  it("so a French statement in August pages as in July (182 per screen, not 80)", () => {
    const stmt = (month: string) => ({
      lines: [{ key: "stmt.title" }, ...Array.from({ length: 5 }, (_, i) => ({ key: "stmt.in", params: { date: { kind: "date" as const, iso: `2026-${month}-1${i}T10:05:00Z` }, amount: { kind: "money" as const, minor: "123456789", currency: "KES" }, ref: "ABCDEF1234" } }))],
    });
    expect(renderPages(t, "fr", stmt("08"), undefined, true).length).toBe(renderPages(t, "fr", stmt("07"), undefined, true).length);
  });

  it("Hindi dates are left as Intl writes them (Hindi screens are UCS-2 anyway)", () => {
    expect(t.render("hi", { key: "err.pin_locked_until", params: { until: { kind: "date", iso: "2026-08-15T10:05:00Z" } } })).toContain("15 अग॰");
  });
});
