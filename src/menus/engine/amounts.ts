/** Amounts typed on a keypad, read into bigint minor units of a currency. Never a float. */

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

/**
 * "150", "150.5", "1,500.25", "1 500" or "150,50" (comma as the decimal mark when it is followed by
 * one or two digits only). Returns null for anything else, for zero, and for more decimals than the
 * currency has.
 */
export function parseAmount(input: string, currency: string): bigint | null {
  const digits = currencyDigits(currency);
  let text = input.trim();
  // A space inside an amount only groups thousands ("1 500", as French writes it); "5 5" is a slip.
  if (/\s/.test(text)) {
    if (!/^\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?$/.test(text)) return null;
    text = text.replace(/[ \u00a0\u202f]/g, "");
  }
  if (/^\d+,\d{1,2}$/.test(text)) text = text.replace(",", ".");
  else if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text)) text = text.replace(/,/g, "");
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const major = match[1]!.replace(/^0+(?=\d)/, "");
  const fraction = match[2] ?? "";
  if (major.length > MAX_MAJOR_DIGITS || fraction.length > digits) return null;
  const minor = BigInt(major) * 10n ** BigInt(digits) + (fraction ? BigInt(fraction.padEnd(digits, "0")) : 0n);
  return minor > 0n ? minor : null;
}
