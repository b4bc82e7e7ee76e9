import { describe, expect, it } from "vitest";
import { formatAnchor, judgeAnchor, parseAnchor } from "../../src/core/audit/anchor.js";

const H1 = "ab".repeat(32);
const H2 = "cd".repeat(32);

describe("audit anchor lines", () => {
  it("format and parse round-trip; upper-case hex, extra spaces and a missing time are read", () => {
    const anchor = { at: new Date("2026-11-29T19:00:00.000Z"), points: [{ chain: 1 as const, seq: 123n, hash: H1 }, { chain: 2 as const, seq: 45n, hash: H2 }] };
    const line = formatAnchor(anchor);
    expect(line).toBe(`fingate-audit-anchor v1 at=2026-11-29T19:00:00.000Z chain1=123:${H1} chain2=45:${H2}`);
    expect(parseAnchor(line)).toEqual(anchor);
    expect(parseAnchor(`  fingate-audit-anchor  v1 chain2=45:${H2.toUpperCase()}  chain1=123:${H1}\n`)).toEqual({ points: anchor.points });
  });

  it.each([
    ["", 'it must start with "fingate-audit-anchor v1"'],
    ["fingate-audit-anchor v2 chain1=1:" + H1, 'version "v2" is unknown'],
    ["fingate-audit-anchor v1", "it names no chain"],
    ["fingate-audit-anchor v1 at=2026-11-29T19:00:00.000Z", "it names no chain"],
    ["fingate-audit-anchor v1 chain3=1:" + H1, "there is no chain 3"],
    ["fingate-audit-anchor v1 chain1=1:" + H1 + " chain1=2:" + H2, "chain 1 is named twice"],
    ["fingate-audit-anchor v1 chain1=01:" + H1, "is not chainN=seq:hash"],
    ["fingate-audit-anchor v1 chain1=-1:" + H1, "is not chainN=seq:hash"],
    ["fingate-audit-anchor v1 chain1=1:" + H1.slice(1), "is not chainN=seq:hash"],
    ["fingate-audit-anchor v1 chain1=9999999999999999999:" + H1, "seq 9999999999999999999 is out of range"],
    ["fingate-audit-anchor v1 at=yesterday chain1=1:" + H1, "is not one ISO-8601 UTC time"],
    ["fingate-audit-anchor v1 chain1=1:" + H1 + " " + "x".repeat(600), "at most 512 characters"],
  ])("refuses %j, saying what is wrong", (line, message) => {
    expect(() => parseAnchor(line)).toThrow(`not an audit anchor: `);
    expect(() => parseAnchor(line)).toThrow(message);
  });
});

describe("judging an anchor against what the chain holds", () => {
  const anchor = parseAnchor(`fingate-audit-anchor v1 chain1=10:${H1}`);
  const judge = (storedHash: string | null, headSeq: bigint, scoped = false) =>
    judgeAnchor(anchor, () => (scoped ? { storedHash, beyondHead: headSeq < 10n, scoped } : { storedHash, beyondHead: headSeq < 10n, headSeq })).problems.map((p) => p.reason);

  it("holds when the entry is there with its hash and the head at or past it", () => {
    expect(judge(H1, 10n)).toEqual([]);
    expect(judge(H1, 500n)).toEqual([]);
  });

  it("names a tail cut, a rewrite, a deletion and a head moved back", () => {
    expect(judge(null, 7n)).toEqual(["the anchored entry 10 is missing: the chain now ends at entry 7, so entries 8..10 and any after them were cut from its end"]);
    expect(judge(null, 9n)).toEqual(["the anchored entry 10 is missing: the chain now ends at entry 9, so entry 10 and any after it were cut from its end"]);
    expect(judge(H2, 12n)).toEqual([`entry 10 no longer has the anchored hash ${H1.slice(0, 12)}…: the chain was rewritten at or before entry 10`]);
    expect(judge(null, 12n)).toEqual(["the anchored entry 10 is missing (deleted)"]);
    expect(judge(H1, 9n)).toEqual(["the chain head (entry 9) lies before the anchored entry 10: the head was moved back"]);
  });

  it("scoped to a bank, a missing entry reads the same wherever the head is", () => {
    expect(judge(null, 7n, true)).toEqual(judge(null, 700n, true));
    expect(judge(null, 7n, true)[0]).toContain("this institution's entry 10");
  });
});
