/**
 * The SMS command words and reply texts of every language, from locales/<lang>/sms-commands.json.
 * A customer may use the words of any supported language (and English); the reply follows the
 * customer's own language once known, else the language of the word they used.
 */
import type { TFunction } from "i18next";
import { formatDate } from "../../infra/i18n/dates.js";
import { formatMoney } from "../../infra/i18n/index.js";
import { DEFAULT_LOCALES_DIR, plainTextI18n, readLocaleFile } from "../../infra/i18n/plain-text.js";
import { MENU_LANGUAGES, type Language } from "../../menus/index.js";

export const COMMANDS = ["balance", "statement", "send", "help", "language", "stop", "start"] as const;
export type CommandName = (typeof COMMANDS)[number];

export const NAMESPACE = "sms-commands";

interface LocaleFile {
  keywords: Record<CommandName, string[]>;
  languageNames: string[];
  reply: Record<string, unknown>;
}


/** Upper case, and Latin accents dropped (RELEVÉ = RELEVE); Devanagari is left as it is. */
export function normalizeWord(word: string): string {
  return word
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .normalize("NFC")
    .toUpperCase();
}

/**
 * A date is shown in its institution's zone when the param names it, else in the vocabulary's;
 * with its time of day when `time` says so (the end of a PIN lock, as the USSD screen shows it),
 * or as the time of day alone with "only" (a payment minutes ago).
 */
export type ReplyParam = string | { money: bigint; currency: string } | { date: Date; timeZone?: string; time?: boolean | "only" };

export interface Vocabulary {
  /** The command a word names, and the language it belongs to. */
  command(word: string): { command: CommandName; lang: Language } | null;
  /** The language a name or code names (EN, KISWAHILI, हिंदी …). */
  language(word: string): Language | null;
  render(lang: Language, key: string, params?: Record<string, ReplyParam>): string;
  keys(lang: Language): string[];
}

export function loadVocabulary(options: { localesDir?: string; timeZone?: string } = {}): Vocabulary {
  const dir = options.localesDir ?? DEFAULT_LOCALES_DIR;
  const words = new Map<string, { command: CommandName; lang: Language }>();
  const languages = new Map<string, Language>();
  const resources: Record<string, Record<string, Record<string, unknown>>> = {};
  // English first, so that a word shared with another language answers in English.
  for (const lang of MENU_LANGUAGES) {
    const file = readLocaleFile(dir, lang, NAMESPACE) as LocaleFile;
    for (const command of COMMANDS) {
      for (const word of file.keywords[command] ?? []) if (!words.has(normalizeWord(word))) words.set(normalizeWord(word), { command, lang });
    }
    for (const name of file.languageNames) languages.set(normalizeWord(name), lang);
    resources[lang] = { [NAMESPACE]: file.reply };
  }
  const instance = plainTextI18n(resources, NAMESPACE);
  const fixed = new Map<Language, TFunction>(MENU_LANGUAGES.map((lang) => [lang, instance.getFixedT(lang, NAMESPACE)]));
  const timeZone = options.timeZone ?? "UTC";
  return {
    command: (word) => words.get(normalizeWord(word)) ?? null,
    language: (word) => languages.get(normalizeWord(word)) ?? null,
    render(lang, key, params = {}) {
      const values: Record<string, string> = {};
      for (const [name, value] of Object.entries(params)) values[name] = formatParam(lang, value, timeZone);
      // No-break spaces (French amounts) travel as plain spaces: they are not in GSM 03.38.
      return fixed.get(lang)!(key, values).replace(/[\u00a0\u202f\u2007]/g, " ");
    },
    keys: (lang) => flatten(resources[lang]![NAMESPACE]!),
  };
}

function formatParam(lang: Language, value: ReplyParam, timeZone: string): string {
  if (typeof value === "string") return value;
  if ("money" in value) return formatMoney(lang, value.money, value.currency);
  const style = value.time === "only" ? "time" : value.time === true ? "dayTime" : "day";
  return formatDate(lang, value.date, value.timeZone ?? timeZone, style);
}

function flatten(tree: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === "object" && v !== null ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
}
