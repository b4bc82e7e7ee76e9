/**
 * Renders outbox notices (a template key under locales/<lng>/sms.json with string parameters) to
 * SMS text with i18next. Money travels as minor units: a parameter named `<x>Minor` next to a
 * `currency` parameter is formatted per language into `<x>` ("amountMinor" → "amount").
 */
import { formatMoney } from "../../infra/i18n/index.js";
import { DEFAULT_LOCALES_DIR, namespaceResources, plainTextI18n } from "../../infra/i18n/plain-text.js";
import { PIN_LIKE_PARAM, REPLY_TEMPLATE } from "../../infra/db/outbox-store.js";

export const SMS_LANGUAGES = ["en", "sw", "fr", "hi"] as const;
export const SMS_NAMESPACE = "sms";

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

/** A template as literal text and `{{variable}}` slots. */
type Compiled = Array<string | { name: string }>;

/** `{{ name }}` slots as i18next writes them (no formats or nesting are used in sms.json). */
const SLOT = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

function compile(text: string): Compiled {
  const pieces: Compiled = [];
  let at = 0;
  for (const match of text.matchAll(SLOT)) {
    if (match.index > at) pieces.push(text.slice(at, match.index));
    pieces.push({ name: match[1]! });
    at = match.index + match[0].length;
  }
  if (at < text.length) pieces.push(text.slice(at));
  return pieces;
}

export function createNoticeRenderer(options: RendererOptions = {}): NoticeRenderer {
  const dir = options.localesDir ?? DEFAULT_LOCALES_DIR;
  const fallback = options.defaultLanguage ?? "en";
  if (!(SMS_LANGUAGES as readonly string[]).includes(fallback)) throw new RangeError(`unknown default SMS language "${fallback}"`);
  const resources = namespaceResources(dir, SMS_LANGUAGES, SMS_NAMESPACE);
  const instance = plainTextI18n(resources, SMS_NAMESPACE, fallback);
  const keys = flattenKeys(resources.en![SMS_NAMESPACE] as Record<string, unknown>);
  const known = new Set(keys);
  const compiled = new Map<string, Compiled>();
  // i18next's resource store resolves the template (the language, else English); the string is
  // compiled once into literal and slot pieces, because the relay renders thousands of messages a
  // second and i18next's t() was most of that work. Values are plain text (no escaping, and a
  // value is never itself interpolated), as with interpolation.escapeValue false.
  const template = (lang: string, key: string): Compiled => {
    const id = `${lang}:${key}`;
    let c = compiled.get(id);
    if (c === undefined) {
      const raw = instance.getResource(lang, SMS_NAMESPACE, key) ?? instance.getResource("en", SMS_NAMESPACE, key);
      if (typeof raw !== "string") throw new RenderError(`template "${key}" is not a string`);
      compiled.set(id, (c = compile(raw)));
    }
    return c;
  };
  return {
    render(key, params, language) {
      // A command reply was rendered from sms-commands.json when it was written: sent as it is.
      if (key === REPLY_TEMPLATE) {
        if (typeof params.text !== "string" || params.text === "") throw new RenderError(`template "${key}" is missing parameter "text"`);
        return params.text;
      }
      if (!known.has(key)) throw new RenderError(`unknown template "${key}"`);
      const lang = language !== null && (SMS_LANGUAGES as readonly string[]).includes(language) ? language : fallback;
      const values = formatParams(lang, params);
      return template(lang, key)
        .map((piece) => {
          if (typeof piece === "string") return piece;
          const value = values[piece.name];
          // A parameter the caller forgot would otherwise go out as "{{name}}" or as nothing.
          if (value === undefined) throw new RenderError(`template "${key}" is missing parameter "${piece.name}"`);
          return value;
        })
        .join("");
    },
    keys: () => keys,
  };
}
