/** The per-link throughput cap and rate meter, on a clock the test moves. */
import { describe, expect, it } from "vitest";
import { RateMeter, TokenBucket } from "../../src/sms/server/throughput.js";
import { encodeUssdText } from "../../src/sms/ussd/ussd-text.js";

describe("TokenBucket", () => {
  it("allows a second's burst, then the rate", () => {
    let now = 1_000_000;
    const bucket = new TokenBucket(5, () => now);
    expect(Array.from({ length: 7 }, () => bucket.take())).toEqual([true, true, true, true, true, false, false]);
    now += 200; // one token per 200 ms at 5/s
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000; // never more than one second's worth
    expect(Array.from({ length: 6 }, () => bucket.take()).filter(Boolean)).toHaveLength(5);
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});

describe("RateMeter", () => {
  it("reports events per second over its window and forgets old seconds", () => {
    let now = 5_000_000;
    const meter = new RateMeter(10, () => now);
    for (let i = 0; i < 30; i++) meter.add();
    expect(meter.perSecond()).toBe(3);
    now += 4_000;
    meter.add(10);
    expect(meter.perSecond()).toBe(4);
    now += 7_000; // the first second left the window
    expect(meter.perSecond()).toBe(1);
    now += 60_000;
    expect(meter.perSecond()).toBe(0);
  });
});

describe("USSD text", () => {
  it("encodes a screen as GSM septets when it can, as UCS-2 otherwise", () => {
    expect(encodeUssdText("Bal: €5", 15)).toEqual({ dataCoding: 15, payload: Buffer.from([0x42, 0x61, 0x6c, 0x3a, 0x20, 0x1b, 0x65, 0x35]) });
    const hindi = encodeUssdText("शेष", 0);
    expect(hindi.dataCoding).toBe(8);
    expect(hindi.payload.swap16().toString("utf16le")).toBe("शेष");
  });
});
