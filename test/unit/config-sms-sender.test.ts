import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

describe("FINGATE_SMS_SENDER", () => {
  it("takes a name of up to 11 ASCII characters or a number of up to 20 characters", () => {
    expect(loadConfig({}).smsOutbound.sender).toBe("FINGATE");
    for (const sender of ["DemoBank", "M&M Bank 24", "22141", "+254712250001", "12345678901234567890"]) {
      expect(loadConfig({ FINGATE_SMS_SENDER: sender }).smsOutbound.sender, sender).toBe(sender);
    }
  });

  it("refuses at start what no SMSC takes as a source address: too long, or not ASCII", () => {
    for (const sender of ["DemoBankKenya", "THIS-IS-A-VERY-LONG-SENDER-NAME", "+254712250001234567890", "Bänk", "Bank\u0000"]) {
      expect(() => loadConfig({ FINGATE_SMS_SENDER: sender }), sender).toThrow(/FINGATE_SMS_SENDER must be a number of at most 20 characters or a name of at most 11 ASCII characters/);
    }
  });
});
