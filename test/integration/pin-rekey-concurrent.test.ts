/**
 * Credentials stored under Argon2id are re-keyed to the keyed scheme by the write that settles their
 * next right PIN. A customer's concurrent right PINs (simultaneous payments) during that re-keying
 * must all be answered "ok" and leave nothing counted, on the real services (buildServices: the
 * keyed scheme current, Argon2id previous) over PostgreSQL.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const PEPPER = "pin-rekey-concurrent-pepper-0123456789";
const RIGHT = "4827";

describe("concurrent right PINs while an Argon2id credential is re-keyed", () => {
  let t: TestDb;
  let ledger: Ledger;
  let argon: CoreServices;
  let keyed: CoreServices;

  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 16 });
    ledger = new Ledger(new SqlLedgerStore(t.db), { isRetryable: isRetryableSqlError });
    // The same database and pepper: PINs set under FINGATE_PIN_SCHEME=argon2id, then verified by
    // the default (keyed) configuration, as after an upgrade.
    argon = buildServices(t.db, ledger, { schema: t.schema, pinPepper: PEPPER, pinScheme: "argon2id" });
    keyed = buildServices(t.db, ledger, { schema: t.schema, pinPepper: PEPPER, pinKey: randomBytes(32) });
  });
  afterAll(async () => {
    await argon?.close();
    await keyed?.close();
    await ledger?.close();
    await t?.cleanup();
  });

  it("three at once: all ok, the credential re-keyed once, no attempt left counted", async () => {
    for (let round = 0; round < 3; round++) {
      const subjectId = randomUUID();
      const customer = { actor: { type: "customer" as const, id: subjectId }, channel: "ussd" as const };
      expect(await argon.pins.setPin({ ...customer, subjectId, msisdn: `+25471230${String(round).padStart(4, "0")}`, pin: RIGHT })).toEqual({ ok: true });
      const before = await t.db.query<{ pin_scheme: string }>("SELECT pin_scheme FROM pin_credentials WHERE subject_id = $1", [subjectId]);
      expect(before.rows[0]!.pin_scheme).toBe("argon2id");
      const results = await Promise.all([0, 1, 2].map(() => keyed.pins.verifyPin({ ...customer, subjectId, pin: RIGHT })));
      expect(results, `round ${round}`).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      const row = await t.db.query<{ failed_attempts: number; locked_at: Date | null; pin_scheme: string }>(
        "SELECT failed_attempts, locked_at, pin_scheme FROM pin_credentials WHERE subject_id = $1", [subjectId]);
      expect(row.rows[0]).toEqual({ failed_attempts: 0, locked_at: null, pin_scheme: expect.not.stringMatching(/argon2/) });
      const audited = await t.db.query<{ outcome: string; payload: Record<string, unknown> }>(
        "SELECT outcome, payload FROM audit_log WHERE subject = $1 AND action = 'pin.verify' ORDER BY occurred_at, seq", [subjectId]);
      expect(audited.rows.map((r) => r.outcome)).toEqual(["ok", "ok", "ok"]);
      expect(audited.rows.filter((r) => r.payload.rekeyedTo !== undefined)).toHaveLength(1);
      expect(await keyed.pins.verifyPin({ ...customer, subjectId, pin: RIGHT })).toEqual({ ok: true });
    }
  });
});
