import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import { refuse, ok, type MsisdnCode, type Outcome } from "./types.js";

/** Longer than any number a person or a telco writes (E.164 has 15 digits); refused unread. */
export const MAX_MSISDN_INPUT_LENGTH = 32;

// Digits and the separators people type; anything else (letters, unicode digits, "#") is refused
// before the numbering library sees it, so its lenient parsing cannot find a number in noise.
const ALLOWED_RE = /^[0-9+\-(). ]+$/;
const SEPARATORS_RE = /[-(). ]/g;

/**
 * Line types accepted as a customer's phone. Some numbering plans (the US, Canada) cannot tell
 * mobile from fixed numbers; those are accepted because refusing a whole country would be worse.
 */
const MOBILE_TYPES = new Set(["MOBILE", "FIXED_LINE_OR_MOBILE"]);

export function isCountryCode(value: unknown): value is CountryCode {
  return typeof value === "string" && /^[A-Z]{2}$/.test(value) && isSupportedCountry(value);
}

// Outcomes already computed (frozen: callers share them), oldest dropped first.
const MAX_NORMALIZED = 10_000;
const normalized = new Map<string, Outcome<string, MsisdnCode>>();

/**
 * Normalizes the usual ways of writing a mobile number to E.164: "0712 345 678" (national, with the
 * institution's default country), "254712345678" (international without "+", as telcos send it),
 * "+254712345678" and "00254712345678".
 */
export function normalizeMsisdn(input: unknown, defaultCountry?: string | null): Outcome<string, MsisdnCode> {
  if (typeof input !== "string" || input.length > MAX_MSISDN_INPUT_LENGTH) return refuse("invalid_msisdn");
  // A pure function of its two strings (the numbering metadata is fixed): every hop normalizes the
  // caller's or the payee's number again, and the parse was a visible share of a hop's CPU.
  const key = `${defaultCountry ?? ""}\u0000${input}`;
  const known = normalized.get(key);
  if (known) return known;
  const outcome = Object.freeze(normalize(input, defaultCountry));
  if (normalized.size >= MAX_NORMALIZED) normalized.delete(normalized.keys().next().value!);
  normalized.set(key, outcome);
  return outcome;
}

function normalize(input: string, defaultCountry?: string | null): Outcome<string, MsisdnCode> {
  const trimmed = input.trim();
  if (!ALLOWED_RE.test(trimmed)) return refuse("invalid_msisdn");
  const compact = trimmed.replace(SEPARATORS_RE, "");
  if (!/^(\+|00)?[0-9]{4,17}$/.test(compact)) return refuse("invalid_msisdn");
  const country = isCountryCode(defaultCountry) ? defaultCountry : undefined;
  for (const candidate of candidates(compact, country)) {
    const parsed = parsePhoneNumberFromString(candidate.text, candidate.country);
    if (!parsed?.isValid()) continue;
    const type = parsed.getType();
    return type !== undefined && MOBILE_TYPES.has(type) ? ok(parsed.number) : refuse("not_a_mobile_number");
  }
  return refuse("invalid_msisdn");
}

interface Candidate {
  text: string;
  country: CountryCode | undefined;
}

/**
 * Readings to try in order. Digits without "+" are first read as a national number of the default
 * country (which also recognizes that country's own code, "2547…" in Kenya), then as an
 * international number missing its "+".
 */
function candidates(compact: string, country: CountryCode | undefined): Candidate[] {
  if (compact.startsWith("+")) return [{ text: compact, country: undefined }];
  // "00" is the international prefix almost everywhere, though not in every numbering plan's metadata.
  if (compact.startsWith("00")) return [{ text: `+${compact.slice(2)}`, country: undefined }];
  const readings: Candidate[] = [];
  if (country) readings.push({ text: compact, country });
  if (!compact.startsWith("0")) readings.push({ text: `+${compact}`, country: undefined });
  return readings;
}
