import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTranslator, LOCALES } from "../../src/infra/i18n/index.js";
import type { Message, Param, Reply } from "../../src/menus/index.js";
import { DEFAULT_BUDGET, fits, isGsm7, measure, toAir } from "../../src/ussd/gsm.js";
import { paginate } from "../../src/ussd/pager.js";
import { renderPages, replyBlocks } from "../../src/ussd/render.js";

const t = createTranslator();
const ALL_KEYS = t.keys();

/** Page lines that are navigation, not content. */
function bodyOf(page: string, nav: { more: string; back: string }): string {
  const lines = page.split("\n");
  while (lines.length > 0 && (lines.at(-1) === `98 ${nav.more}` || lines.at(-1) === `0 ${nav.back}`)) lines.pop();
  return lines.join("\n");
}

const words = (text: string) => toAir(text).split(/\s+/).filter((w) => w.length > 0);

const latinWord = fc.stringMatching(/^[A-Z][a-z]{1,11}$/);
const devanagariWord = fc.constantFrom("राजेश", "सुनीता", "कुमार", "श्रीनिवासन", "अग्रवाल", "लक्ष्मीनारायण");
const nameArb = fc
  .array(fc.oneof(latinWord, devanagariWord), { minLength: 1, maxLength: 6 })
  .map((ws) => ws.join(" ").slice(0, 60).trim())
  .filter((n) => n.length > 0);
const moneyArb = fc.bigInt({ min: 0n, max: 999_999_999_999_999_999n }).map((m): Param => ({ kind: "money", minor: m.toString(), currency: "KES" }));
const dateArb = fc.date({ min: new Date("2020-01-01"), max: new Date("2035-01-01"), noInvalidDate: true }).map((d): Param => ({ kind: "date", iso: d.toISOString() }));

function paramArb(name: string): fc.Arbitrary<Param> {
  if (["amount", "fee", "total", "remaining"].includes(name)) return moneyArb;
  if (name === "date" || name === "until") return dateArb;
  if (name === "name") return nameArb;
  if (name === "ref") return fc.stringMatching(/^[0-9A-F]{10}$/);
  if (name === "currency") return fc.constantFrom("KES", "TZS", "INR", "XOF");
  if (name === "store") return fc.stringMatching(/^\d{1,12}$/);
  if (name === "count") return fc.integer({ min: 0, max: 100_000 });
  return fc.integer({ min: 0, max: 9 });
}

function messageArb(key: string): fc.Arbitrary<Message> {
  // Rendering without parameters leaves the template's {{placeholders}} in place.
  const names = [...new Set([...t.render("en", { key }).matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!))];
  if (names.length === 0) return fc.constant({ key });
  return fc.tuple(...names.map(paramArb)).map((values) => ({ key, params: Object.fromEntries(names.map((n, i) => [n, values[i]!])) }));
}

/** Option labels are the short keys flows use as options (the agent menu's and the cash-out offer's too). */
const AGENT_OPTION_KEYS = ["ag.cash_in", "ag.cash_out", "ag.float", "ag.today", "ag.commission", "ag.personal"];
const OPTION_KEYS = ALL_KEYS.filter(
  (k) =>
    k.startsWith("main.") ||
    k.startsWith("lang.name_") ||
    k.startsWith("send.opt_") ||
    k.startsWith("co.opt_") ||
    k.startsWith("resume.c") ||
    k.startsWith("resume.r") ||
    ["acct.aliases", "acct.claim", "acct.instruments", ...AGENT_OPTION_KEYS].includes(k),
);

const optionsArb = fc.array(fc.constantFrom(...OPTION_KEYS), { minLength: 0, maxLength: 9 }).map((keys) => keys.map((key, i) => ({ choice: String(i + 1), label: { key } })));

const replyArb: fc.Arbitrary<Reply> = fc
  .tuple(fc.array(fc.constantFrom(...ALL_KEYS).chain(messageArb), { minLength: 1, maxLength: 6 }), optionsArb)
  .map(([lines, options]) => (options.length > 0 ? { lines, options } : { lines }));

describe("USSD pager over every message in every locale", () => {
  it("English, Kiswahili and French stay within GSM-7 (182 per screen); only Hindi needs UCS-2", () => {
    for (const lang of ["en", "sw", "fr"] as const) {
      for (const key of ALL_KEYS.filter((k) => k !== "lang.name_hi")) expect(isGsm7(t.render(lang, { key })), `${lang}:${key}`).toBe(true);
    }
  });

  it("every locale defines every key", () => {
    for (const lang of LOCALES) for (const key of ALL_KEYS) expect(t.has(lang, key), `${lang}:${key}`).toBe(true);
  });

  it("never exceeds the budget, never cuts a word, never splits an option", () => {
    fc.assert(
      fc.property(fc.constantFrom(...LOCALES), replyArb, (lang, reply) => {
        const pages = renderPages(t, lang, reply);
        const nav = { more: t.render(lang, { key: "nav.more" }), back: t.render(lang, { key: "nav.back" }) };
        expect(pages.length).toBeGreaterThan(0);
        for (const page of pages) expect(fits(page), `${lang} page over budget: ${JSON.stringify(measure(page))}`).toBe(true);
        const blocks = replyBlocks(t, lang, reply);
        const bodies = pages.map((p) => bodyOf(p, nav));
        expect(bodies.flatMap(words)).toEqual(blocks.flatMap(words));
        const lines = new Set(bodies.flatMap((b) => b.split("\n")));
        for (const option of (reply.options ?? []).map((o) => toAir(`${o.choice}. ${t.render(lang, o.label)}`))) {
          expect(lines.has(option), `option split: ${option}`).toBe(true);
        }
        if (pages.length > 1) {
          expect(pages[0]).toContain(`98 ${nav.more}`);
          expect(pages.at(-1)).toContain(`0 ${nav.back}`);
          expect(pages.at(-1)).not.toContain(`98 ${nav.more}`);
        }
      }),
      { numRuns: 600 },
    );
  });

  it("every single message, with the longest parameters, fits on its pages", () => {
    const longName = "Wanjiru-Kamau Nyambura Achieng Odhiambo Mwangi Kariuki Njoroge".slice(0, 60);
    const maxMoney: Param = { kind: "money", minor: "999999999999999999", currency: "KES" };
    for (const lang of LOCALES) {
      for (const key of ALL_KEYS) {
        const params: Record<string, Param> = { name: longName, amount: maxMoney, fee: maxMoney, total: maxMoney, remaining: maxMoney, ref: "ABCDEF1234", currency: "KES", store: "999999999999", count: 99_999, digits: 2, min: 4, date: { kind: "date", iso: "2026-12-31T23:59:00Z" }, until: { kind: "date", iso: "2026-12-31T23:59:00Z" } };
        for (const page of renderPages(t, lang, { lines: [{ key, params }] })) expect(fits(page)).toBe(true);
      }
    }
  });
});

