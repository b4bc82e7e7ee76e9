/**
 * Renders outbox notices (a template key under locales/<lng>/sms.json with string parameters) to
 * SMS text with i18next. Money travels as minor units: a parameter named `<x>Minor` next to a
 * `currency` parameter is formatted per language into `<x>` ("amountMinor" → "amount").
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import i18next, { type Resource, type ResourceLanguage, type TFunction } from "i18next";
import { formatMoney } from "../../infra/i18n/index.js";
import { PIN_LIKE_PARAM } from "../../infra/db/outbox-store.js";

export const SMS_LANGUAGES = ["en", "sw", "fr", "hi"] as const;
export const SMS_NAMESPACE = "sms";

const DEFAULT_LOCALES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../locales");
const MINOR = /^(.+)Minor$/;
const INTEGER = /^-?[0-9]{1,19}$/;
const CURRENCY = /^[A-Z]{3}$/;

export class RenderError extends Error {
  constructor(reason: string) {
    super(`cannot render SMS notice: ${reason}`);
    this.name = "RenderError";
  }
}

export interface NoticeRenderer {
  /** `language` null or unknown falls back to the default language. */
  render(template: string, params: Record<string, string>, language: string | null): string;
  /** Every template key the default language defines. */
  keys(): string[];
}

export interface RendererOptions {
  localesDir?: string;
  /** The institution's default language for recipients without one. */
  defaultLanguage?: string;
}

function flattenKeys(tree: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) =>
    typeof v === "object" && v !== null ? flattenKeys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function formatParams(language: string, params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (PIN_LIKE_PARAM.test(name)) throw new RenderError(`parameter "${name}" looks like a secret`);
    out[name] = value;
    const money = MINOR.exec(name);
    if (money && params.currency !== undefined) {
      if (!INTEGER.test(value) || !CURRENCY.test(params.currency)) throw new RenderError(`parameter "${name}" is not an amount in minor units`);
      // Intl groups digits with (narrow) no-break spaces in some languages; GSM 03.38 has none,
      // and one such character would double the message's cost by forcing UCS-2.
      out[money[1]!] = formatMoney(language, BigInt(value), params.currency).replace(/[\u00a0\u202f]/g, " ");
    }
  }
  return out;
}

export function createNoticeRenderer(options: RendererOptions = {}): NoticeRenderer {
  const dir = options.localesDir ?? DEFAULT_LOCALES_DIR;
  const fallback = options.defaultLanguage ?? "en";
  if (!(SMS_LANGUAGES as readonly string[]).includes(fallback)) throw new RangeError(`unknown default SMS language "${fallback}"`);
  const resources: Resource = {};
  for (const lang of SMS_LANGUAGES) {
    resources[lang] = { [SMS_NAMESPACE]: JSON.parse(readFileSync(path.join(dir, lang, `${SMS_NAMESPACE}.json`), "utf8")) as ResourceLanguage };
  }
  const instance = i18next.createInstance();
  void instance.init({
    resources,
    lng: fallback,
    fallbackLng: "en",
    ns: [SMS_NAMESPACE],
    defaultNS: SMS_NAMESPACE,
    initAsync: false,
    returnNull: false,
    // Plain text for a handset; a value (a name someone typed) is never itself interpolated.
    interpolation: { escapeValue: false, skipOnVariables: true },
  });
  const fixed = new Map<string, TFunction>(SMS_LANGUAGES.map((lang) => [lang, instance.getFixedT(lang, SMS_NAMESPACE)]));
  const keys = flattenKeys(resources.en![SMS_NAMESPACE] as Record<string, unknown>);
  const known = new Set(keys);
  return {
    render(template, params, language) {
      if (!known.has(template)) throw new RenderError(`unknown template "${template}"`);
      const lang = language !== null && fixed.has(language) ? language : fallback;
      const text = fixed.get(lang)!(template, formatParams(lang, params));
      // A parameter the caller forgot would otherwise go out as "{{name}}".
      if (text.includes("{{")) throw new RenderError(`template "${template}" is missing a parameter`);
      return text;
    },
    keys: () => keys,
  };
}
