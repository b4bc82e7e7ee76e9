import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_PARTS, encodeSms, SmsTooLongError } from "../../src/sms/encoding.js";

const REF = 0x2a;
const enc = (text: string, maxParts?: number) => encodeSms(text, { reference: REF, maxParts });

/** The payload of a part without its UDH. */
const body = (part: Buffer, udhi: boolean) => (udhi ? part.subarray(6) : part);

/** Decodes UTF-16BE parts back to text (the UCS-2 round trip). */
function ucs2Text(parts: Buffer[], udhi: boolean): string {
  return parts.map((p) => Buffer.from(body(p, udhi)).swap16().toString("utf16le")).join("");
}

function expectUdh(parts: Buffer[]) {
  parts.forEach((part, i) => {
    expect([...part.subarray(0, 6)]).toEqual([0x05, 0x00, 0x03, REF, parts.length, i + 1]);
  });
}

describe("GSM 03.38 detection and encoding", () => {
  it("encodes basic characters one septet per octet with data_coding 0", () => {
    const out = enc("@£$ Hello\n");
    expect(out).toEqual({ dataCoding: 0, udhi: false, parts: [Buffer.from([0x00, 0x01, 0x02, 0x20, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x0a])] });
  });

  it("escapes extension characters with 0x1B", () => {
    expect([...enc("€[]{}").parts[0]!]).toEqual([0x1b, 0x65, 0x1b, 0x3c, 0x1b, 0x3e, 0x1b, 0x28, 0x1b, 0x29]);
    expect([...enc("^~\\|\f").parts[0]!]).toEqual([0x1b, 0x14, 0x1b, 0x3d, 0x1b, 0x2f, 0x1b, 0x40, 0x1b, 0x0a]);
  });

  it("switches to UCS-2 (UTF-16BE) for any character outside the GSM tables", () => {
    const out = enc("Hi ₹5");
    expect(out.dataCoding).toBe(8);
    expect([...out.parts[0]!]).toEqual([0x00, 0x48, 0x00, 0x69, 0x00, 0x20, 0x20, 0xb9, 0x00, 0x35]);
  });

  it("does not accept a bare ESC or a backtick as GSM", () => {
    expect(enc("a\x1bb").dataCoding).toBe(8);
    expect(enc("a`b").dataCoding).toBe(8);
  });

  it("encodes the empty text as one empty GSM part", () => {
    expect(enc("")).toEqual({ dataCoding: 0, udhi: false, parts: [Buffer.alloc(0)] });
  });
});

describe("GSM concatenation boundaries", () => {
  it("keeps 160 septets in one part and splits 161 into 153 + 8", () => {
    expect(enc("a".repeat(160)).parts).toHaveLength(1);
    const out = enc("a".repeat(161));
    expect(out.udhi).toBe(true);
    expect(out.parts.map((p) => p.length - 6)).toEqual([153, 8]);
    expectUdh(out.parts);
  });

  it("fills exactly two parts with 306 septets and needs a third for 307", () => {
    expect(enc("b".repeat(306)).parts.map((p) => p.length)).toEqual([159, 159]);
    expect(enc("b".repeat(307)).parts.map((p) => p.length - 6)).toEqual([153, 153, 1]);
  });

  it("counts extension characters as two septets against the 160 limit", () => {
    expect(enc("€".repeat(80)).parts).toHaveLength(1);
    expect(enc("€".repeat(80) + "a").parts).toHaveLength(2);
  });

  it("never splits an escape sequence across parts", () => {
    // 152 septets, then € (2 septets) would straddle the 153 boundary: it moves whole to part 2.
    const out = enc("a".repeat(152) + "€" + "b".repeat(10));
    const [first, second] = out.parts.map((p) => body(p, true));
    expect(first).toHaveLength(152);
    expect([...second!.subarray(0, 2)]).toEqual([0x1b, 0x65]);
    expect(first![first!.length - 1]).not.toBe(0x1b);
    expectUdh(out.parts);
  });

  it("fits an escape sequence that ends exactly at the boundary", () => {
    const out = enc("a".repeat(151) + "€" + "b".repeat(10));
    expect(body(out.parts[0]!, true)).toHaveLength(153);
    expect(body(out.parts[1]!, true)).toEqual(Buffer.from("b".repeat(10)));
  });
});

describe("UCS-2 concatenation boundaries", () => {
  it("keeps 70 units in one part and splits 71 into 67 + 4", () => {
    expect(enc("ж".repeat(70)).parts).toHaveLength(1);
    const out = enc("ж".repeat(71));
    expect(out).toMatchObject({ dataCoding: 8, udhi: true });
    expect(out.parts.map((p) => (p.length - 6) / 2)).toEqual([67, 4]);
    expectUdh(out.parts);
  });

  it("fills exactly two parts with 134 units", () => {
    expect(enc("ж".repeat(134)).parts.map((p) => p.length)).toEqual([140, 140]);
    expect(enc("ж".repeat(135)).parts).toHaveLength(3);
  });

  it("never splits a surrogate pair across parts", () => {
    // 66 units, then an emoji (2 units) would straddle the 67 boundary.
    const text = "ж".repeat(66) + "😀" + "ok".repeat(5);
    const out = enc(text);
    expect(out.parts.map((p) => (p.length - 6) / 2)).toEqual([66, 12]);
    expect(ucs2Text(out.parts, true)).toBe(text);
  });

  it("counts an emoji as two units against the 70 limit", () => {
    expect(enc("😀".repeat(35)).parts).toHaveLength(1);
    expect(enc("😀".repeat(35) + "a").parts).toHaveLength(2);
  });

  it("round-trips mixed scripts", () => {
    const text = "नमस्ते 😀 €100 — ".repeat(12);
    const out = enc(text);
    expect(ucs2Text(out.parts, out.udhi)).toBe(text);
  });
});

describe("limits", () => {
  it(`refuses texts needing more than ${DEFAULT_MAX_PARTS} parts with a clear error`, () => {
    expect(enc("a".repeat(153 * 10)).parts).toHaveLength(10);
    expect(() => enc("a".repeat(153 * 10 + 1))).toThrow(SmsTooLongError);
    expect(() => enc("ж".repeat(67 * 10 + 1))).toThrow(/needs at least 11 parts, more than the limit of 10/);
  });

  it("refuses a huge input before encoding it", () => {
    expect(() => enc("x".repeat(1_000_000))).toThrow(SmsTooLongError);
  });

  it("honours a smaller maxParts and validates options", () => {
    expect(() => enc("a".repeat(161), 1)).toThrow(SmsTooLongError);
    expect(() => encodeSms("a", { reference: 256 })).toThrow(RangeError);
    expect(() => encodeSms("a", { reference: 1, maxParts: 0 })).toThrow(RangeError);
  });
});
