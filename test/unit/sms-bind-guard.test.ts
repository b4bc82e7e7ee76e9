import { describe, expect, it } from "vitest";
import { BindGuard } from "../../src/sms/server/bind-guard.js";

describe("BindGuard", () => {
  const clock = () => {
    const c = { ms: 0, now: () => c.ms };
    return c;
  };

  it("refuses an address once it failed maxFailures times in the window, until the window ends", () => {
    const c = clock();
    const guard = new BindGuard({ maxFailures: 3, windowMs: 1_000, maxConcurrent: 8, now: c.now });
    for (let i = 0; i < 3; i++) {
      expect(guard.begin("10.0.0.1")).toBe(true);
      guard.end("10.0.0.1", false);
    }
    expect(guard.begin("10.0.0.1")).toBe(false);
    expect(guard.begin("10.0.0.2")).toBe(true);
    guard.end("10.0.0.2", true);
    c.ms = 1_000;
    expect(guard.begin("10.0.0.1")).toBe(true);
    guard.end("10.0.0.1", false);
    expect(guard.begin("10.0.0.1")).toBe(true);
    guard.end("10.0.0.1", true);
  });

  it("forgets an address's failures when it binds", () => {
    const guard = new BindGuard({ maxFailures: 2, windowMs: 60_000, maxConcurrent: 8, now: () => 0 });
    expect(guard.begin("a")).toBe(true);
    guard.end("a", false);
    expect(guard.begin("a")).toBe(true);
    guard.end("a", true);
    expect(guard.begin("a")).toBe(true);
    guard.end("a", false);
    expect(guard.begin("a")).toBe(true);
  });

  it("checks at most maxConcurrent binds at once", () => {
    const guard = new BindGuard({ maxFailures: 10, windowMs: 60_000, maxConcurrent: 2, now: () => 0 });
    expect(guard.begin("a")).toBe(true);
    expect(guard.begin("b")).toBe(true);
    expect(guard.begin("c")).toBe(false);
    guard.end("a", true);
    expect(guard.begin("c")).toBe(true);
  });
});
