/**
 * Drops secrets from an audit payload before it is hashed and stored: a hash chain makes a leaked
 * PIN permanent, since the row can never be rewritten. Keys are split into words (camelCase,
 * snake_case, kebab-case, dots, digits) and a key is dropped when any word names a secret, so
 * "newPin", "old_pin", "PIN", "pin2", "accessToken", "otp-code" and "newPINs" go while "shipping",
 * "mapping" and "spinner" stay.
 */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  "pin", "pins", "mpin", "password", "passwd", "pwd", "passphrase", "passcode",
  "secret", "secrets", "token", "tokens", "otp", "cvv", "cvc",
]);

// Upper-case runs with a plural's lone "s" ("newPINs" → "new", "PINs"; without it the run split as
// "PI", "Ns" and the key was kept), other upper-case runs ("PINCode" → "PIN", "Code"), capitalized
// words, lower-case runs, digit runs.
const WORD = /[A-Z]+s(?![a-z])|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

/** A secret word, or its plural ("OTPs", "passwords"). */
function isSecretWord(word: string): boolean {
  const lower = word.toLowerCase();
  return SECRET_WORDS.has(lower) || (lower.length > 1 && lower.endsWith("s") && SECRET_WORDS.has(lower.slice(0, -1)));
}

export function isSecretKey(key: string): boolean {
  if (isSecretWord(key)) return true;
  for (const word of key.match(WORD) ?? []) {
    if (isSecretWord(word)) return true;
  }
  return false;
}

function redactValue(value: unknown, depth: number): unknown {
  // Beyond this depth normalization cuts the value off anyway; stop recursing to bound the work.
  if (depth > 32 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  // Dates, Maps and class instances pass through untouched; normalization accepts or refuses them.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) {
    if (!isSecretKey(key)) out[key] = redactValue(item, depth + 1);
  }
  return out;
}

/** A copy of payload without secret-named keys, at any depth and inside arrays. */
export function redactPayload(payload: Record<string, unknown>): Record<string, unknown> {
  return redactValue(payload, 0) as Record<string, unknown>;
}
