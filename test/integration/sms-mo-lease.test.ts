/**
 * The MO log's run lease, on both stores: a re-delivery that arrives while a message runs is not
 * run alongside it; one that arrives after the run failed or died runs it again, under the same id
 * (so a payment it makes derives the same transfer id); one after the reply is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlMoLog } from "../../src/sms/commands/mo-log.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

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
    expect(during).toEqual({ id: first.id, duplicate: true, handled: false, running: true });
    await log.markHandled(first.id);
    expect(await log.claim(record("a"), 3600)).toEqual({ id: first.id, duplicate: true, handled: true, running: false });
  });

  it("lets a re-delivery run again, under the same id, once a failed run released the lease", async () => {
    const first = await log.claim(record("b"), 3600);
    await log.release(first.id);
    const again = await log.claim(record("b"), 3600);
    expect(again).toEqual({ id: first.id, duplicate: true, handled: false, running: false });
    expect((await log.claim(record("b"), 3600)).running).toBe(true);
  });

  it("lets a re-delivery run again once the lease of a run that died has lapsed", async () => {
    const first = await log.claim(record("c"), 3600, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await log.claim(record("c"), 3600);
    expect(again).toEqual({ id: first.id, duplicate: true, handled: false, running: false });
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
});
