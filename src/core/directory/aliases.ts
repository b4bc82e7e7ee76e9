import {
  ok,
  refuse,
  type AliasProblemCode,
  type HandleProblem,
  type InstrumentAliasProblemCode,
  type Outcome,
} from "./types.js";

/** Pseudonyms others can pay ("mama.jane"): unique across the platform. */
export const PSEUDONYM_LENGTH = { min: 3, max: 20 } as const;
/** Names of a customer's own payment instruments ("salary", "mpesa"): unique per customer. */
export const INSTRUMENT_ALIAS_LENGTH = { min: 2, max: 16 } as const;

// Inputs longer than this are refused before any normalization, so a 10 KB string costs nothing.
const MAX_RAW_LENGTH = 64;

/**
 * Characters that render as nothing or reorder text: controls, format characters (zero-width
 * space/joiners, bidi marks and overrides, BOM, soft hyphen), variation selectors and the Hangul
 * fillers. They let two aliases look identical on a screen, so they get a code of their own.
 */
// (The combining ones are alternatives, not class members, so that no class holds a combining mark.)
const INVISIBLE_RE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]|\u034F|\u17B4|\u17B5|[\u180B-\u180F]|[\uFE00-\uFE0F]/u;
const NON_ASCII_RE = /[^\x20-\x7E]/;
const SEPARATOR = "[._-]";

/**
 * Words an alias may not be, so nobody can pose as the bank, the platform or its staff. Matched
 * after removing separators and trailing digits ("ad.min", "support2" are caught too).
 */
export const RESERVED_ALIASES: ReadonlySet<string> = new Set([
  "admin", "administrator", "agent", "agents", "all", "bank", "banks", "billing", "care", "cashier",
  "customer", "customercare", "customerservice", "everyone", "fingate", "gov", "government", "help",
  "helpdesk", "helpline", "info", "me", "merchant", "mod", "moderator", "noreply", "null", "official",
  "operator", "pay", "payment", "payments", "police", "root", "security", "service", "services", "sms",
  "staff", "support", "sysadmin", "system", "teller", "test", "undefined", "ussd", "verify", "wallet",
  // Mobile-money and telco brands customers already trust.
  "airtel", "airtelmoney", "ecocash", "mpesa", "mtn", "momo", "orange", "orangemoney", "safaricom",
  "tigo", "tigopesa", "vodacom", "vodafone",
]);

/**
 * Beginnings that read as official however they continue ("fingate.kenya", "support.team",
 * "mpesa2go"). Brands short enough to begin real names (momo: Momoh; mtn, tigo, orange) are not here.
 */
const RESERVED_PREFIXES = [
  "fingate", "admin", "official", "support", "helpdesk", "customercare", "sysadmin",
  "airtel", "ecocash", "mpesa", "safaricom", "tigopesa", "vodacom", "vodafone",
];

/**
 * Words that make an alias official wherever they stand as one of its parts ("mpesa.help",
 * "bank.support", "safaricom-care", "jane.agent"): the staff words and the brands. Everyday words
 * of the whole-alias list (me, all, pay, info, test …) are fine as a part ("jane.info").
 */
const RESERVED_PARTS: ReadonlySet<string> = new Set([
  "admin", "administrator", "agent", "agents", "bank", "customercare", "customerservice", "fingate",
  "helpdesk", "helpline", "official", "police", "staff", "support", "sysadmin",
  "airtel", "airtelmoney", "ecocash", "mpesa", "mtn", "orangemoney", "safaricom", "tigopesa", "vodacom", "vodafone",
]);

/**
 * Words a display name may not hold (the name shows, masked, on a payer's confirmation screen:
 * "FINGATE S***" would pass for the platform). The same words as an alias's parts: none of them is
 * also a surname or given name (Teller, Cashier, Momo, Operator are left out of both for that).
 */
export const RESERVED_NAME_WORDS = RESERVED_PARTS;

/** Digits passing for letters ("supp0rt", "officia1", "adm1n"): 1 is tried as both l and i. */
const LOOKALIKES: Record<string, [string, string]> = { "0": ["o", "o"], "1": ["l", "i"], "3": ["e", "e"], "4": ["a", "a"], "5": ["s", "s"], "7": ["t", "t"], "8": ["b", "b"] };

export interface ParsedAlias {
  /** As typed, after NFKC and trimming, e.g. "Mama.Jane". */
  alias: string;
  /** Lower-cased for uniqueness and lookup, e.g. "mama.jane". */
  key: string;
}

/** Checks a pseudonym to claim: the shared character rules, 3..20 characters, not a reserved word. */
export function parsePseudonym(input: unknown): Outcome<ParsedAlias, AliasProblemCode> {
  const parsed = parseHeldPseudonym(input);
  if (!parsed.ok) return parsed;
  if (readsAsPhoneNumber(parsed.value.key)) return refuse("alias_looks_like_phone_number");
  return isReservedAlias(parsed.value.key) ? refuse("alias_reserved") : parsed;
}

/**
 * Whether a lower-case alias reads as a phone number once the letters that pass for digits are
 * read as them ("O712345678", "l254-712-345-678"): told or sent such an alias, a payer believes
 * they pay that number. Claims only; one held already is still found and paid by its key.
 * Needs a real digit and eight in all (mobile numbers are longer), so that names of those letters
 * alone ("lolo", "oil") or with a year ("oli.2024") stay free.
 */
