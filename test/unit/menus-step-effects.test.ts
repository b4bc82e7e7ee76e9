// The hop processor answers a hop past its budget by what the step may still do (move money, write
// something else, or neither). The lists it reads name steps by "flow:step": a renamed step must
// not silently fall out of them and be told "no money was moved" while it writes.
import { describe, expect, it } from "vitest";
import { CUSTOMER_FLOWS } from "../../src/menus/flows/index.js";
import { MONEY_STEPS, WRITING_STEPS } from "../../src/menus/flows/money.js";

describe("steps with side effects", () => {
  it.each([...MONEY_STEPS, ...WRITING_STEPS])("%s is a step of its flow", (name) => {
    const [flow, step] = name.split(":") as [string, string];
    expect(Object.keys(CUSTOMER_FLOWS[flow as keyof typeof CUSTOMER_FLOWS]?.steps ?? {})).toContain(step);
  });

  it("no step is in both lists", () => {
    expect([...WRITING_STEPS].filter((name) => MONEY_STEPS.has(name))).toEqual([]);
  });
});
