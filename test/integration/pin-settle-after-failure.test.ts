/**
 * A right PIN whose attempt was counted must not stay counted when a later step of the same request
 * fails (a database blip in the SIM-swap lookup of a PIN change, or in the settle itself): three
 * such blips while a customer types the right PIN would otherwise lock them out. Real PinService,
 * SqlPinStore, audit log and SIM-swap guard over PostgreSQL; only the dependency that fails is wrapped.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryInput } from "../../src/core/audit/audit-entry.js";
import { PinService } from "../../src/core/auth/pin-service.js";
import type { StoredPin } from "../../src/core/auth/ports.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { SqlAuditLog } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const RIGHT = "4827";

/** The real store, whose next settles of a counted right PIN throw, as a dropped connection would. */
class BlippingPinStore extends SqlPinStore {
  failSettles = 0;
  override async settleSuccess(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[], rekeyed?: StoredPin): Promise<boolean> {
    if (this.failSettles > 0) {
      this.failSettles -= 1;
      throw new Error("Connection terminated unexpectedly");
    }
    return super.settleSuccess(subjectId, pinHash, attemptSeq, now, audit, rekeyed);
  }
}

describe("a right PIN whose request fails after the check", () => {
  let t: TestDb;
  let store: BlippingPinStore;
  let pins: PinService;
  let guard: SimSwapGuard;
  let lookupFailures = 0;

  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 8 });
    store = new BlippingPinStore(t.db);
    guard = new SimSwapGuard({ store: new SqlSimSwapStore(t.db) });
    const simSwap = {
      checkPinReset: async (msisdn: string) => {
        if (lookupFailures > 0) {
          lookupFailures -= 1;
          throw new Error("Connection terminated unexpectedly");
        }
        return guard.checkPinReset(msisdn);
      },
    };
    pins = new PinService({ store, hasher: new HmacPinHasher(randomBytes(32)), audit: new SqlAuditLog(t.db), simSwap });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  async function subject(msisdn: string) {
    const subjectId = randomUUID();
    const ctx = { actor: { type: "customer" as const, id: subjectId }, channel: "ussd" as const, subjectId };
    expect(await pins.setPin({ ...ctx, msisdn, pin: RIGHT })).toEqual({ ok: true });
    const row = async () =>
      (await t.db.query<{ failed_attempts: number; locked_at: Date | null }>("SELECT failed_attempts, locked_at FROM pin_credentials WHERE subject_id = $1", [subjectId])).rows[0];
    return { ctx, row };
  }

  it("three SIM-swap lookups that fail during a PIN change leave the right old PIN uncounted", async () => {
    const { ctx, row } = await subject("+254712355001");
    lookupFailures = 3;
    for (let i = 0; i < 3; i++) await expect(pins.changePin({ ...ctx, oldPin: RIGHT, newPin: "5930" })).rejects.toThrow(/Connection terminated/);
    expect(await row()).toEqual({ failed_attempts: 0, locked_at: null });
    expect(await pins.verifyPin({ ...ctx, pin: RIGHT })).toEqual({ ok: true });
    // Each failed change is on the record, as an error of the right old PIN.
    const audited = await t.db.query<{ outcome: string }>("SELECT outcome FROM audit_log WHERE subject = $1 AND action = 'pin.change' ORDER BY occurred_at, seq", [ctx.subjectId]);
    expect(audited.rows.map((r) => r.outcome)).toEqual(["error", "error", "error"]);
    expect(await pins.changePin({ ...ctx, oldPin: RIGHT, newPin: "5930" })).toEqual({ ok: true });
  });

  it("a settle that fails once is tried again: the right PIN is answered ok and nothing stays counted", async () => {
    const { ctx, row } = await subject("+254712355002");
    for (let i = 0; i < 3; i++) {
      store.failSettles = 1;
      expect(await pins.verifyPin({ ...ctx, pin: RIGHT })).toEqual({ ok: true });
    }
    expect(await row()).toEqual({ failed_attempts: 0, locked_at: null });
  });
});
