import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { parsePinKey, pinKeyPath, resolvePinKey } from "../../src/infra/auth/pin-key.js";

const SUBJECT = "0193a5b0-0000-7000-8000-000000000001";
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), "fingate-pin-key-"));
  dirs.push(d);
  return d;
};

describe("FINGATE_PIN_KEY", () => {
  it("accepts 32+ bytes as hex or base64 and refuses anything shorter or malformed", () => {
    const key = randomBytes(32);
    expect(Buffer.from(parsePinKey(key.toString("hex")))).toEqual(key);
    expect(Buffer.from(parsePinKey(key.toString("base64")))).toEqual(key);
    expect(Buffer.from(parsePinKey(key.toString("base64url")))).toEqual(key);
    for (const bad of [randomBytes(31).toString("hex"), randomBytes(16).toString("base64"), "not a key!", "secret"]) {
      expect(() => parsePinKey(bad)).toThrow(/at least 32 bytes/);
    }
  });

  it("is generated once in the data directory (mode 0600) when unset, and refused unset in production", async () => {
    const dataDir = path.join(await tempDir(), "data");
    const first = await resolvePinKey({ configured: undefined, dataDir, production: false });
    const again = await resolvePinKey({ configured: undefined, dataDir, production: false });
    expect(first.origin).toBe("data-dir");
    expect(Buffer.from(again.key)).toEqual(Buffer.from(first.key));
    expect((await stat(pinKeyPath(dataDir))).mode & 0o777).toBe(0o600);
    await expect(resolvePinKey({ configured: undefined, dataDir, production: true })).rejects.toThrow(/FINGATE_PIN_KEY is required in production/);
    const configured = randomBytes(32).toString("hex");
    expect(await resolvePinKey({ configured, dataDir, production: true })).toMatchObject({ origin: "env" });
    await writeFile(pinKeyPath(dataDir), "short\n");
    await expect(resolvePinKey({ configured: undefined, dataDir, production: false })).rejects.toThrow(/no usable PIN key/);
  });

  it("gives racing processes the same key", async () => {
    const dataDir = await tempDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => resolvePinKey({ configured: undefined, dataDir, production: false })));
    const stored = parsePinKey(await readFile(pinKeyPath(dataDir), "utf8"));
    for (const k of keys) expect(Buffer.from(k.key)).toEqual(Buffer.from(stored));
  });
});

describe("HmacPinHasher", () => {
  const hasher = new HmacPinHasher(randomBytes(32));

  it("salts each verifier, verifies only the right PIN for the right subject", async () => {
    const a = await hasher.hash("4827", SUBJECT);
    const b = await hasher.hash("4827", SUBJECT);
    expect(a).not.toBe(b);
    expect(await hasher.verify(a, "4827", SUBJECT)).toBe(true);
    expect(await hasher.verify(a, "4828", SUBJECT)).toBe(false);
    expect(await hasher.verify(a, "48270", SUBJECT)).toBe(false);
    expect(await hasher.verify(a, "4827", SUBJECT.replace(/1$/, "2"))).toBe(false);
  });

  it("refuses short keys, malformed verifiers and verifiers of another key, without echoing them", async () => {
    expect(() => new HmacPinHasher(randomBytes(31))).toThrow(/at least 32 bytes/);
    const encoded = await hasher.hash("4827", SUBJECT);
    for (const bad of ["$argon2id$v=19$4827", "$fg-hmac-sha256$4827", `${encoded}$x`, encoded.replace("k=", "q=")]) {
      await expect(hasher.verify(bad, "4827", SUBJECT)).rejects.toThrow(/^stored PIN verifier could not be parsed$/);
    }
    await expect(new HmacPinHasher(randomBytes(32)).verify(encoded, "4827", SUBJECT)).rejects.toThrow(/another FINGATE_PIN_KEY/);
  });
});
