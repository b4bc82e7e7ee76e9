import path from "node:path";
import { MIN_PIN_KEY_BYTES } from "./hmac-pin-hasher.js";
import { resolveInstanceKey, type InstanceKeySpec } from "./instance-key.js";

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

const PIN_KEY: InstanceKeySpec = {
  name: "PIN key",
  variable: "FINGATE_PIN_KEY",
  file: "pin-key",
  parse: parsePinKey,
  required: "32+ random bytes as hex or base64",
};

/** The configured key, else (outside production) the data directory's, generated (mode 0600) on first use. */
export function resolvePinKey(source: PinKeySource): Promise<{ key: Uint8Array; origin: "env" | "data-dir"; file: string }> {
  return resolveInstanceKey(PIN_KEY, source);
}
