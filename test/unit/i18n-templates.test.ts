import { describe, expect, it } from "vitest";
import { createTranslator, LOCALES, NAMESPACE } from "../../src/infra/i18n/index.js";
import { DEFAULT_LOCALES_DIR, namespaceResources, plainTextI18n } from "../../src/infra/i18n/plain-text.js";
import { compileTemplate } from "../../src/infra/i18n/templates.js";

// The reference: the same i18next instance settings, rendering every time.
const resources = namespaceResources(DEFAULT_LOCALES_DIR, LOCALES, NAMESPACE);
const reference = plainTextI18n(resources, NAMESPACE);
const translator = createTranslator();

/** Values that i18next must not interpolate again (skipOnVariables) nor nest. */
const TRICKY = ["Amina {{ref}}", "$t(main.title)", "", "a}}b{{c", "१२३ KES"];

function placeholders(key: string): string[] {
  const text = reference.getResource("en", NAMESPACE, key) as string;
  return [...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!);
}

describe("compiled menu templates", () => {
  const keys = translator.keys();

  it("render every key in every language exactly as i18next does", () => {
    expect(keys.length).toBeGreaterThan(50);
    let compared = 0;
    for (const lang of LOCALES) {
      for (const key of keys) {
        for (const value of TRICKY) {
          const params = Object.fromEntries(placeholders(key).map((name) => [name, `${name}:${value}`]));
          expect(translator.render(lang, { key, params }), `${lang} ${key}`).toBe(reference.t(key, { lng: lang, ...params }));
          compared += 1;
        }
      }
    }
    expect(compared).toBe(LOCALES.length * keys.length * TRICKY.length);
  });

  it("leave a message with a missing value or a count to i18next", () => {
    const key = keys.find((k) => placeholders(k).length >= 2)!;
    const [first] = placeholders(key);
    for (const lang of LOCALES) {
      const missing = { [first!]: "x" };
      expect(translator.render(lang, { key, params: missing })).toBe(reference.t(key, { lng: lang, ...missing }));
      const counted = Object.fromEntries([...placeholders(key), "count"].map((n) => [n, "3"]));
      expect(translator.render(lang, { key, params: counted })).toBe(reference.t(key, { lng: lang, ...counted }));
    }
  });

  it("choose the language's plural form for a numeric count, as i18next does (Intl.PluralRules)", () => {
    const today = (lang: (typeof LOCALES)[number], count: number) => translator.render(lang, { key: "ag.today_title", params: { count } });
    for (const lang of LOCALES) {
      for (const count of [0, 1, 2, 5, 21, 1_000_000]) {
        expect(today(lang, count), `${lang} ${count}`).toBe(reference.t("ag.today_title", { lng: lang, count }));
        expect(today(lang, count)).toContain(String(count));
      }
    }
    expect(today("en", 1)).toBe("Today: 1 transaction.");
    expect(today("en", 0)).toBe("Today: 0 transactions.");
    expect(today("sw", 1)).toBe("Leo: muamala 1.");
    expect(today("sw", 3)).toBe("Leo: miamala 3.");
    // French counts 0 as singular, and has a form for millions.
    expect(today("fr", 0)).toMatch(/^Aujourd'hui\s:\s0 opération\.$/);
    expect(today("fr", 2)).toMatch(/ 2 opérations\.$/);
    expect(today("fr", 1_000_000)).toMatch(/ 1000000 opérations\.$/);
    expect(today("hi", 1)).toBe("आज: 1 लेन-देन।");
  });

  it("give every language the same placeholders as English: nothing a confirmation shows is left out in one", () => {
    const named = (lang: string, key: string) => {
      const text = reference.getResource(lang, NAMESPACE, key) as string;
      return [...new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!))].sort();
    };
    for (const lang of LOCALES) for (const key of keys) expect(named(lang, key), `${lang} ${key}`).toEqual(named("en", key));
  });

  it("compile only plain placeholders", () => {
    expect(compileTemplate("Pay {{name}} {{ amount }}.")?.({ name: "A", amount: "KES 1" })).toBe("Pay A KES 1.");
    expect(compileTemplate("no placeholders")?.({})).toBe("no placeholders");
    expect(compileTemplate("Pay {{name}}")?.({})).toBeUndefined();
    expect(compileTemplate("{{name, uppercase}}")).toBeNull();
    expect(compileTemplate("{{- name}}")).toBeNull();
    expect(compileTemplate("see $t(main.title)")).toBeNull();
    expect(compileTemplate("odd }} brace")).toBeNull();
  });
});
