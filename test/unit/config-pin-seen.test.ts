import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

describe("FINGATE_PIN_SEEN_SUBJECTS", () => {
  it("defaults to 20,000 subjects, 0 turns the one-write verify off", () => {
    expect(loadConfig({}).pinSeenSubjects).toBe(20_000);
    expect(loadConfig({ FINGATE_PIN_SEEN_SUBJECTS: "0" }).pinSeenSubjects).toBe(0);
    expect(loadConfig({ FINGATE_PIN_SEEN_SUBJECTS: "500" }).pinSeenSubjects).toBe(500);
  });

  it("refuses what is not a count in range, naming the variable", () => {
    for (const bad of ["-1", "1.5", "many", "1000001"]) {
      expect(() => loadConfig({ FINGATE_PIN_SEEN_SUBJECTS: bad })).toThrow(/FINGATE_PIN_SEEN_SUBJECTS must be an integer from 0 to 1000000/);
    }
  });
});
