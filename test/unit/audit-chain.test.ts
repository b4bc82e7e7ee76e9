import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH, type AuditEntryInput, type AuditRecord } from "../../src/core/audit/audit-entry.js";
import { canonicalJson, cleanString, MAX_STRING_CHARS, normalizeJson, NotJsonError, serializeJson } from "../../src/core/audit/canonical.js";
import { canonicalContent, chainEntries, hashRecord, InvalidAuditEntry, prepareEntry } from "../../src/core/audit/chain.js";
import { InMemoryAuditLog } from "../../src/core/audit/memory-audit-log.js";
import { isSecretKey, redactPayload } from "../../src/core/audit/redact.js";
import { verifyRecords } from "../../src/core/audit/verify.js";
import { containsPin } from "../helpers/pin-leak.js";

const T0 = new Date("2026-11-25T09:00:00.000Z");

function entry(overrides: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return { actorType: "customer", actorId: "c-1", action: "pin.verify", channel: "ussd", outcome: "ok", ...overrides };
}

describe("canonical JSON", () => {
  it("sorts keys at every depth and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("sorts keys by UTF-16 code units, as RFC 8785", () => {
    expect(canonicalJson({ "é": 1, z: 2, Z: 3, "10": 4, "9": 5 })).toBe('{"10":4,"9":5,"Z":3,"z":2,"é":1}');
  });

  it("writes bigint as a decimal string and dates as ISO-8601 UTC", () => {
    expect(canonicalJson({ n: 12345678901234567890n, at: new Date("2026-11-25T12:00:00+03:00") })).toBe(
      '{"at":"2026-11-25T09:00:00.000Z","n":"12345678901234567890"}',
    );
  });

  it("drops undefined properties, turns non-finite numbers into null", () => {
    expect(canonicalJson({ a: undefined, b: Number.NaN, c: [undefined, Infinity], d: -0 })).toBe('{"b":null,"c":[null,null],"d":0}');
  });

  it("refuses values that are not plain JSON", () => {
    expect(() => canonicalJson({ m: new Map() })).toThrow(NotJsonError);
    expect(() => canonicalJson({ b: Buffer.from("x") })).toThrow(NotJsonError);
    expect(() => canonicalJson({ d: new Date("nope") })).toThrow(NotJsonError);
  });

  it("makes strings storable: no NUL, no lone surrogate", () => {
    expect(cleanString("a\u0000b")).toBe("a\uFFFDb");
    expect(cleanString("x\uD800y\uDC00")).toBe("x\uFFFDy\uFFFD");
    expect(cleanString("😀")).toBe("😀");
  });

  it("truncates long strings idempotently", () => {
    const once = cleanString("x".repeat(10_000));
    expect(once.length).toBe(MAX_STRING_CHARS);
    expect(cleanString(once)).toBe(once);
  });

  it("keeps a key named __proto__ as data", () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"a":2}') as Record<string, unknown>;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it("survives a round trip through JSON text (as jsonb stores it)", () => {
    const value = normalizeJson({ f: 0.1, big: 1e21, tiny: 5e-324, s: "quote\" backslash\\ tab\t", when: T0, n: 7n });
    expect(serializeJson(JSON.parse(JSON.stringify(value)))).toBe(serializeJson(value));
  });
});

