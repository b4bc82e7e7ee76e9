/**
 * PIN attempts are counted, and right PINs settled, in batches (src/infra/db/pin-store.ts): many
 * verifies at once share one statement, and settles one turn at the audit head. Each still gets its own answer, its own audit entry
 * with its own time, and the chain stays whole; two processes' batches over the same subjects
 * neither deadlock nor settle a PIN that was changed meanwhile.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PinService } from "../../src/core/auth/pin-service.js";
import { SimSwapGuard } from "../../src/core/auth/sim-swap.js";
import type { AuthContext } from "../../src/core/auth/types.js";
import { HmacPinHasher } from "../../src/infra/auth/hmac-pin-hasher.js";
import { SqlAuditLog, verifyAuditChain } from "../../src/infra/db/audit-store.js";
import { SqlPinStore } from "../../src/infra/db/pin-store.js";
import { SqlSimSwapStore } from "../../src/infra/db/sim-swap-store.js";
import { openTestDb, STORE_KINDS, type TestDb } from "../helpers/db.js";

const customerOf = (subjectId: string): AuthContext => ({ actor: { type: "customer", id: subjectId }, channel: "ussd" });
const hasher = new HmacPinHasher(randomBytes(32));

describe.each(STORE_KINDS)("batched PIN counts and settles on %s", (kind) => {
  let t: TestDb;
  let tick = 0;
  // Every verify reads its own time: entries of one batch must keep theirs.
  const clock = () => new Date(Date.UTC(2026, 10, 25, 9, 0, 0, tick++));
  const service = (store = new SqlPinStore(t.db)) =>
    new PinService({ store, hasher, audit: new SqlAuditLog(t.db, clock), simSwap: new SimSwapGuard({ store: new SqlSimSwapStore(t.db), clock }), clock });

  beforeAll(async () => {
    t = await openTestDb(kind, { maxConnections: 16 });
  });
  afterAll(() => t.cleanup());

  async function subjects(pins: PinService, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () => randomUUID());
    for (const subjectId of ids) expect(await pins.setPin({ ...customerOf(subjectId), subjectId, msisdn: "+254712349183", pin: "4827" })).toEqual({ ok: true });
    return ids;
  }

  it("answers each of many concurrent verifies, right and wrong, and chains one entry each with its own time", async () => {
    const pins = service();
    const ids = await subjects(pins, 40);
    // PIN verifications have an audit chain of their own (chain 2).
    const before = Number((await t.db.query<{ n: string }>("SELECT last_seq::text AS n FROM audit_head WHERE id = 2")).rows[0]!.n);
    const results = await Promise.all(ids.map((subjectId, i) => pins.verifyPin({ ...customerOf(subjectId), subjectId, pin: i % 4 === 3 ? "1111" : "4827" })));
    results.forEach((r, i) => expect(r).toEqual(i % 4 === 3 ? { ok: false, code: "pin_wrong" } : { ok: true }));
    const entries = await t.db.query<{ outcome: string; subject: string; occurred_at: Date }>(
      "SELECT outcome, subject, occurred_at FROM audit_log WHERE chain = 2 AND action = 'pin.verify' AND seq > $1 ORDER BY seq",
      [before],
    );
    expect(entries.rows).toHaveLength(40);
    expect(entries.rows.filter((e) => e.outcome === "ok").map((e) => e.subject).sort()).toEqual(ids.filter((_, i) => i % 4 !== 3).sort());
    expect(new Set(entries.rows.map((e) => new Date(e.occurred_at).getTime())).size).toBe(40);
    const counts = await t.db.query<{ failed_attempts: number }>("SELECT failed_attempts FROM pin_credentials WHERE subject_id = ANY($1::uuid[])", [ids]);
    expect(counts.rows.map((r) => r.failed_attempts).sort()).toEqual([...Array(30).fill(0), ...Array(10).fill(1)]);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("settles one subject's concurrent right PINs each (never two in one statement), across two stores", async () => {
    const [a, b] = [new SqlPinStore(t.db), new SqlPinStore(t.db)];
    const ids = await subjects(service(a), 12);
    const verify = (store: SqlPinStore, subjectId: string) => service(store).verifyPin({ ...customerOf(subjectId), subjectId, pin: "4827" });
    // Both "processes" batch the same subjects (in opposite orders), twice each.
    const results = await Promise.all([...ids.map((id) => verify(a, id)), ...[...ids].reverse().map((id) => verify(b, id)), ...ids.map((id) => verify(a, id))]);
    expect(results.every((r) => r.ok)).toBe(true);
    const settled = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'pin.verify' AND outcome = 'ok' AND subject = ANY($1::text[])", [ids]);
    expect(settled.rows[0]!.n).toBe(36);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("counts attempts of many subjects together, each against its own count, from two stores at once", async () => {
    const [a, b] = [new SqlPinStore(t.db), new SqlPinStore(t.db)];
    const ids = await subjects(service(a), 10);
    const wrong = (store: SqlPinStore, subjectId: string) => service(store).verifyPin({ ...customerOf(subjectId), subjectId, pin: "1111" });
    // Four wrong PINs per subject, two from each store, all at once: the third locks (default 3 attempts), the fourth finds it locked.
    const results = await Promise.all(ids.flatMap((id) => [wrong(a, id), wrong(b, id), wrong(a, id), wrong(b, id)]));
    for (let i = 0; i < ids.length; i++) {
      const codes = results.slice(4 * i, 4 * i + 4).map((r) => (r.ok ? "ok" : r.code)).sort();
      expect(codes).toEqual(["pin_locked", "pin_locked", "pin_wrong", "pin_wrong"]);
    }
    const rows = await t.db.query<{ failed_attempts: number; locked: boolean }>(
      "SELECT failed_attempts, locked_at IS NOT NULL AS locked FROM pin_credentials WHERE subject_id = ANY($1::uuid[])",
      [ids],
    );
    expect(rows.rows.every((r) => r.failed_attempts === 3 && r.locked)).toBe(true);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it("refuses to chain anything but a PIN attempt in a settle (it writes on the PIN attempts' audit chain), writing nothing", async () => {
    const [subjectId] = await subjects(service(), 1);
    const store = new SqlPinStore(t.db);
    const reset = { actorType: "bank_user" as const, actorId: "u1", action: "pin.reset", channel: "admin" as const, outcome: "ok" as const, subject: subjectId };
    const before = (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log")).rows[0]!.n;
    await expect(store.settleSuccess(subjectId!, "any", 1, new Date(), [reset])).rejects.toThrow(/pin\.reset.*chain 1/);
    expect((await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log")).rows[0]!.n).toBe(before);
  });

  it("does not settle a PIN changed between the count and the settle", async () => {
    const store = new SqlPinStore(t.db);
    const [subjectId] = await subjects(service(store), 1);
    const stale = (await t.db.query<{ pin_hash: string }>("SELECT pin_hash FROM pin_credentials WHERE subject_id = $1", [subjectId])).rows[0]!.pin_hash;
    await t.db.query("UPDATE pin_credentials SET pin_hash = $2 WHERE subject_id = $1", [subjectId, await hasher.hash("5940", subjectId!)]);
    const entry = { actorType: "customer" as const, actorId: subjectId!, action: "pin.verify", channel: "ussd" as const, outcome: "ok" as const, subject: subjectId! };
    const [changed, other] = await Promise.all([store.settleSuccess(subjectId!, stale, 1, clock(), [entry]), store.settleSuccess(randomUUID(), "x", 1, clock(), [entry])]);
    expect([changed, other]).toEqual([false, false]);
    const written = await t.db.query("SELECT 1 FROM audit_log WHERE subject = $1 AND action = 'pin.verify'", [subjectId]);
    expect(written.rows).toHaveLength(0);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });
});
