/**
 * A lock made by wrong PINs in one process (instance A) met at once by an attempt in another
 * (instance B, where the customer's next USSD hop lands): B must answer pin_locked without waiting
 * out the settle window, which it used to poll for up to lockSettleMs (1.5 s by default, a large
 * share of a USSD hop's budget) because it could not tell that no attempt of the lock was still in
 * flight. A lock still made of attempts in flight elsewhere is still waited for (lifted by a right
 * PIN that settles). On PostgreSQL; the settle window is made long (20 s) so that the old wait cannot
 * pass for a slow machine.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import type { PinHasher } from "../../src/core/auth/ports.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import type { AuthContext } from "../../src/core/auth/types.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const RIGHT = "4827";
const WRONG = ["3915", "6150", "7264"];
const SETTLE_MS = 20_000;
const customerOf = (subjectId: string): AuthContext => ({ actor: { type: "customer", id: subjectId }, channel: "ussd" });

/** The keyed hasher, whose verify of a right PIN can be held (an attempt in flight between its count and its settle). */
class HeldHasher implements PinHasher {
  readonly scheme: string;
  readonly fastVerify = true;
  hold: Promise<void> | undefined;
  constructor(private readonly inner: HmacPinHasher) {
    this.scheme = inner.scheme;
  }
  hash(pin: string, subjectId: string) {
    return this.inner.hash(pin, subjectId);
  }
  async verify(encoded: string, pin: string, subjectId: string) {
    const right = await this.inner.verify(encoded, pin, subjectId);
    if (right && this.hold) await this.hold;
    return right;
  }
}

describe("a fresh lock met from another process (PostgreSQL)", () => {
  let t: TestDb;
  const key = randomBytes(32);
  const service = (hasher: PinHasher = new HmacPinHasher(key)) =>
    new PinService({
      store: new SqlPinStore(t.db),
      hasher,
      audit: new SqlAuditLog(t.db),
      simSwap: new SimSwapGuard({ store: new SqlSimSwapStore(t.db) }),
      lockSettleMs: SETTLE_MS,
    });

  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 8 });
  });
  afterAll(() => t?.cleanup());

  async function subject(pins: PinService, msisdn: string): Promise<string> {
    const subjectId = randomUUID();
    expect(await pins.setPin({ ...customerOf(subjectId), subjectId, msisdn, pin: RIGHT })).toEqual({ ok: true });
    return subjectId;
  }

  for (const path of ["counted", "one-write"] as const) {
    it(`a lock of wrong PINs (${path} path) in A is answered pin_locked by B at once`, async () => {
      const [a, b] = [service(), service()];
      const subjectId = await subject(a, path === "counted" ? "+254712680101" : "+254712680102");
      // The one-write path needs A to have seen the subject's counter; a change's old PIN is counted first.
      if (path === "one-write") expect(await a.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })).toEqual({ ok: true });
      for (const [i, pin] of WRONG.entries()) {
        const r = path === "counted"
          ? await a.changePin({ ...customerOf(subjectId), subjectId, oldPin: pin, newPin: "5903" })
          : await a.verifyPin({ ...customerOf(subjectId), subjectId, pin });
        expect(r).toMatchObject(i < 2 ? { ok: false, code: "pin_wrong" } : { ok: false, code: "pin_locked" });
      }
      const started = performance.now();
      expect(await b.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT })).toMatchObject({ ok: false, code: "pin_locked" });
      expect(performance.now() - started).toBeLessThan(SETTLE_MS / 4);
      const refused = await t.db.query<{ code: string }>(
        "SELECT payload->>'code' AS code FROM audit_log WHERE subject = $1 AND outcome = 'refused' ORDER BY chain, seq", [subjectId]);
      expect(refused.rows.map((r) => r.code)).toEqual(["pin_wrong", "pin_wrong", "pin_wrong", "pin_locked"]);
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
    }, SETTLE_MS * 2);
  }

  it("a lock that a right PIN in flight in A will lift is still waited for by B, which then passes", async () => {
    const held = new HeldHasher(new HmacPinHasher(key));
    const [a, b] = [service(held), service()];
    const subjectId = await subject(a, "+254712680103");
    let release!: () => void;
    held.hold = new Promise<void>((r) => (release = r));
    // A right PIN counted first and held before its settle; two wrong ones lock behind it.
    const right = a.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT });
    const wrongs = await Promise.all(WRONG.slice(0, 2).map((pin) => a.verifyPin({ ...customerOf(subjectId), subjectId, pin })));
    expect(wrongs.map((r) => !r.ok && r.code).sort()).toEqual(["pin_locked", "pin_wrong"]);
    // B meets the lock: one of its attempts may still be right, so B waits rather than answer locked.
    let answered = false;
    const fromB = b.verifyPin({ ...customerOf(subjectId), subjectId, pin: RIGHT }).finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    release();
    expect(await right).toEqual({ ok: true });
    expect(await fromB).toEqual({ ok: true });
  }, SETTLE_MS * 2);
});
