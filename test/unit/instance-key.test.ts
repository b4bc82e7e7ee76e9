import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hexKey32, resolveInstanceKey, type InstanceKeySpec } from "../../src/infra/auth/instance-key.js";

const SPEC: InstanceKeySpec = { name: "SMS key", variable: "FINGATE_SMS_SECRET_KEY", file: "sms-key", parse: hexKey32("FINGATE_SMS_SECRET_KEY"), required: "64 hex characters" };
const dirs: string[] = [];
const dataDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "fingate-instance-key-"));
  dirs.push(dir);
  return path.join(dir, "data");
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("instance keys (SMS, USSD)", () => {
  it("are generated once into the data directory (0600), so a restart finds the same key", async () => {
    const dir = await dataDir();
    const first = await resolveInstanceKey(SPEC, { configured: undefined, dataDir: dir, production: false });
    const again = await resolveInstanceKey(SPEC, { configured: undefined, dataDir: dir, production: false });
    expect(first.origin).toBe("data-dir");
    expect(Buffer.from(again.key).equals(Buffer.from(first.key))).toBe(true);
    expect(first.key.length).toBe(32);
    expect((await stat(path.join(dir, "sms-key"))).mode & 0o777).toBe(0o600);
    expect((await readFile(path.join(dir, "sms-key"), "utf8")).trim()).toBe(Buffer.from(first.key).toString("hex"));
  });

  it("are required in production, and a configured one must be 64 hex characters", async () => {
    const dir = await dataDir();
    await expect(resolveInstanceKey(SPEC, { configured: undefined, dataDir: dir, production: true })).rejects.toThrow(/FINGATE_SMS_SECRET_KEY is required in production/);
    await expect(resolveInstanceKey(SPEC, { configured: "abc", dataDir: dir, production: true })).rejects.toThrow(/64 hex characters/);
    const configured = "ab".repeat(32);
    const resolved = await resolveInstanceKey(SPEC, { configured, dataDir: dir, production: true });
    expect(resolved.origin).toBe("env");
    expect(Buffer.from(resolved.key).toString("hex")).toBe(configured);
  });
});
