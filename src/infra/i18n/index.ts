/**
 * Renders menu messages (keys with parameters) to text with i18next, one instance per process.
 * Amounts are formatted per locale and currency from bigint minor units, never through a float.
 */
import type { Language, Message, Param } from "../../menus/index.js";
import { formatDate } from "./dates.js";
import { DEFAULT_LOCALES_DIR, namespaceResources, plainTextI18n } from "./plain-text.js";
import { TemplateCache } from "./templates.js";

export const LOCALES: readonly Language[] = ["en", "sw", "fr", "hi"];
export const NAMESPACE = "menu";


export interface Translator {
  render(lang: Language, message: Message): string;
  /** Every message key the default language defines, e.g. "main.title". */
  keys(): string[];
  has(lang: Language, key: string): boolean;
}

export interface TranslatorOptions {
  localesDir?: string;
  /**
   * The institution's IANA zone, in which dates (statements, "locked until") are shown; default
   * UTC. A channel serving one institution makes its translator with that institution's zone.
   */
  timeZone?: string;
}

export function createTranslator(options: TranslatorOptions = {}): Translator {
  const dir = options.localesDir ?? DEFAULT_LOCALES_DIR;
  const timeZone = options.timeZone ?? "UTC";
  const resources = namespaceResources(dir, LOCALES, NAMESPACE);
  const instance = plainTextI18n(resources, NAMESPACE);
  const fixed: Record<string, ReturnType<typeof instance.getFixedT>> = {};
  for (const lang of LOCALES) fixed[lang] = instance.getFixedT(lang, NAMESPACE);
  // Keys come from the flows' code, not from input, so the cache is bounded by keys × languages.
  const templates = new TemplateCache((lang, key) => (LOCALES.includes(lang as Language) ? instance.getResource(lang, NAMESPACE, key) : undefined));
  return {
    render(lang, message) {
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.params ?? {})) params[name] = formatParam(lang, value, timeZone);
      const t = fixed[lang] ?? fixed.en!;
      // i18next picks a plural form (key_one, key_other …, by Intl.PluralRules) only when count is
      // a number, and the compiled templates know no plural forms: a numeric count goes to i18next.
      const count = message.params?.count;
      if (typeof count === "number") return t(message.key, { ...params, count });
      return templates.render(lang, message.key, params) ?? t(message.key, params);
    },
    keys: () => flattenKeys(resources.en![NAMESPACE] as Record<string, unknown>),
    has: (lang, key) => instance.exists(key, { lng: lang, ns: NAMESPACE, fallbackLng: [] }),
  };
}

function formatParam(lang: string, value: Param, timeZone: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value.kind === "money") return formatMoney(lang, BigInt(value.minor), value.currency);
  return formatDate(lang, new Date(value.iso), timeZone, "dayTime");
}

/** Per locale and currency: the format and its fraction digits (resolvedOptions() builds a new object on every call). */
const moneyFormats = new Map<string, { format: Intl.NumberFormat; digits: number }>();

/** "KES 1,234.50" (en), "1 234,50 KES" (fr): exact, from minor units, via a decimal string. */
export function formatMoney(lang: string, minor: bigint, currency: string): string {
  const id = `${lang}:${currency}`;
  let known = moneyFormats.get(id);
  if (!known) {
    const format = new Intl.NumberFormat(lang, { style: "currency", currency });
    moneyFormats.set(id, (known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 }));
  }
  const { format, digits } = known;
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const decimal = digits > 0 ? `${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}` : `${abs}`;
  // Intl formats decimal strings exactly (no rounding through a double).
  return format.format(`${negative ? "-" : ""}${decimal}` as unknown as number);
}

function flattenKeys(tree: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === "object" && v !== null) out.push(...flattenKeys(v as Record<string, unknown>, `${prefix}${k}.`));
    else out.push(`${prefix}${k}`);
  }
  return out;
}
