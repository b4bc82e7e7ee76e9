/**
 * The store of concatenated MO parts, on both stores: parts arriving at once complete their message
 * exactly once, a duplicate changes nothing, another message under the same reference starts
 * afresh, the texts are sealed, and an expired message is swept.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MoPartSealer, SqlMoParts, type MoPart } from "../../src/sms/commands/mo-parts.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

describe.each<StoreKind>(["postgres", "pglite"])("MO parts (%s)", (kind) => {
  let test: TestDb;
  let parts: SqlMoParts;
  const p = (ref: number, seq: number, text: string, total = 3, key = `k-${ref}-${seq}-${text}`): MoPart => ({ linkId: "link-1", msisdn: "+254711000001", ref, total, seq, key, text });

  beforeAll(async () => {
    test = await openTestDb(kind);
    parts = new SqlMoParts(test.db, new MoPartSealer(randomBytes(32)), 1);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  it("completes a message once when its parts arrive at the same moment", async () => {
    const results = await Promise.all([p(1, 3, "4827"), p(1, 1, "BAL"), p(1, 2, " ")].map((x) => parts.add(x)));
    const whole = results.filter((r) => r !== null);
    expect(whole).toHaveLength(1);
    expect(whole[0]).toEqual({ text: "BAL 4827", keys: ["k-1-1-BAL", "k-1-2- ", "k-1-3-4827"] });
  });

  it("ignores a duplicate part, and a part of another message under the same reference starts afresh", async () => {
    expect(await parts.add(p(2, 1, "BAL", 2))).toBeNull();
    expect(await parts.add(p(2, 1, "BAL", 2))).toBeNull();
    expect(await parts.add(p(2, 1, "MINI", 2))).toBeNull();
    expect(await parts.add(p(2, 2, " 4827", 2))).toEqual({ text: "MINI 4827", keys: ["k-2-1-MINI", "k-2-2- 4827"] });
  });

  it("stores no text in clear, and sweeps a message past its TTL", async () => {
    expect(await parts.add(p(3, 1, "SEND 0700000002 ", 2))).toBeNull();
    const { rows } = await test.db.query<{ bodies: unknown }>("SELECT bodies FROM sms_mo_parts WHERE ref = 3");
    expect(JSON.stringify(rows[0]!.bodies)).not.toContain("SEND");
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await parts.add(p(3, 2, "50 4827", 2))).toBeNull();
    await test.db.query("UPDATE sms_mo_parts SET first_at = first_at - interval '1 hour'");
    expect(await parts.sweep()).toBeGreaterThan(0);
    expect((await test.db.query("SELECT 1 FROM sms_mo_parts")).rows).toHaveLength(0);
  });

  it("refuses a part number outside its message", async () => {
    await expect(parts.add(p(4, 4, "x", 3))).rejects.toThrow(RangeError);
    await expect(parts.add(p(4, 1, "x", 17))).rejects.toThrow(RangeError);
  });
});
