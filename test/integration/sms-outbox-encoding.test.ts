/**
 * What the SMSC receives for texts at the GSM-7 and UCS-2 part boundaries, sent through the whole
 * outbound pipeline; and why a PIN can never be in an SMS body.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import { Argon2PinHasher } from "../../src/infra/auth/argon2-hasher.js";
import { SqlAuditLog } from "../../src/infra/db/audit-store.js";
import { InvalidNoticeError } from "../../src/infra/db/outbox-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { SMS_LANGUAGES } from "../../src/sms/outbox/renderer.js";
import { echo, notice, OutboxTestEnv } from "../helpers/sms-outbox-rig.js";
import { containsPin } from "../helpers/pin-leak.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

async function partsOf(text: string) {
  const { smsc } = await env.rig({ echo: true });
  await env.enqueue([echo(text)]);
  await env.until("submitted", 1);
  const [row] = await env.rows();
  return { accepted: smsc.accepted, row: row! };
}

describe("part boundaries through the pipeline", () => {
  const cases: Array<[string, string, 0 | 8, number[]]> = [
    ["160 GSM characters: one part", "a".repeat(160), 0, [160]],
    ["161 GSM characters: 153 + 8 with UDH", "a".repeat(161), 0, [153, 8]],
    ["306 GSM characters: 153 + 153", "b".repeat(306), 0, [153, 153]],
    ["80 euro signs (two septets each) are 160 septets: one part", "€".repeat(80), 0, [80]],
    ["70 UCS-2 characters: one part", "अ".repeat(70), 8, [70]],
    ["71 UCS-2 characters: 67 + 4 with UDH", "अ".repeat(71), 8, [67, 4]],
    ["one non-GSM character makes the whole text UCS-2", `${"a".repeat(69)}ł`, 8, [70]],
  ];
  for (const [name, text, dataCoding, lengths] of cases) {
    it(name, async () => {
      const { accepted, row } = await partsOf(text);
      expect(accepted.map((a) => a.dataCoding)).toEqual(lengths.map(() => dataCoding));
      expect(accepted.map((a) => [...a.text].length)).toEqual(lengths);
      expect(accepted.map((a) => a.text).join("")).toBe(text);
      expect(row.partCount).toBe(lengths.length);
      if (lengths.length === 1) {
        expect(accepted[0]!.concat).toBeNull();
        expect(accepted[0]!.esmClass & 0x40).toBe(0);
      } else {
        expect(accepted.map((a) => a.concat)).toEqual(lengths.map((_, i) => ({ ref: accepted[0]!.concat!.ref, total: lengths.length, seq: i + 1 })));
        expect(accepted.every((a) => (a.esmClass & 0x40) === 0x40)).toBe(true);
      }
    });
  }

  it("fails a text longer than ten parts instead of sending it", async () => {
    const { smsc } = await env.rig({ echo: true });
    await env.enqueue([{ msisdn: "+254700000001", template: "test.echo2", params: { a: "c".repeat(1_000), b: "d".repeat(600) }, kind: "notice" }]);
    await env.until("failed", 1);
    expect((await env.rows())[0]!.lastError).toMatch(/parts/);
    expect(smsc.seen).toBe(0);
  });
});

describe("no PIN in an SMS", () => {
  it("no template in any language interpolates anything named like a PIN or secret", () => {
    for (const lang of SMS_LANGUAGES) {
      const text = readFileSync(path.resolve(import.meta.dirname, `../../locales/${lang}/sms.json`), "utf8");
      const variables = [...text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1]!);
      expect(variables.length).toBeGreaterThan(0);
      expect(variables.filter((v) => /pin|otp|password|secret/i.test(v))).toEqual([]);
    }
  });

  it("refuses a notice with a PIN-like parameter and writes nothing", async () => {
    await expect(env.enqueue([notice(1), notice(2, { params: { pin: "4827" } })])).rejects.toBeInstanceOf(InvalidNoticeError);
    await expect(env.enqueue([notice(3, { params: { newPin: "4827" } })])).rejects.toThrow(/looks like a secret/);
    expect(await env.rows()).toEqual([]);
  });

  it("a PIN change writes its notice in the same transaction, and the SMS carries neither PIN", async () => {
    const msisdn = "+254712340001";
    const clock = () => new Date();
    const pins = new PinService({
      store: new SqlPinStore(env.t.db),
      hasher: new Argon2PinHasher({ memoryCostKiB: 1_024, timeCost: 1 }),
      audit: new SqlAuditLog(env.t.db, clock),
      simSwap: new SimSwapGuard({ store: new SqlSimSwapStore(env.t.db), clock }),
      clock,
    });
    const subjectId = randomUUID();
    const ctx = { actor: { type: "customer" as const, id: subjectId }, channel: "ussd" as const };
    expect(await pins.setPin({ ...ctx, subjectId, msisdn, pin: "4827" })).toEqual({ ok: true });
    // A refused change (wrong old PIN) writes no notice.
    expect(await pins.changePin({ ...ctx, subjectId, oldPin: "1111", newPin: "3958" })).toMatchObject({ ok: false });
    expect(await env.rows()).toEqual([]);
    const { smsc } = await env.rig();
    expect(await pins.changePin({ ...ctx, subjectId, oldPin: "4827", newPin: "3958" })).toEqual({ ok: true });
    await env.until("submitted", 1);
    const [row] = await env.rows();
    expect(row).toMatchObject({ msisdn, template: "notice.pin_changed", kind: "notice" });
    const params = await env.t.db.query<{ params: unknown }>("SELECT params FROM outbox_messages");
    expect(params.rows[0]!.params).toEqual({});
    expect(smsc.accepted.map((a) => a.text)).toEqual(["Your PIN was changed. If you did not do this, contact your bank at once."]);
    for (const a of smsc.accepted) for (const pin of ["4827", "3958"]) expect(containsPin(a.text, pin)).toBe(false);
  });
});
