/**
 * Link passwords at rest. A telco's password for binding to us is only ever verified, so it is
 * kept as a salted scrypt hash. The password we present to a telco's SMSC must be recoverable, so
 * it is sealed with AES-256-GCM under a key from the environment (never the database).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32 } as const;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** "scrypt$N$r$p$salt$hash" (base64url), so the parameters can change later without a migration. */
export async function hashLinkPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

export async function verifyLinkPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash || Number(n) !== SCRYPT.N || Number(r) !== SCRYPT.r || Number(p) !== SCRYPT.p) return false;
  const expected = Buffer.from(hash, "base64url");
  const given = await scryptAsync(password, Buffer.from(salt, "base64url"));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A hash to check against when the system_id is unknown, so timing does not tell which ids exist. */
let dummyHash: Promise<string> | undefined;
export function dummyLinkPasswordHash(): Promise<string> {
  dummyHash ??= hashLinkPassword(randomBytes(12).toString("base64url"));
  return dummyHash;
}

/** AES-256-GCM bound to `context` (additional data): base64url iv, tag and ciphertext. */
export function sealGcm(key: Uint8Array, context: string, plain: string): [string, string, string] {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")];
}

/** The plain text of sealGcm's parts; null when sealed under another key or another context. */
export function openGcm(key: Uint8Array, context: string, iv: string, tag: string, data: string): string | null {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/**
 * Text sealed with AES-256-GCM as "iv.tag.ciphertext" (base64url), bound to `${context}:${place}`
 * so that it cannot be moved to another place (an MO part's slot, a pending message's record).
 */
export class PlaceSealer {
  constructor(
    private readonly key: Uint8Array,
    private readonly context: string,
  ) {
    if (key.length !== 32) throw new Error(`the ${context} key must have 32 bytes`);
  }

  seal(text: string, place: string): string {
    return sealGcm(this.key, `${this.context}:${place}`, text).join(".");
  }

  /** null when sealed under another key (FINGATE_SMS_SECRET_KEY changed) or for another place. */
  open(sealed: string, place: string): string | null {
    const [iv, tag, data] = sealed.split(".");
    if (!iv || !tag || data === undefined) return null;
    return openGcm(this.key, `${this.context}:${place}`, iv, tag, data);
  }
}

export class LinkPasswordSealer {
  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new Error("the SMS link key must have 32 bytes");
  }

  /** "v1.iv.tag.ciphertext" (base64url), bound to the link id so a sealed value cannot be moved. */
  seal(plain: string, linkId: string): string {
    return ["v1", ...sealGcm(this.key, `fingate:sms-link:${linkId}`, plain)].join(".");
  }

  /** null when the value was sealed under another key or for another link. */
  open(sealed: string, linkId: string): string | null {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || data === undefined) return null;
    return openGcm(this.key, `fingate:sms-link:${linkId}`, iv, tag, data);
  }
}
