/**
 * The MO log's run lease, on both stores: a re-delivery that arrives while a message runs is not
 * run alongside it; one that arrives after the run failed or died runs it again, under the same id
 * (so a payment it makes derives the same transfer id); one after the reply is left alone. A copy
 * of a handled message by content, after the re-delivery window, is the customer's repeat: the
 * next attempt, told which attempt paid when a payment is within the SEND window.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/infra/db/migrate.js";
import { SqlMoLog } from "../../src/sms/commands/mo-log.js";
import { openTestDb, openTestDbBefore, type StoreKind, type TestDb } from "../helpers/db.js";

describe.each<StoreKind>(["postgres", "pglite"])("MO run lease (%s)", (kind) => {
  let test: TestDb;
  let log: SqlMoLog;
  const record = (moKey: string) => ({ linkId: "link-1", moKey, msisdn: "+254711000001", command: "send" });

  beforeAll(async () => {
    test = await openTestDb(kind);
    log = new SqlMoLog(test.db);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  it("holds a re-delivery while the first run holds the lease, then reports it handled", async () => {
    const first = await log.claim(record("a"), 3600);
    expect(first).toMatchObject({ duplicate: false, handled: false, running: false });
    const during = await log.claim(record("a"), 3600);
    expect(during).toEqual({ id: first.id, attempt: 0, duplicate: true, handled: false, running: true, paid: null });
    await log.markHandled(first.id);
    expect(await log.claim(record("a"), 3600)).toEqual({ id: first.id, attempt: 0, duplicate: true, handled: true, running: false, paid: null });
  });

  it("lets a re-delivery run again, under the same id, once a failed run released the lease", async () => {
    const first = await log.claim(record("b"), 3600);
    await log.release(first.id, first.runToken!);
    const again = await log.claim(record("b"), 3600);
    expect(again).toEqual({ id: first.id, attempt: 0, duplicate: true, handled: false, running: false, paid: null, runToken: expect.any(String) });
    expect((await log.claim(record("b"), 3600)).running).toBe(true);
  });

  it("lets a re-delivery run again once the lease of a run that died has lapsed", async () => {
    const first = await log.claim(record("c"), 3600, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await log.claim(record("c"), 3600);
    expect(again).toEqual({ id: first.id, attempt: 0, duplicate: true, handled: false, running: false, paid: null, runToken: expect.any(String) });
  });

  it("of several simultaneous deliveries, exactly one gets to run", async () => {
    const claims = await Promise.all(Array.from({ length: 8 }, () => log.claim(record("d"), 3600)));
    expect(new Set(claims.map((c) => c.id)).size).toBe(1);
    expect(claims.filter((c) => !c.running && !c.handled)).toHaveLength(1);
  });

  it("treats the same key after the window as a new message with a lease of its own", async () => {
    const old = await log.claim(record("e"), 3600);
    await log.markHandled(old.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await log.claim(record("e"), 0);
    expect(fresh.id).not.toBe(old.id);
    expect(fresh).toMatchObject({ duplicate: false, handled: false, running: false });
  });

  /** `seconds` pass for the key's row. */
  const later = (moKey: string, seconds: number) =>
    test.db.query(
      `UPDATE sms_mo_messages SET received_at = received_at - make_interval(secs => $2), last_seen_at = last_seen_at - make_interval(secs => $2),
         paid_at = paid_at - make_interval(secs => $2) WHERE mo_key = $1`,
      [moKey, seconds],
    );
  const windows = { windowSec: 300, repeatAfterSec: 60, paidWindowSec: 300 };

  it("runs a repeat after the re-delivery window as the next attempt, once among simultaneous copies, and a copy inside it not at all", async () => {
    const first = await log.claim(record("f"), windows);
    await log.markHandled(first.id);
    expect(await log.claim(record("f"), windows)).toMatchObject({ id: first.id, attempt: 0, handled: true });
    await later("f", 61);
    const claims = await Promise.all(Array.from({ length: 6 }, () => log.claim(record("f"), windows)));
    expect(claims.filter((c) => !c.running && !c.handled)).toEqual([{ id: first.id, attempt: 1, duplicate: true, handled: false, running: false, paid: null, runToken: expect.any(String) }]);
    expect(claims.every((c) => c.attempt === 1)).toBe(true);
  });

  it("runs a crashed attempt again under the same attempt once its lease lapsed", async () => {
    const first = await log.claim(record("g"), windows);
    await log.markHandled(first.id);
    await later("g", 61);
    expect(await log.claim(record("g"), windows, 0)).toMatchObject({ attempt: 1, running: false });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await log.claim(record("g"), windows)).toMatchObject({ id: first.id, attempt: 1, handled: false, running: false });
  });

  it("reopens an answered attempt as the next one, once among simultaneous copies, told the payment, and never an attempt that moved on", async () => {
    const mine = { linkId: "link-1", moKey: "reopen", msisdn: "+254712950201", command: "send" };
    const first = await log.claim(mine, windows);
    await log.markPaid(first.id, 0);
    await log.markHandled(first.id, 0);
    const copy = await log.claim(mine, windows);
    expect(copy).toMatchObject({ attempt: 0, handled: true });
    const reopened = await Promise.all(Array.from({ length: 6 }, () => log.reopen(copy.id, copy.attempt, 300, null)));
    const runs = reopened.filter((c) => c !== null);
    expect(runs).toEqual([{ id: first.id, attempt: 1, duplicate: true, handled: false, running: false, paid: { attempt: 0, at: expect.any(Date), remainingSec: expect.any(Number) }, runToken: expect.any(String) }]);
    // A copy within the window of the reopened attempt is held by its lease, then dropped once answered.
    expect(await log.claim(mine, windows)).toMatchObject({ attempt: 1, running: true });
    // A run of attempt 0 that finishes only now (stuck past its lease) does not mark attempt 1 answered.
    await log.markHandled(first.id, null, 0);
    expect(await log.claim(mine, windows)).toMatchObject({ attempt: 1, running: true });
    await log.markHandled(first.id, null, 1);
    expect(await log.claim(mine, windows)).toMatchObject({ attempt: 1, handled: true });
    // A copy that read attempt 0 reopens nothing now.
    expect(await log.reopen(first.id, 0, 300, null)).toBeNull();
  });

  it("names the attempt that paid to a repeat within the SEND window, and forgets it after", async () => {
    const first = await log.claim(record("h"), windows);
    await log.markHandled(first.id, 0);
    await later("h", 90);
    const repeat = await log.claim(record("h"), windows);
    expect(repeat).toMatchObject({ id: first.id, attempt: 1, handled: false, running: false, paid: { attempt: 0 } });
    expect(repeat.paid!.remainingSec).toBeGreaterThan(200);
    expect(repeat.paid!.remainingSec).toBeLessThanOrEqual(210);
    // The repeat replayed the payment: its answer keeps the payment's time (the window is not moved on).
    await log.markHandled(repeat.id, 0);
    await later("h", 300);
    const after = await log.claim(record("h"), windows);
    expect(after).toMatchObject({ duplicate: false, attempt: 0, handled: false, paid: null });
    expect(after.id).not.toBe(first.id);
  });

  const renewal = (moKey: string) => ({ linkId: "link-renew", moKey, msisdn: "+254712970101", command: "send" });
  const leaseOf = async (id: string) =>
    (await test.db.query<{ run_token: string | null; left_ms: number | null }>("SELECT run_token, (EXTRACT(EPOCH FROM running_until - CURRENT_TIMESTAMP) * 1000)::int AS left_ms FROM sms_mo_messages WHERE id = $1", [id])).rows[0]!;

  it("renews a run's lease only under its own token, never one another run took, and not once the message is answered", async () => {
    const first = await log.claim(renewal("r1"), windows, 1);
    expect(await log.renew(first.id, first.runToken!, 600)).toBe(true);
    expect((await leaseOf(first.id)).left_ms).toBeGreaterThan(590_000);
    // Its lease lapses (not renewed in time) and a copy takes the message over.
    await test.db.query("UPDATE sms_mo_messages SET running_until = CURRENT_TIMESTAMP - interval '1 second' WHERE id = $1", [first.id]);
    const second = await log.claim(renewal("r1"), windows, 5);
    expect(second.runToken).toBeDefined();
    expect(await log.renew(first.id, first.runToken!, 600)).toBe(false);
    const held = await leaseOf(first.id);
    expect(held.run_token).toBe(second.runToken);
    expect(held.left_ms).toBeLessThanOrEqual(5_000);
    await log.markHandled(second.id);
    expect(await log.renew(second.id, second.runToken!, 600)).toBe(false);
    expect((await leaseOf(second.id)).left_ms).toBeLessThanOrEqual(5_000);
  });
});

describe("MO log upgrade to attempts (20261130210000_sms_mo_repeats)", () => {
  let test: TestDb;
  afterAll(async () => {
    await test?.cleanup();
  });

  it("takes a SEND answered before the upgrade for paid at attempt 0, so a copy replays its payment id instead of paying again", async () => {
    test = await openTestDbBefore("postgres", "20261130210000_sms_mo_repeats");
    const id = randomUUID();
    await test.db.query(
      "INSERT INTO sms_mo_messages (id, link_id, mo_key, msisdn, command, received_at, handled_at) VALUES ($1, 'smpp:x', 'digest:old', '+254712710099', 'send', now() - interval '2 minutes', now() - interval '2 minutes')",
      [id],
    );
    await migrate(test.db);
    const log = new SqlMoLog(test.db);
    const copy = await log.claim({ linkId: "smpp:x", moKey: "digest:old", msisdn: "+254712710099", command: "send" }, { windowSec: 300, repeatAfterSec: 60, paidWindowSec: 300 });
    expect(copy).toMatchObject({ id, attempt: 1, running: false, paid: { attempt: 0 } });
  });
});
