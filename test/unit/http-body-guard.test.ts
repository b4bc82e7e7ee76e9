// The JSON APIs' body scan for keys named twice (JSON.parse would keep the last one silently).
import { describe, expect, it } from "vitest";
import { duplicateKey } from "../../src/http/body-guard.js";

describe("duplicateKey", () => {
  it.each<[string, string | null]>([
    ['{"a":1,"b":2}', null],
    ['{"a":1,"a":2}', "a"],
    ['{"a":"1","\\u0061":"2"}', "a"], // the same key, escaped
    ['{"a":{"x":1},"b":{"x":1}}', null], // one key in two objects
    ['{"a":{"x":1,"x":2}}', "x"],
    ['[{"a":1},{"a":1}]', null],
    ['[{"a":1,"a":1}]', "a"],
    ['{"a":"b","b":"a"}', null], // values are not keys
    ['{"a":["a","a"],"b":1}', null],
    ['{"q\\"":1,"q\\"":2}', 'q"'], // an escaped quote inside the key
    ['{"a":"x\\\\","a":1}', "a"], // a value ending in a backslash
    ['{"a":1,"b":{"c":[1,{"d":2}],"e":3},"e":4}', null],
    ["", null],
    ['{"a":', null], // not JSON: left to JSON.parse
  ])("%s → %s", (text, key) => {
    expect(duplicateKey(text)).toBe(key);
  });
});
