/** Amounts typed on a keypad, read into bigint minor units of a currency. Never a float. */
import type { Language } from "./types.js";

const MAX_MAJOR_DIGITS = 12;

// Building an Intl.NumberFormat costs far more than the amount parse it serves (every amount step
// asked again), and a currency's decimals never change: kept per currency code.
const MAX_KNOWN_CURRENCIES = 256;
const knownDigits = new Map<string, number>();

export function currencyDigits(currency: string): number {
  const known = knownDigits.get(currency);
  if (known !== undefined) return known;
  let digits: number;
  try {
    digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    digits = 2;
  }
  if (knownDigits.size >= MAX_KNOWN_CURRENCIES) knownDigits.delete(knownDigits.keys().next().value!);
  knownDigits.set(currency, digits);
  return digits;
}

// Whether a language writes its decimal mark as a comma, asked of Intl once per language.
const decimalMarks = new Map<string, string>();

export function decimalMark(language: Language): string {
  let mark = decimalMarks.get(language);
  if (mark === undefined) {
    mark = new Intl.NumberFormat(language).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
    decimalMarks.set(language, mark);
  }
  return mark;
}

/**
 * An amount typed as the customer's screens show amounts in their language, in minor units.
 * Returns null for anything else, for zero, and for more decimals than the currency has.
 *
 * - Decimal-comma languages (fr): the comma is always the decimal mark ("150,500" TND is 150.500,
 *   as the screen shows it); spaces group thousands ("1 500,25"). A dot is read as a decimal mark
 *   too (keypads that offer only "."), never as grouping, and "1.234,50" (both marks) is refused:
 *   a misreading may then be too small, never 1000 times too much, and the confirmation shows it.
 * - Decimal-point languages (en, sw, hi): "1,500.25", Indian grouping "12,34,567.50" (Hindi
 *   screens), "1 500", and "150,50" (a comma followed by one or two digits only is a decimal mark).
 */
export function parseAmount(input: string, currency: string, language: Language): bigint | null {
  const digits = currencyDigits(currency);
  const text = spacesGrouping(input.trim());
  if (text === null) return null;
  const plain = decimalMark(language) === "," ? commaDecimal(text) : pointDecimal(text);
  const match = plain === null ? null : /^(\d+)(?:\.(\d+))?$/.exec(plain);
  if (!match) return null;
  const major = match[1]!.replace(/^0+(?=\d)/, "");
  const fraction = match[2] ?? "";
  if (major.length > MAX_MAJOR_DIGITS || fraction.length > digits) return null;
  const minor = BigInt(major) * 10n ** BigInt(digits) + (fraction ? BigInt(fraction.padEnd(digits, "0")) : 0n);
  return minor > 0n ? minor : null;
}

/** Spaces removed where they only group thousands ("1 500", as French writes it); "5 5" is a slip: null. */
function spacesGrouping(text: string): string | null {
  if (!/\s/.test(text)) return text;
  if (!/^\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?$/.test(text)) return null;
  return text.replace(/[ \u00a0\u202f]/g, "");
}

/** Decimal-comma reading: at most one mark, comma or dot, and it is the decimal mark. */
function commaDecimal(text: string): string | null {
  if ((text.match(/[.,]/g) ?? []).length > 1) return null;
  return text.replace(",", ".");
}

/** Decimal-point reading: commas group (Western or Indian), or one comma before 1–2 digits is the decimal mark. */
function pointDecimal(text: string): string | null {
  if (/^\d+,\d{1,2}$/.test(text)) return text.replace(",", ".");
  if (/^(\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})+,\d{3})(\.\d+)?$/.test(text)) return text.replace(/,/g, "");
  return text;
}
