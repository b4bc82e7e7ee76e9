import { describe, expect, it } from "vitest";
import { backoffDelayMs, checkBackoffPolicy } from "../../src/sms/backoff.js";
import { smppClientConfig } from "../../src/sms/smpp-client-config.js";

const policy = { initialMs: 100, maxMs: 1_000, jitterRatio: 0.5 };

describe("backoffDelayMs", () => {
  it("doubles from the initial delay up to the cap when there is no jitter", () => {
    const delays = [0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, () => 0));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("takes off at most jitterRatio of the delay", () => {
    expect(backoffDelayMs(2, policy, () => 1)).toBe(200);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(300);
  });

  it("stays finite and capped after a very long outage", () => {
    expect(backoffDelayMs(10_000, policy, () => 0)).toBe(1_000);
    expect(backoffDelayMs(-3, policy, () => 0)).toBe(100);
  });

  it("refuses nonsensical policies", () => {
    expect(() => checkBackoffPolicy("p", { initialMs: 0, maxMs: 10, jitterRatio: 0 })).toThrow(RangeError);
    expect(() => checkBackoffPolicy("p", { initialMs: 10, maxMs: 5, jitterRatio: 0 })).toThrow(RangeError);
    expect(() => checkBackoffPolicy("p", { initialMs: 10, maxMs: 50, jitterRatio: 2 })).toThrow(RangeError);
  });
});

describe("smppClientConfig", () => {
  const base = { host: "127.0.0.1", port: 2775, systemId: "fingate", password: "secret" };

  it("fills defaults", () => {
    expect(smppClientConfig(base)).toMatchObject({ windowSize: 10, maxQueued: 10_000, systemType: "" });
  });

  it("enforces SMPP 3.4 field lengths and bounds", () => {
    expect(() => smppClientConfig({ ...base, password: "ninechars" })).toThrow(/password/);
    expect(() => smppClientConfig({ ...base, systemId: "x".repeat(16) })).toThrow(/systemId/);
    expect(() => smppClientConfig({ ...base, windowSize: 0 })).toThrow(/windowSize/);
    expect(() => smppClientConfig({ ...base, port: 70_000 })).toThrow(/port/);
  });
});