function readsAsPhoneNumber(key: string): boolean {
  const read = key.replace(/[._-]/g, "").replace(/o/g, "0").replace(/[li]/g, "1");
  return /[0-9]/.test(key) && /^[0-9]{8,}$/.test(read);
}

/**
 * A pseudonym as typed to find or release one already held: the character rules only. The reserved
 * words grow, and an alias claimed before one of them was added is still held: it must still be
 * paid and released.
 */
export function parseHeldPseudonym(input: unknown): Outcome<ParsedAlias, AliasProblemCode> {
  const parsed = parseHandle(input, PSEUDONYM_LENGTH);
  return parsed.ok ? parsed : refuse(`alias_${parsed.code}` as const);
}

/** Checks an instrument alias: the shared character rules, 2..16 characters, stored lower-case. */
export function parseInstrumentAlias(input: unknown): Outcome<string, InstrumentAliasProblemCode> {
  const parsed = parseHandle(input, INSTRUMENT_ALIAS_LENGTH);
  if (!parsed.ok) return refuse(`instrument_alias_${parsed.code}` as const);
  return ok(parsed.value.key);
}

/**
 * The look-alike skeleton of a lower-case key, as the database computes it (SQL alias_lookalike,
 * migrations 20261206000000 and 20261218000000, which decide: this copy documents it and is
 * checked against it): separators removed, "rn" read as "m" and "w" as "vv", then 0 as o, 1 and i
 * as l, 5 as s. Two aliases with one skeleton ("j0hn", "john"; "rnama.jane", "mama.jane"; "bi1l",
 * "biil", "bill"; "kavwa", "kawva") look the same on a small screen, so only one customer may hold
 * it. "w" is spread into "vv", not "vv" folded into "w": folded from the left, "kavwa" and "kawva"
 * (both "kavvva" on screen) had different skeletons. Kept to the folds a phone's font cannot tell
 * apart: each one more makes more honest names collide (so not 2/z, 8/b, cl/d, nn/m).
 */
export function lookalikeSkeleton(key: string): string {
  const base = key.replace(/[._-]/g, "").replaceAll("rn", "m").replaceAll("w", "vv");
  return base.replace(/[01i5]/g, (c) => ({ "0": "o", "1": "l", i: "l", "5": "s" })[c] ?? c);
}

export function isReservedAlias(key: string): boolean {
  return readings(key.replace(/[._-]/g, "")).some(reservedWhole) || key.split(/[._-]/).some((part) => readings(part).some(reservedPart));
}

// The whole alias, separators removed ("fin.gate", "ad.min"), and each of its parts ("my-fingate"):
// "griffin.gatere" holds "fingate" only across a separator, and is a name.
const reservedWhole = (base: string): boolean => RESERVED_ALIASES.has(base) || RESERVED_PREFIXES.some((prefix) => base.startsWith(prefix));
const reservedPart = (part: string): boolean => RESERVED_PARTS.has(part) || part.includes("fingate");

/**
 * How a lower-case alias (or part) may be read: with its trailing digits or without, "rn" as "m"
 * and "vv" as "w" or not (a phone's font draws them alike: "rnpesa" reads "mpesa", "vvallet"
 * "wallet"), digits as the letters they pass for. Not l for i: the whole-alias word "all" would
 * then refuse the name "ali".
 */
function readings(text: string): string[] {
  const trimmed = [text.replace(/[0-9]+$/, ""), text];
  const forms = [...trimmed, ...trimmed.map((form) => form.replaceAll("rn", "m").replaceAll("vv", "w"))];
  return forms.flatMap((form) => [0, 1].map((k) => form.replace(/[0-9]/g, (d) => LOOKALIKES[d]?.[k] ?? d)));
}

/**
 * The rules pseudonyms and instrument aliases share: ASCII letters (any case), digits, and single
 * dots, underscores or hyphens between them; a letter first. Checks run cheapest and clearest
 * first, so the code names the first problem a person would notice.
 */
function parseHandle(input: unknown, length: { min: number; max: number }): Outcome<ParsedAlias, HandleProblem> {
  if (typeof input !== "string") return refuse("invalid_characters");
  if (input.length > MAX_RAW_LENGTH) return refuse("too_long");
  if (INVISIBLE_RE.test(input)) return refuse("invisible_characters");
  // NFKC folds compatibility forms (full-width "ａｄｍｉｎ" → "admin"); what is still not ASCII
  // afterwards, such as a Cyrillic "а" in "аdmin", is a confusable and refused.
  const alias = input.normalize("NFKC").trim();
  if (NON_ASCII_RE.test(alias)) return refuse("not_ascii");
  if (alias.length < length.min) return refuse("too_short");
  if (alias.length > length.max) return refuse("too_long");
  if (/^[0-9]+$/.test(alias)) return refuse("looks_like_phone_number");
  if (!/^[A-Za-z0-9._-]+$/.test(alias)) return refuse("invalid_characters");
  if (!/^[A-Za-z]/.test(alias)) return refuse("must_start_with_letter");
  if (new RegExp(`${SEPARATOR}{2}`).test(alias)) return refuse("repeated_separator");
  if (new RegExp(`${SEPARATOR}$`).test(alias)) return refuse("ends_with_separator");
  return ok({ alias, key: alias.toLowerCase() });
}
