/**
 * A PIN change whose old PIN was checked against an Argon2id verifier, while a concurrent right
 * verify re-keys that verifier to the keyed scheme (the same PIN under the bank's current scheme):
 * the change must succeed, not answer pin_wrong. A change racing a change to another PIN must still
 * be refused. On PostgreSQL, two operations at once; the change is held between its check and its
 * write (at the SIM-swap lookup, a real one) until the other operation has finished.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import type { AuthContext } from "../../src/core/auth/types.js";
import { Argon2PinHasher } from "../../src/infra/auth/argon2-hasher.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { containsPin } from "../helpers/pin-leak.js";

const OLD = "4827";
const NEW = "5903";
const OTHER = "7182";
const customerOf = (subjectId: string): AuthContext => ({ actor: { type: "customer", id: subjectId }, channel: "ussd" });

describe("a PIN change racing the re-keying of its verifier (PostgreSQL)", () => {
  let t: TestDb;
  let argon: PinService;
  const argonHasher = new Argon2PinHasher({ memoryCostKiB: 1_024, timeCost: 1 });
  const keyedHasher = new HmacPinHasher(randomBytes(32));

  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 8 });
    argon = service(undefined, "argon");
  });
  afterAll(() => t?.cleanup());

  /** The services as configured after an upgrade (keyed current, Argon2id previous); `gate` holds a change after its check. */
  function service(gate: Promise<void> | undefined, hasher: "keyed" | "argon" = "keyed"): PinService {
    const guard = new SimSwapGuard({ store: new SqlSimSwapStore(t.db) });
    const simSwap = { checkPinReset: async (msisdn: string) => (await gate, guard.checkPinReset(msisdn)) };
    const [current, previous] = hasher === "keyed" ? [keyedHasher, argonHasher] : [argonHasher, keyedHasher];
    return new PinService({ store: new SqlPinStore(t.db), hasher: current, previous: [previous], audit: new SqlAuditLog(t.db), simSwap });
  }

  async function argonSubject(msisdn: string): Promise<string> {
    const subjectId = randomUUID();
    expect(await argon.setPin({ ...customerOf(subjectId), subjectId, msisdn, pin: OLD })).toEqual({ ok: true });
    return subjectId;
  }

  async function audited(subjectId: string) {
    return (await t.db.query<{ action: string; outcome: string; payload: Record<string, unknown> }>(
      "SELECT action, outcome, payload FROM audit_log WHERE subject = $1 ORDER BY chain, seq", [subjectId])).rows;
  }

  it("the right old PIN is accepted though a verify re-keyed the credential meanwhile", async () => {
    const subjectId = await argonSubject("+254712680001");
    let release!: () => void;
    const pins = service(new Promise<void>((r) => (release = r)));
    const change = pins.changePin({ ...customerOf(subjectId), subjectId, oldPin: OLD, newPin: NEW });
    // The change has counted and checked its old PIN against the Argon2id verifier once the verify,
    // counted after it, is through: that verify's settle re-keys the credential.
    expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: OLD })).toEqual({ ok: true });
    const rekeyed = await t.db.query<{ pin_scheme: string }>("SELECT pin_scheme FROM pin_credentials WHERE subject_id = $1", [subjectId]);
    expect(rekeyed.rows[0]!.pin_scheme).toBe(keyedHasher.scheme);
    release();
    expect(await change).toEqual({ ok: true });
    expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: NEW })).toEqual({ ok: true });
    expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: OLD })).toEqual({ ok: false, code: "pin_wrong" });
    const row = await t.db.query<{ failed_attempts: number; locked_at: Date | null }>("SELECT failed_attempts, locked_at FROM pin_credentials WHERE subject_id = $1", [subjectId]);
    expect(row.rows[0]).toEqual({ failed_attempts: 1, locked_at: null }); // only the old PIN tried last
    const entries = await audited(subjectId);
    expect(entries.filter((e) => e.action === "pin.change").map((e) => e.outcome)).toEqual(["ok"]);
    for (const pin of [OLD, NEW]) expect(containsPin(JSON.stringify(entries), pin)).toBe(false);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("a change racing a change to another PIN is still refused: the old PIN no longer counts", async () => {
    const subjectId = await argonSubject("+254712680002");
    let release!: () => void;
    const held = service(new Promise<void>((r) => (release = r)));
    const change = held.changePin({ ...customerOf(subjectId), subjectId, oldPin: OLD, newPin: NEW });
    expect(await service(undefined).changePin({ ...customerOf(subjectId), subjectId, oldPin: OLD, newPin: OTHER })).toEqual({ ok: true });
    release();
    expect(await change).toEqual({ ok: false, code: "pin_wrong" });
    const pins = service(undefined);
    expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: OTHER })).toEqual({ ok: true });
    expect(await pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: NEW })).toEqual({ ok: false, code: "pin_wrong" });
    const entries = await audited(subjectId);
    for (const pin of [OLD, NEW, OTHER]) expect(containsPin(JSON.stringify(entries), pin)).toBe(false);
  });
});
