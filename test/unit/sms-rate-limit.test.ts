/** The per-number MO limit: fixed windows in memory, and the per-instance count standing in for a shared one that fails or hangs. */
import { describe, expect, it } from "vitest";
import { FallbackRateLimiter, MemoryRateLimiter, type RateLimiter } from "../../src/sms/commands/rate-limit.js";

function recorder() {
  const lines: string[] = [];
  return { lines, logger: { warn: (_: object, m: string) => void lines.push(`warn ${m}`), info: (_: object, m: string) => void lines.push(`info ${m}`) } };
}

describe("MemoryRateLimiter", () => {
  it("allows max a window per key, and a new window starts after windowSec", async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ max: 2, windowSec: 60 }, () => now);
    expect([await limiter.allow("a"), await limiter.allow("a"), await limiter.allow("a"), await limiter.allow("b")]).toEqual([true, true, false, true]);
    now = 60_000;
    expect(await limiter.allow("a")).toBe(true);
  });
});

describe("FallbackRateLimiter", () => {
  it("counts locally while the shared count hangs past its timeout or fails, and says so once an outage", async () => {
    let mode: "hang" | "fail" | "ok" = "hang";
    const shared: RateLimiter = {
      allow: () => (mode === "hang" ? new Promise<boolean>(() => undefined) : mode === "fail" ? Promise.reject(new Error("ECONNREFUSED")) : Promise.resolve(false)),
    };
    const { lines, logger } = recorder();
    const limiter = new FallbackRateLimiter(shared, new MemoryRateLimiter({ max: 1, windowSec: 60 }), logger, 20);
    const started = Date.now();
    expect(await limiter.allow("k")).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    mode = "fail";
    expect(await limiter.allow("k")).toBe(false); // the local count: 2 > 1
    expect(lines).toEqual(["warn sms rate limit: the shared count failed; counting per instance"]);
    // The shared count answers again: its answer is the one that counts.
    mode = "ok";
    expect(await limiter.allow("other")).toBe(false);
    expect(lines.at(-1)).toBe("info sms rate limit: the shared count answers again");
  });

  it("falls back to a count that includes the messages the shared count saw, not one from zero", async () => {
    let slow = false;
    const shared = new MemoryRateLimiter({ max: 2, windowSec: 60 });
    const flaky: RateLimiter = { allow: (key) => (slow ? new Promise<boolean>(() => undefined) : shared.allow(key)) };
    const limiter = new FallbackRateLimiter(flaky, new MemoryRateLimiter({ max: 2, windowSec: 60 }), recorder().logger, 20);
    expect(await limiter.allow("k")).toBe(true);
    expect(await limiter.allow("k")).toBe(true);
    // A third message while the shared count is slow: still the number's third, so refused.
    slow = true;
    expect(await limiter.allow("k")).toBe(false);
  });
});
