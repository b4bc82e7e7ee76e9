// Dial strings, read once for every channel (aggregator HTTP dialects and USSD over SMPP): the
// shortcut is what follows the service code's own segments, positionally.
import { describe, expect, it } from "vitest";
import { dialSegments, shortcutOf } from "../../src/menus/index.js";

describe("dial strings", () => {
  it("splits a dial string or a service code, with or without * and #, and refuses anything else", () => {
    expect(dialSegments("*384*1*2#")).toEqual(["384", "1", "2"]);
    expect(dialSegments("711*2")).toEqual(["711", "2"]);
    expect(dialSegments(" *384# ")).toEqual(["384"]);
    for (const text of ["hello", "", "*384*1a#", "1 2"]) expect(dialSegments(text), text).toEqual([]);
  });

  it("keeps empty segments: they are positional", () => {
    expect(dialSegments("*384*2**100#")).toEqual(["384", "2", "", "100"]);
    expect(shortcutOf("*384*2**100#", "*384#")).toEqual(["2", "", "100"]);
  });

  it("reads the shortcut after the service code's own segments, extension included", () => {
    expect(shortcutOf("*384*1#", "*384#")).toEqual(["1"]);
    expect(shortcutOf("*384*2*0712345678*500#", "384")).toEqual(["2", "0712345678", "500"]);
    expect(shortcutOf("*711*2#", "711*2")).toEqual([]);
    expect(shortcutOf("*711*2*1#", "*711*2#")).toEqual(["1"]);
  });

  it("has no shortcut for the plain code, another code, only empty segments, or no code", () => {
    expect(shortcutOf("*384#", "*384#")).toEqual([]);
    expect(shortcutOf("*385*1#", "*384#")).toEqual([]);
    expect(shortcutOf("*384*#", "*384#")).toEqual([]);
    expect(shortcutOf("*384**#", "*384#")).toEqual([]);
    expect(shortcutOf("*384*1#", "")).toEqual([]);
  });
});
