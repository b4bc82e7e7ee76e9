/** WriteBatches (src/infra/db/write-batches.ts): how hop-path writes are grouped into statements. */
import { describe, expect, it } from "vitest";
import { WriteBatches } from "../../src/infra/db/write-batches.js";

describe("WriteBatches", () => {
  it("groups what arrives together, keeps one batch in flight, and answers each item with its own result", async () => {
    const batches: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const writes = new WriteBatches<string, string>(
      async (items) => {
        batches.push(items);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return items.map((i) => i.toUpperCase());
      },
      (i) => i,
      3,
    );
    const first = ["a", "b", "c", "d"].map((i) => writes.submit(i));
    await new Promise((r) => setImmediate(r));
    const second = ["e", "f"].map((i) => writes.submit(i));
    expect(await Promise.all([...first, ...second])).toEqual(["A", "B", "C", "D", "E", "F"]);
    expect(batches).toEqual([["a", "b", "c"], ["d", "e", "f"]]);
    expect(maxInFlight).toBe(1);
  });

  it("puts a key's second write in a later batch than its first", async () => {
    const batches: string[][] = [];
    const writes = new WriteBatches<{ key: string; n: number }, number>(
      async (items) => {
        batches.push(items.map((i) => `${i.key}${i.n}`));
        return items.map((i) => i.n);
      },
      (i) => i.key,
      10,
    );
    const results = await Promise.all([writes.submit({ key: "x", n: 1 }), writes.submit({ key: "y", n: 2 }), writes.submit({ key: "x", n: 3 })]);
    expect(results).toEqual([1, 2, 3]);
    expect(batches).toEqual([["x1", "y2"], ["x3"]]);
  });

  it("fails every item of a failed batch, and goes on with the next", async () => {
    let calls = 0;
    const writes = new WriteBatches<number, number>(
      async (items) => {
        calls += 1;
        if (calls === 1) throw new Error("down");
        return items;
      },
      String,
      10,
    );
    const failed = await Promise.allSettled([writes.submit(1), writes.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await writes.submit(3)).toBe(3);
  });

  it("with a linger, gathers what arrives within it into one batch, and starts at once when a full batch waits", async () => {
    const batches: number[][] = [];
    const writes = new WriteBatches<number, number>(
      async (items) => {
        batches.push(items);
        return items;
      },
      String,
      4,
      30,
    );
    const started = Date.now();
    const first = writes.submit(1);
    await new Promise((r) => setTimeout(r, 10));
    const second = writes.submit(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(batches).toEqual([[1, 2]]);
    const full = Date.now();
    expect(await Promise.all([3, 4, 5, 6].map((i) => writes.submit(i)))).toEqual([3, 4, 5, 6]);
    expect(Date.now() - full).toBeLessThan(25);
    expect(batches).toEqual([[1, 2], [3, 4, 5, 6]]);
  });
});
