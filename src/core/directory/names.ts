import { RESERVED_NAME_WORDS } from "./aliases.js";
import { ok, refuse, type DisplayNameCode, type Outcome } from "./types.js";

export const DISPLAY_NAME_MAX_LENGTH = 60;

// Refused unread: four code units per character covers any real 60-character name in any script.
const MAX_RAW_LENGTH = DISPLAY_NAME_MAX_LENGTH * 4;

// Controls, format characters (zero-width, bidi overrides), private use, lone surrogates, unassigned.
const HIDDEN_RE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}]/u;
// Letters and combining marks of any script (Devanagari vowel signs are marks), spaces, . ' -
const NAME_RE = /^\p{L}[\p{L}\p{M} .'-]*$/u;
// Names have single punctuation marks ("O'Neil", "Jean-Luc", "St. Clair"), never runs like "'--".
const PUNCTUATION_RUN_RE = /[.'-]{2}/;
// More marks in a row than any script needs on one letter: "Zalgo" text that would wreck a screen.
const MARK_PILE_RE = /\p{M}{4,}/u;

// Scripts with look-alike letters. A name may be written in any of them, but one word mixing them
// ("аdmin" with a Cyrillic а) is a spoof, not a name.
const CONFUSABLE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u];

function mixesScripts(word: string): boolean {
  return CONFUSABLE_SCRIPTS.filter((script) => script.test(word)).length > 1;
}

/**
 * Checks and normalizes a display name: NFC (so "é" is one code point however it was typed),
 * typographic apostrophes made plain, runs of spaces collapsed, trimmed, 1..60 characters.
 */
export function parseDisplayName(input: unknown): Outcome<string, DisplayNameCode> {
  if (typeof input !== "string") return refuse("display_name_required");
  if (input.length > MAX_RAW_LENGTH) return refuse("display_name_too_long");
  if (HIDDEN_RE.test(input)) return refuse("display_name_invalid_characters");
  const name = input.normalize("NFC").replace(/\u2019/g, "'").replace(/\p{Zs}+/gu, " ").trim();
  if (name.length === 0) return refuse("display_name_required");
  if ([...name].length > DISPLAY_NAME_MAX_LENGTH) return refuse("display_name_too_long");
  if (!NAME_RE.test(name) || PUNCTUATION_RUN_RE.test(name) || MARK_PILE_RE.test(name)) {
    return refuse("display_name_invalid_characters");
  }
  if (name.split(" ").some(mixesScripts)) return refuse("display_name_mixed_scripts");
  if (posesAsOfficial(name)) return refuse("display_name_reserved");
  return ok(name);
}

/** A name holding the platform's name or a staff or brand word ("Fingate Support", "Safaricom Care", "M-Pesa Agent"). */
function posesAsOfficial(name: string): boolean {
  // Words split at spaces and dots, read without their hyphens and apostrophes ("M-Pesa" is "mpesa");
  // word by word, so that "Griffin Gatere" is not taken for "fingate".
  const words = name.toLowerCase().split(/[ .]+/).map((word) => word.replace(/[-']/g, ""));
  return words.some((word) => RESERVED_NAME_WORDS.has(word) || word.includes("fingate"));
}
