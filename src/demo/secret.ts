import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/** Where the demo's Africa's Talking secret lives: generated once, readable by its owner only. */
export function demoSecretPath(dataDir: string): string {
  return path.join(dataDir, "demo-ussd-secret");
}

/** The stored secret, or null when there is none (or it is unreadable or too short). */
export async function readDemoSecret(dataDir: string): Promise<string | null> {
  try {
    const secret = (await readFile(demoSecretPath(dataDir), "utf8")).trim();
    return secret.length >= 16 ? secret : null;
  } catch {
    return null;
  }
}

/** The stored secret, created (mode 0600) on first use. Two processes racing both end up with the file's. */
export async function ensureDemoSecret(dataDir: string): Promise<string> {
  const existing = await readDemoSecret(dataDir);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(24).toString("base64url");
  try {
    await writeFile(demoSecretPath(dataDir), `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stored = await readDemoSecret(dataDir);
  if (!stored) throw new Error(`${demoSecretPath(dataDir)} holds no usable secret; delete it to have a new one generated`);
  return stored;
}
