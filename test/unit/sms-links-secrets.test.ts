/** Link passwords at rest: hashed for telcos binding to us, sealed for SMSCs we bind to. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashLinkPassword, LinkPasswordSealer, verifyLinkPassword } from "../../src/sms/links/secrets.js";

describe("server account passwords", () => {
  it("verify only the right password, with a fresh salt each time", async () => {
    const a = await hashLinkPassword("pw12345");
    const b = await hashLinkPassword("pw12345");
    expect(a).not.toBe(b);
    expect(a).not.toContain("pw12345");
    expect(await verifyLinkPassword("pw12345", a)).toBe(true);
    expect(await verifyLinkPassword("pw12346", a)).toBe(false);
    expect(await verifyLinkPassword("", a)).toBe(false);
    expect(await verifyLinkPassword("pw12345", "plain:pw12345")).toBe(false);
  });
});

describe("client link passwords", () => {
  it("open only under the same key and for the same link", () => {
    const sealer = new LinkPasswordSealer(randomBytes(32));
    const sealed = sealer.seal("smsc-pw", "airtel");
    expect(sealed).not.toContain("smsc-pw");
    expect(sealer.open(sealed, "airtel")).toBe("smsc-pw");
    expect(sealer.open(sealed, "safaricom")).toBeNull();
    expect(new LinkPasswordSealer(randomBytes(32)).open(sealed, "airtel")).toBeNull();
    expect(sealer.open(`${sealed.slice(0, -2)}AA`, "airtel")).toBeNull();
    expect(sealer.open("garbage", "airtel")).toBeNull();
    expect(() => new LinkPasswordSealer(randomBytes(16))).toThrow();
  });
});
