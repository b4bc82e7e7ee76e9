/** Digits typed in another script are read as ASCII digits by every channel. */
import { describe, expect, it } from "vitest";
import { asciiDigits } from "../../src/menus/index.js";

describe("asciiDigits", () => {
  it("maps each supported script's ten digits to 0-9", () => {
    const zeros = [0x0660, 0x06f0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66, 0x0be6, 0x0c66, 0x0ce6, 0x0d66, 0xff10];
    for (const zero of zeros) {
      const digits = Array.from({ length: 10 }, (_, i) => String.fromCharCode(zero + i)).join("");
      expect(asciiDigits(digits), zero.toString(16)).toBe("0123456789");
    }
  });

  it("keeps everything else, and returns the very string when there is nothing to map", () => {
    expect(asciiDigits("पैसे २*०७१२ abc 9")).toBe("पैसे 2*0712 abc 9");
    const ascii = "2*0712345678*100";
    expect(asciiDigits(ascii)).toBe(ascii);
    // The code points just outside each block are not digits.
    expect(asciiDigits("\u0965\u0970\u065f\u066a")).toBe("\u0965\u0970\u065f\u066a");
  });

  it("gives the same answer on repeated calls (the shared pattern keeps no position)", () => {
    for (let i = 0; i < 3; i++) expect(asciiDigits("x४")).toBe("x4");
  });
});
