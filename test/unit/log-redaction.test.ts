import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactSecrets } from "../../src/infra/log.js";
import { containsPin } from "../helpers/pin-leak.js";

/** Every line the logger writes, parsed. */
function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
  const logger = createLogger("info", sink);
  return { logger, lines: () => chunks.join("").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("log redaction", () => {
  it("censors a secret key the fixed list does not name, by the audit log's rule (otp, pinHash, newPINs, accessToken)", async () => {
    const { logger, lines } = capture();
    logger.info({ otp: "482731", pinHash: "$argon2id$x", newPINs: ["4827"], accessToken: "tok", session: "s2", input: "1" }, "three");
    await new Promise((resolve) => setImmediate(resolve));
    const [line] = lines().filter((l) => l.msg === "three");
    expect(line).toMatchObject({ otp: "[redacted]", pinHash: "[redacted]", newPINs: "[redacted]", accessToken: "[redacted]", session: "s2", input: "1" });
    // Names that describe a secret without holding it stay readable (where the demo's secret is kept, say).
    logger.info({ secretFile: "data/demo-ussd-secret", pinScheme: "argon2id", tokenPrefix: "fgk_ab", pinLength: 4, apiKeyId: "k1" }, "four");
    await new Promise((resolve) => setImmediate(resolve));
    const [described] = lines().filter((l) => l.msg === "four");
    expect(described).toMatchObject({ secretFile: "data/demo-ussd-secret", pinScheme: "argon2id", tokenPrefix: "fgk_ab", pinLength: 4, apiKeyId: "k1" });
  });

  it("censors secrets at the top level and nested, in objects and arrays, and keeps the rest", async () => {
    const { logger, lines } = capture();
    logger.info({ pin: "4827", session: "s1", body: { newPin: "1111", oldPin: "2222", amount: 5 }, req: { headers: { authorization: "Bearer k", host: "h" } } }, "one");
    logger.info({ items: [{ password: "pw", id: 1 }], text: "1*4827", apiKey: "fk_live", secret: "s" }, "two");
    await new Promise((resolve) => setImmediate(resolve));
    const written = lines();
    expect(written[0]).toMatchObject({ pin: "[redacted]", session: "s1", body: { newPin: "[redacted]", oldPin: "[redacted]", amount: 5 }, req: { headers: { authorization: "[redacted]", host: "h" } }, msg: "one" });
    expect(written[1]).toMatchObject({ items: [{ password: "[redacted]", id: 1 }], text: "[redacted]", apiKey: "[redacted]", secret: "[redacted]", msg: "two" });
    const all = JSON.stringify(written);
    // A timestamp or pid may hold four digits by chance: PINs are looked for as tokens.
    for (const pin of ["4827", "1111", "2222"]) expect(containsPin(all, pin), pin).toBe(false);
    for (const secret of ["Bearer k", "fk_live", '"pw"']) expect(all).not.toContain(secret);
  });

  it("censors a child logger's bindings too", async () => {
    const { logger, lines } = capture();
    logger.child({ pin: "9999", link: "l1" }).info("bound");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines()[0]).toMatchObject({ pin: "[redacted]", link: "l1" });
    expect(containsPin(JSON.stringify(lines()), "9999")).toBe(false);
  });

  it("never changes the caller's object and copies nothing when nothing is secret", () => {
    const clean = { session: "s", nested: { a: 1 } };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { nested: { pin: "1234" }, other: { b: 2 } };
    const out = redactSecrets(dirty);
    expect(dirty.nested.pin).toBe("1234");
    expect(out).toEqual({ nested: { pin: "[redacted]" }, other: { b: 2 } });
    expect(out.other).toBe(dirty.other);
  });

  it("leaves class instances and values deeper than its limit alone", () => {
    const deep = { a: { b: { c: { d: { pin: "1" } } } } };
    expect(redactSecrets(deep)).toBe(deep);
    const date = new Date(0);
    expect(redactSecrets({ at: date }).at).toBe(date);
  });
});
