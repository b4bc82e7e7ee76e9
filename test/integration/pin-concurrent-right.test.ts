/**
 * One subject's concurrent verifies with the right PIN (a payer's simultaneous payments): each
 * attempt is counted before it is checked, so the attempts in flight can reach the limit and lock
 * the PIN for a moment. A right PIN must never be answered "locked" for that, nor audited so, and
 * the subject must end unlocked with nothing counted; parallel wrong guesses must still check no
 * more than maxAttempts PINs, in one process or across several sharing the database.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import type { PinHasher } from "../../src/core/auth/ports.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import type { AuthContext } from "../../src/core/auth/types.js";
import { Argon2PinHasher } from "../../src/infra/auth/argon2-hasher.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, STORE_KINDS, type TestDb } from "../helpers/db.js";

/** Counts checks of wrong PINs against the stored verifier (the brute-force budget). */
class CountingHasher implements PinHasher {
  wrong = 0;
  constructor(private readonly inner: PinHasher) {}
  get scheme() {
    return this.inner.scheme;
  }
  get fastVerify() {
    return this.inner.fastVerify;
  }
  hash(pin: string, subjectId: string) {
    return this.inner.hash(pin, subjectId);
  }
  async verify(encoded: string, pin: string, subjectId: string) {
    const right = await this.inner.verify(encoded, pin, subjectId);
    if (!right) this.wrong += 1;
    return right;
  }
}

const RIGHT = "4827";
const customerOf = (subjectId: string): AuthContext => ({ actor: { type: "customer", id: subjectId }, channel: "ussd" });
const KEY = randomBytes(32);
const schemes: Array<[string, () => PinHasher]> = [
  ["keyed", () => new HmacPinHasher(KEY)],
  ["argon2id", () => new Argon2PinHasher({ memoryCostKiB: 1_024, timeCost: 1 })],
];

describe.each(STORE_KINDS)("one subject's concurrent verifies on %s", (kind) => {
  let t: TestDb;
  let tick = 0;
  const clock = () => new Date(Date.UTC(2026, 10, 25, 9, 0, 0, tick++));
  const service = (hasher: PinHasher) =>
    new PinService({ store: new SqlPinStore(t.db), hasher, audit: new SqlAuditLog(t.db, clock), simSwap: new SimSwapGuard({ store: new SqlSimSwapStore(t.db), clock }), clock });

  beforeAll(async () => {
    t = await openTestDb(kind, { maxConnections: 16 });
  });
  afterAll(() => t.cleanup());

  async function subject(pins: PinService): Promise<string> {
    const subjectId = randomUUID();
    expect(await pins.setPin({ ...customerOf(subjectId), subjectId, msisdn: "+254712349183", pin: RIGHT })).toEqual({ ok: true });
    return subjectId;
  }
  const row = async (subjectId: string) =>
    (await t.db.query<{ failed_attempts: number; locked_at: Date | null; lock_count: number }>("SELECT failed_attempts, locked_at, lock_count FROM pin_credentials WHERE subject_id = $1", [subjectId])).rows[0]!;
  const refusals = async (subjectId: string) =>
    (await t.db.query<{ code: string }>("SELECT payload->>'code' AS code FROM audit_log WHERE subject = $1 AND action = 'pin.verify' AND outcome = 'refused'", [subjectId])).rows.map((r) => r.code);

  for (const [scheme, make] of schemes) {
    for (const n of [10, 30]) {
      it(`${scheme}: ${n} concurrent right PINs all pass, audited ok, and leave nothing counted`, async () => {
        const pins = service(make());
        const subjectId = await subject(pins);
        // A verify beforehand puts the subject on the one-write path (keyed), as in a live session.
        expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })).toEqual({ ok: true });
        const results = await Promise.all(Array.from({ length: n }, () => pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })));
        expect(results.filter((r) => !r.ok)).toEqual([]);
        expect(await row(subjectId)).toMatchObject({ failed_attempts: 0, locked_at: null, lock_count: 0 });
        expect(await refusals(subjectId)).toEqual([]);
      }, 20_000);
    }

    it(`${scheme}: right PINs in two processes at once all pass`, async () => {
      const [a, b] = [service(make()), service(make())];
      const subjectId = await subject(a);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(await row(subjectId)).toMatchObject({ failed_attempts: 0, locked_at: null });
      expect(await refusals(subjectId)).toEqual([]);
    }, 20_000);

    it(`${scheme}: right PINs mixed with 20 parallel wrong guesses, in two processes: the right ones pass, at most maxAttempts wrong PINs are checked after them, and the PIN locks`, async () => {
      const [ha, hb] = [new CountingHasher(make()), new CountingHasher(make())];
      const [a, b] = [service(ha), service(hb)];
      const subjectId = await subject(a);
      const rights = Array.from({ length: 5 }, (_, i) => (i % 2 ? a : b).verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT }));
      const wrongs = Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).verifyPin({ ...customerOf(subjectId), subjectId, pin: String(5000 + i * 7) }));
      const [right, wrong] = [await Promise.all(rights), await Promise.all(wrongs)];
      // A right PIN counted after the lock is refused with it; one counted before it passes.
      expect(right.every((r) => r.ok || r.code === "pin_locked")).toBe(true);
      expect(wrong.every((r) => !r.ok)).toBe(true);
      // Every right PIN clears only what was counted up to it: whatever order the 25 ran in, the
      // wrong PINs checked after the last success number at most maxAttempts, and they locked.
      expect(ha.wrong + hb.wrong).toBeLessThanOrEqual(3 * (right.filter((r) => r.ok).length + 1));
      const after = await row(subjectId);
      expect(after.failed_attempts).toBe(3);
      expect(after.locked_at).not.toBeNull();
      // Still locked, for the right PIN too.
      expect(await a.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })).toMatchObject({ ok: false, code: "pin_locked" });
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
    }, 20_000);
  }
});
