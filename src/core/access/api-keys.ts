import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Secrets look like "fgk_<43 base64url characters>": 32 random bytes, recognisable in a leak scan. */
export const API_KEY_PREFIX = "fgk_";
const SECRET_BYTES = 32;
const SHOWN_PREFIX_CHARS = API_KEY_PREFIX.length + 6;
// Longer bearer tokens are refused before hashing: no key is that long.
const MAX_PRESENTED_CHARS = 256;

export interface NewApiKeySecret {
  /** Shown once to whoever created the key, never stored. */
  secret: string;
  /** SHA-256 hex of the secret: what is stored and looked up. */
  hash: string;
  prefix: string;
}

/**
 * A fresh key. SHA-256 without salt is enough here, unlike for PINs: the secret has 256 bits of
 * entropy, so no dictionary or brute-force search can invert the stored hash.
 */
export function newApiKeySecret(): NewApiKeySecret {
  const secret = API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
  return { secret, hash: hashApiKey(secret), prefix: secret.slice(0, SHOWN_PREFIX_CHARS) };
}

export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether a presented bearer token is worth a lookup at all. */
export function plausibleApiKey(token: string): boolean {
  return token.length > 0 && token.length <= MAX_PRESENTED_CHARS;
}

/** Compares a presented token with a configured one in constant time (hashes have equal length). */
export function sameSecret(presented: string, configured: string): boolean {
  return timingSafeEqual(Buffer.from(hashApiKey(presented), "hex"), Buffer.from(hashApiKey(configured), "hex"));
}

/** The platform bootstrap key must be as hard to guess as a generated one. */
export const MIN_CONFIGURED_KEY_CHARS = 32;
