/**
 * SqlMoLog.superseded, on both stores: whether a run that may have outlived its lease is still the
 * one to answer its message. It is while its lease merely lapsed (no one took it) or was given back
 * by a run that failed; it is not once another run took the lease, the message was answered or
 * reopened as a later attempt, or a new message took the key (SmsCommands: such a run sends nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlMoLog } from "../../src/sms/commands/mo-log.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

describe.each<StoreKind>(["postgres", "pglite"])("a run superseded (%s)", (kind) => {
  let test: TestDb;
  let log: SqlMoLog;
  const record = (moKey: string) => ({ linkId: "link-sup", moKey, msisdn: "+254713119101", command: "bal" });
  const lapse = () => new Promise((resolve) => setTimeout(resolve, 20));

  beforeAll(async () => {
    test = await openTestDb(kind);
    log = new SqlMoLog(test.db);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  it("is not while it holds its lease, nor once the lease lapsed with no one taking it", async () => {
    const run = await log.claim(record("a"), 3600, 0, "sealed");
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(false);
    await lapse();
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(false);
  });

  it("is once the sweep took the lapsed lease, and not once that run failed and gave it back", async () => {
    const run = await log.claim(record("b"), 3600, 0, "sealed");
    await lapse();
    const sweep = await log.leasePending(run.id, 300);
    expect(sweep).not.toBeNull();
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(true);
    expect(await log.superseded(run.id, sweep!.runToken!, 0)).toBe(false);
    await log.release(run.id, sweep!.runToken!);
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(false);
  });

  it("is once another run answered the message, or a copy reopened it as the next attempt", async () => {
    const run = await log.claim(record("c"), 3600, 0, "sealed");
    await lapse();
    const other = await log.claim(record("c"), 3600, 60, "sealed");
    await log.markHandled(run.id, null, 0);
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(true);
    expect(await log.reopen(run.id, 0, 300, "sealed")).toMatchObject({ attempt: 1 });
    expect(await log.superseded(run.id, other.runToken!, 0)).toBe(true);
  });

  it("is once a new message took its key (its id is gone)", async () => {
    const run = await log.claim(record("d"), 0, 0, "sealed");
    await lapse();
    const fresh = await log.claim(record("d"), 0, 60, "sealed");
    expect(fresh.id).not.toBe(run.id);
    expect(await log.superseded(run.id, run.runToken!, 0)).toBe(true);
  });
});