describe("paginate", () => {
  const nav = { more: "More", back: "Back" };

  it("keeps a short screen on one page without navigation", () => {
    expect(paginate(["Hello", "1. One", "2. Two"], nav)).toEqual(["Hello\n1. One\n2. Two"]);
  });

  it("uses 182 GSM-7 characters, counting extension characters twice", () => {
    expect(fits("a".repeat(182))).toBe(true);
    expect(fits("a".repeat(183))).toBe(false);
    expect(fits("€".repeat(91))).toBe(true);
    expect(fits("€".repeat(92))).toBe(false);
    expect(measure("Ksh 1,000").encoding).toBe("gsm7");
  });

  it("drops to 80 UCS-2 units when one character needs it", () => {
    expect(measure("a".repeat(79) + "ê")).toEqual({ encoding: "ucs2", length: 80 });
    expect(fits("a".repeat(80) + "ê")).toBe(false);
    expect(fits("क".repeat(80))).toBe(true);
  });

  it("sends no-break spaces (French amounts) as spaces and never breaks inside an amount", () => {
    const amount = new Intl.NumberFormat("fr", { style: "currency", currency: "KES" }).format(1234567);
    const pages = paginate(["Envoyer " + amount + " ".repeat(1) + "x".repeat(10), ...Array.from({ length: 12 }, (_, i) => `${i + 1}. Option numéro ${i + 1}`)], nav);
    for (const p of pages) {
      expect(p).not.toMatch(/[\u00a0\u202f]/);
      expect(measure(p).encoding).toBe("gsm7");
    }
    expect(pages[0]).toContain("1 234 567,00 KES");
  });

  it("an END's last page offers no Back (the session is over); every earlier page keeps its navigation", () => {
    const blocks = Array.from({ length: 12 }, (_, i) => `${i + 1}. A statement line number ${i + 1} of this account`);
    const open = paginate(blocks, nav);
    const ending = paginate(blocks, nav, DEFAULT_BUDGET, true);
    expect(open.length).toBeGreaterThan(2);
    expect(open.at(-1)).toMatch(/\n0 Back$/);
    expect(ending.at(-1)).not.toContain("0 Back");
    expect(ending.at(-1)).toBe(open.at(-1)!.replace(/\n0 Back$/, ""));
    expect(ending.slice(0, -1)).toEqual(open.slice(0, -1));
  });

  it("splits a word longer than a page after a hyphen, not inside a part of it (a 100-character shop name on a UCS-2 screen)", () => {
    const shop = "🏪AMANI-SHOP-KAWANGWARE-NAIROBI-WESTLANDS-BRANCH-OPPOSITE-TOTAL-PETROL-STATION-NUMBER-TWO-HUNDRED";
    const pages = paginate([`Agent ${shop} (store 500100) asks to pay you KES 500.00 in cash from your wallet.`, "1. Approve"], nav);
    for (const p of pages) expect(fits(p), p).toBe(true);
    // The name's pieces, page by page: each but the last ends with a hyphen.
    const pieces = pages.flatMap((p) => bodyOf(p, nav).split(/\s+/)).filter((w) => w.length > 1 && shop.includes(w));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe(shop);
    for (const piece of pieces.slice(0, -1)) expect(piece, JSON.stringify(pages)).toMatch(/-$/);
  });

  it("still cuts a long word without punctuation, and never a surrogate pair, within the budget", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("A", "b", "é", "€", "क", "😀", "-", "/", "."), { minLength: 81, maxLength: 400 }), (chars) => {
        const word = chars.join("");
        const pages = paginate([word], nav);
        for (const p of pages) expect(fits(p), p).toBe(true);
        const bodies = pages.map((p) => bodyOf(p, nav));
        for (const b of bodies) expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(b)).toBe(false);
        // Past MAX_PAGES the rest is dropped; what is shown is the word's beginning, in order.
        expect(word.startsWith(bodies.join(""))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("pages a long Hindi menu within 80 units with More and Back", () => {
    const t2 = createTranslator();
    const reply: Reply = {
      lines: [{ key: "main.title" }],
      options: ["main.balance", "main.send", "main.statement", "main.withdraw", "main.change_pin", "main.account", "main.language"].map((key, i) => ({ choice: String(i + 1), label: { key } })),
    };
    const pages = renderPages(t2, "hi", reply);
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(toAir(p).length).toBeLessThanOrEqual(DEFAULT_BUDGET.ucs2Units);
    expect(pages[0]).toMatch(/98 आगे$/);
  });
});