describe("redaction", () => {
  it("recognizes secret-named keys by word, not by substring", () => {
    for (const key of ["pin", "PIN", "newPin", "old_pin", "pin2", "PINCode", "pins", "password", "apiSecret", "accessToken", "otp-code", "mpin", "newPINs", "oldPINs", "userOTPs", "apiTOKENs", "PINs", "OTPs", "otps"]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ["shipping", "mapping", "spinner", "opinion", "footprint", "amountMinor", "subject", "userIDs", "URLs", "mapPINGs"]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it("drops secrets at any depth, inside arrays too", () => {
    const redacted = redactPayload({ a: 1, pin: "4827", nested: { oldPin: "1", list: [{ otp: "9", keep: true }] } });
    expect(redacted).toEqual({ a: 1, nested: { list: [{ keep: true }] } });
  });

  it("is applied by prepareEntry even when the caller forgot", () => {
    const prepared = prepareEntry(entry({ payload: { newPin: "590316", amountMinor: 10n } }));
    expect(prepared.payload).toEqual({ amountMinor: "10" });
  });
});

describe("entries", () => {
  it("refuses entries built wrongly", () => {
    expect(() => prepareEntry(entry({ action: "Pin Verify" }))).toThrow(InvalidAuditEntry);
    expect(() => prepareEntry(entry({ actorType: "hacker" as never }))).toThrow(InvalidAuditEntry);
    expect(() => prepareEntry(entry({ channel: "fax" as never }))).toThrow(InvalidAuditEntry);
    expect(() => prepareEntry(entry({ outcome: "maybe" as never }))).toThrow(InvalidAuditEntry);
    expect(() => prepareEntry(entry({ actorId: "" }))).toThrow(InvalidAuditEntry);
    const huge = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v".repeat(500)]));
    expect(() => prepareEntry(entry({ payload: huge }))).toThrow(/exceeds/);
  });

  it("bounds subject and actor id", () => {
    const prepared = prepareEntry(entry({ subject: "s".repeat(10_000), actorId: "a".repeat(10_000) }));
    expect(prepared.subject!.length).toBe(256);
    expect(prepared.actorId.length).toBe(128);
  });
});

describe("hash chain", () => {
  it("hashes prev_hash followed by the canonical content, as documented", () => {
    const { records } = chainEntries({ lastSeq: 0n, lastHash: GENESIS_HASH }, [prepareEntry(entry({ subject: "s-1", payload: { b: 2, a: 1 } }))], T0);
    const r = records[0]!;
    const content =
      '{"action":"pin.verify","actorId":"c-1","actorType":"customer","channel":"ussd","occurredAt":"2026-11-25T09:00:00.000Z",' +
      '"outcome":"ok","payload":{"a":1,"b":2},"seq":"1","subject":"s-1"}';
    expect(canonicalContent(r)).toBe(content);
    expect(r.hash).toBe(createHash("sha256").update(GENESIS_HASH + content).digest("hex"));
    expect(r.prevHash).toBe(GENESIS_HASH);
  });

  it("writes the content keys by hand in exactly the order serializeJson sorts them", () => {
    const record = {
      seq: 12345678901234567890n,
      occurredAt: T0,
      actorType: "bank_user" as const,
      actorId: 'a"\\é😀',
      action: "pin.reset",
      channel: "admin" as const,
      outcome: "refused" as const,
      subject: null,
      payload: { z: [1, { y: null }], a: "b" },
    };
    const generic = serializeJson({ ...record, seq: record.seq.toString(), occurredAt: T0.toISOString() } as never);
    expect(canonicalContent(record)).toBe(generic);
    expect(canonicalContent({ ...record, subject: "s" })).toBe(serializeJson({ ...record, subject: "s", seq: record.seq.toString(), occurredAt: T0.toISOString() } as never));
  });

  it("links consecutive seqs, each to the previous hash", () => {
    const { records, head } = chainEntries({ lastSeq: 41n, lastHash: "a".repeat(64) }, [entry(), entry(), entry()].map(prepareEntry), T0);
    expect(records.map((r) => r.seq)).toEqual([42n, 43n, 44n]);
    expect(records[0]!.prevHash).toBe("a".repeat(64));
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records[2]!.prevHash).toBe(records[1]!.hash);
    expect(head).toEqual({ lastSeq: 44n, lastHash: records[2]!.hash });
  });
});

describe("verification", () => {
  function chain(n: number): { records: AuditRecord[]; head: { lastSeq: bigint; lastHash: string } } {
    const inputs = Array.from({ length: n }, (_, i) => prepareEntry(entry({ subject: `s-${i + 1}`, payload: { i } })));
    return chainEntries({ lastSeq: 0n, lastHash: GENESIS_HASH }, inputs, T0);
  }

  it("accepts an intact chain and an empty one", () => {
    const { records, head } = chain(10);
    expect(verifyRecords(records, head)).toEqual({ ok: true, checked: 10 });
    expect(verifyRecords([], { lastSeq: 0n, lastHash: GENESIS_HASH })).toEqual({ ok: true, checked: 0 });
  });

  it("names an altered entry", () => {
    const { records, head } = chain(10);
    records[4] = { ...records[4]!, payload: { i: 999 } };
    expect(verifyRecords(records, head)).toEqual({ ok: false, checked: 4, firstBroken: { seq: 5n, reason: expect.stringMatching(/altered/) } });
  });

  it("names an entry whose hash was recomputed after altering it, by the link that follows", () => {
    const { records, head } = chain(10);
    const altered = { ...records[4]!, outcome: "refused" as const };
    records[4] = { ...altered, hash: hashRecord(altered) };
    const result = verifyRecords(records, head);
    expect(result.firstBroken).toEqual({ seq: 6n, reason: expect.stringMatching(/hash of entry 5/) });
  });

  it("names a deleted entry", () => {
    const { records, head } = chain(10);
    records.splice(4, 1);
    expect(verifyRecords(records, head)).toEqual({ ok: false, checked: 4, firstBroken: { seq: 5n, reason: "entry 5 is missing (deleted)" } });
  });

  it("notices entries cut from the end, and entries added beyond the head", () => {
    const { records, head } = chain(10);
    expect(verifyRecords(records.slice(0, 7), head).firstBroken).toEqual({ seq: 8n, reason: "entries 8..10 are missing (truncated)" });
    expect(verifyRecords(records, { lastSeq: 8n, lastHash: records[7]!.hash }).firstBroken?.seq).toBe(9n);
  });

  it("notices a forged head", () => {
    const { records } = chain(3);
    expect(verifyRecords(records, { lastSeq: 3n, lastHash: "f".repeat(64) }).firstBroken?.seq).toBe(3n);
  });

  it("the in-memory log chains and verifies like the store", async () => {
    const log = new InMemoryAuditLog(() => T0);
    await log.append([entry(), entry({ outcome: "refused" })]);
    await log.append([entry({ payload: { pin: "4827", amount: 5n } })]);
    expect(log.verify()).toEqual({ ok: true, checked: 3 });
    expect(containsPin(JSON.stringify(log.records.map((r) => r.payload)), "4827")).toBe(false);
  });
});
