import { randomBytes } from "node:crypto";
import { access, link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { MIN_PIN_KEY_BYTES } from "./hmac-pin-hasher.js";

/**
 * FINGATE_PIN_KEY: the secret of the keyed PIN scheme, 32 bytes or more given as hex or base64.
 * On embedded defaults (no key configured, not in production) one is generated and kept in the
 * data directory, like the demo's USSD secret; NODE_ENV=production refuses to start without one,
 * because a generated key lives on one machine and every instance must share the same key.
 */
export function parsePinKey(raw: string): Uint8Array {
  const text = raw.trim();
  const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, "hex") : base64(text);
  if (!bytes || bytes.length < MIN_PIN_KEY_BYTES) {
    throw new Error(`FINGATE_PIN_KEY must be at least ${MIN_PIN_KEY_BYTES} bytes, as hex (${MIN_PIN_KEY_BYTES * 2}+ characters) or base64`);
  }
  return bytes;
}

function base64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

export function pinKeyPath(dataDir: string): string {
  return path.join(dataDir, "pin-key");
}

export interface PinKeySource {
  /** FINGATE_PIN_KEY as configured. */
  configured: string | undefined;
  dataDir: string;
  production: boolean;
}

/** The configured key, else (outside production) the data directory's, generated (mode 0600) on first use. */
export async function resolvePinKey(source: PinKeySource): Promise<{ key: Uint8Array; origin: "env" | "data-dir" }> {
  if (source.configured) return { key: parsePinKey(source.configured), origin: "env" };
  if (source.production) throw new Error("FINGATE_PIN_KEY is required in production (NODE_ENV=production): 32+ random bytes as hex or base64, the same on every instance");
  const file = pinKeyPath(source.dataDir);
  if (!(await exists(file))) await createKeyFile(source.dataDir, file);
  try {
    return { key: parsePinKey(await readFile(file, "utf8")), origin: "data-dir" };
  } catch {
    throw new Error(`${file} holds no usable PIN key; restore it (PINs set under it verify only with it)`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function createKeyFile(dataDir: string, file: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // Written aside, then linked into place: a process racing this one sees no file or a whole one,
  // and both end up with the file's key.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}
