/**
 * Seals a PIN between two steps of a flow (new PIN → confirm) with AES-256-GCM under a server
 * key, bound by the additional data to what the caller gives (the menus: bank, number and flow). Without the key the stored value says nothing,
 * unlike a hash of a 4-digit PIN, which 10,000 guesses reverse.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { SealPort } from "../ports.js";

/** IV (12 bytes) and authentication tag (16 bytes) ahead of the ciphertext. */
const HEADER_BYTES = 28;

export class AesGcmSealer implements SealPort {
  private readonly key: Buffer;

  /** key: 32 bytes shared by every gateway instance that serves the same sessions. */
  constructor(key: Uint8Array = randomBytes(32)) {
    if (key.length !== 32) throw new Error("sealer key must be 32 bytes");
    this.key = Buffer.from(key);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
  }

  open(sealed: string, context: string): string | null {
    try {
      const raw = Buffer.from(sealed, "base64url");
      // Too short to hold the IV and a whole 16-byte tag: a truncated tag would weaken the check.
      if (raw.length < HEADER_BYTES) return null;
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    } catch {
      return null;
    }
  }
}
