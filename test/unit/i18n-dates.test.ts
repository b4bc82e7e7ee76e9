// Dates are shown on the institution's clock, on USSD screens and in SMS statements alike.
import { describe, expect, it } from "vitest";
import { createTranslator } from "../../src/infra/i18n/index.js";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { loadVocabulary } from "../../src/sms/commands/vocabulary.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { HopRequest } from "../../src/ussd/hop.js";
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
    expect(air(last.text)).toBe("Your SIM was changed recently. Large payments are paused until Jan 2, 06:04 AM.");
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
