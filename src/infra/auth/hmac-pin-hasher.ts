import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { PinHasher } from "../../core/auth/ports.js";

/**
 * Keyed PIN verification, the banking practice (ISO 9564 PIN verification values under a key the
 * database never holds): verifier = HMAC-SHA-256(key, salt ‖ subject id ‖ 0x00 ‖ PIN).
 *
 * Why not a slow hash: a 4-6 digit PIN has 10^4-10^6 values, so no affordable hash cost stops an
 * offline search of a stolen table (10^4 × 33 ms of Argon2id is five minutes on one core), while
 * that cost caps the gateway at a few dozen PIN hops per second per core. Without the key a stolen
 * table gives nothing to search; online guessing is stopped by the lockout, not by the hash.
 *
 * Encoded: `$fg-hmac-sha256$k=<key id>$<salt>$<mac>` (base64url). The key id (a MAC of a fixed
 * label, not the key) tells a verifier made under another key apart from a wrong PIN: that is a
 * configuration error and is thrown, so customers are not locked out by a mis-set key.
 */
export const HMAC_SCHEME = "hmac-sha256";
const PREFIX = "$fg-hmac-sha256$";
const SALT_BYTES = 16;
export const MIN_PIN_KEY_BYTES = 32;

export class HmacPinHasher implements PinHasher {
  readonly scheme = HMAC_SCHEME;
  readonly fastVerify = true;
  private readonly key: Buffer;
  readonly keyId: string;

  constructor(key: Uint8Array) {
    if (key.length < MIN_PIN_KEY_BYTES) throw new Error(`the PIN key must be at least ${MIN_PIN_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
    this.keyId = createHmac("sha256", this.key).update("fingate pin key id").digest("base64url").slice(0, 11);
  }

  async hash(pin: string, subjectId: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    return `${PREFIX}k=${this.keyId}$${salt.toString("base64url")}$${this.mac(salt, subjectId, pin).toString("base64url")}`;
  }

  async verify(encoded: string, pin: string, subjectId: string): Promise<boolean> {
    const parts = encoded.startsWith(PREFIX) ? encoded.slice(PREFIX.length).split("$") : [];
    const [keyPart, saltPart, macPart] = parts;
    if (parts.length !== 3 || !keyPart?.startsWith("k=") || !saltPart || !macPart) throw new Error("stored PIN verifier could not be parsed");
    if (keyPart.slice(2) !== this.keyId) throw new Error("stored PIN verifier was made under another FINGATE_PIN_KEY");
    const expected = Buffer.from(macPart, "base64url");
    const actual = this.mac(Buffer.from(saltPart, "base64url"), subjectId, pin);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  private mac(salt: Buffer, subjectId: string, pin: string): Buffer {
    return createHmac("sha256", this.key).update(salt).update(subjectId).update("\u0000").update(pin).digest();
  }
}
