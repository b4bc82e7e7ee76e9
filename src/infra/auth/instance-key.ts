import { randomBytes } from "node:crypto";
import { access, link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A secret every instance must share (the PIN key, the SMS and USSD keys): the configured value,
 * or on embedded defaults (not in production) one generated once into the data directory (mode
 * 0600), so that a restart finds the same key. NODE_ENV=production refuses to start without it:
 * a generated key lives on one machine, and a second instance or a new machine would differ.
 */
export interface InstanceKeySpec {
  /** What it is, for messages ("PIN key"). */
  name: string;
  /** The environment variable that configures it, for messages. */
  variable: string;
  /** Its file in the data directory. */
  file: string;
  /** Reads a configured or stored value; throws with a message naming the variable when it is not usable. */
  parse(raw: string): Uint8Array;
  /** How the required value is described when production lacks it. */
  required: string;
}

export interface InstanceKeySource {
  configured: string | undefined;
  dataDir: string;
  production: boolean;
}

export async function resolveInstanceKey(spec: InstanceKeySpec, source: InstanceKeySource): Promise<{ key: Uint8Array; origin: "env" | "data-dir"; file: string }> {
  const file = path.join(source.dataDir, spec.file);
  if (source.configured) return { key: spec.parse(source.configured), origin: "env", file };
  if (source.production) throw new Error(`${spec.variable} is required in production (NODE_ENV=production): ${spec.required}, the same on every instance`);
  if (!(await exists(file))) await createKeyFile(source.dataDir, file);
  try {
    return { key: spec.parse(await readFile(file, "utf8")), origin: "data-dir", file };
  } catch {
    throw new Error(`${file} holds no usable ${spec.name} (${spec.variable}); restore it: what was keyed or sealed under it needs it`);
  }
}

/** 32 bytes as 64 hex characters: the SMS and USSD keys. */
export function hexKey32(variable: string): (raw: string) => Uint8Array {
  return (raw) => {
    const hex = raw.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${variable} must be 64 hex characters`);
    return Buffer.from(hex, "hex");
  };
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
