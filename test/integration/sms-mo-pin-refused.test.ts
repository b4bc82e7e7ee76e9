/**
 * The MO log's record of an attempt refused for a wrong PIN (SqlMoLog.markPinRefused), on both
 * stores: a copy reopened from it (reopen) opens an attempt that is refused too, and every run of
 * that attempt (a re-delivery once its run failed, the pending sweep) is told so, so none of them
 * checks the PIN again. A new message under the key, a later attempt, or another attempt's late
 * mark is not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlMoLog, type MoWindows } from "../../src/sms/commands/mo-log.js";
import { openTestDb, type StoreKind, type TestDb } from "../helpers/db.js";

/** As MoClaims gives a SEND by content: a minute's re-delivery window, five minutes' SEND window. */
const SEND: MoWindows = { windowSec: 300, repeatAfterSec: 60, paidWindowSec: 300 };

describe.each<StoreKind>(["postgres", "pglite"])("MO attempts refused for a wrong PIN (%s)", (kind) => {
  let test: TestDb;
  let log: SqlMoLog;
  const record = (moKey: string) => ({ linkId: "link-pin", moKey, msisdn: "+254713119001", command: "send" });

  beforeAll(async () => {
    test = await openTestDb(kind);
    log = new SqlMoLog(test.db);
  });
  afterAll(async () => {
    await test?.cleanup();
  });

  /** A message run once, refused for a wrong PIN (or not), and answered. */
  async function answered(moKey: string, pinWrong: boolean) {
    const first = await log.claim(record(moKey), SEND, 60, "sealed");
    if (pinWrong) await log.markPinRefused(first.id, first.attempt);
    await log.markHandled(first.id, null, first.attempt);
    return first;
  }

  it("carries the refusal to the attempt a copy reopens, and to every run of that attempt", async () => {
    const first = await answered("a", true);
    expect((await log.claim(record("a"), SEND)).handled).toBe(true);
    const reopened = await log.reopen(first.id, 0, 300, "sealed");
    expect(reopened).toMatchObject({ id: first.id, attempt: 1, pinRefused: true });
    // That run fails: a re-delivery of the same attempt, and the sweep, are told the same.
    await log.release(first.id, reopened!.runToken!);
    const redelivered = await log.claim(record("a"), SEND, 60, "sealed");
    expect(redelivered).toMatchObject({ attempt: 1, running: false, handled: false, pinRefused: true });
    await log.release(first.id, redelivered.runToken!);
    expect(await log.leasePending(first.id, 300)).toMatchObject({ attempt: 1, pinRefused: true });
  });

  it("does not mark an attempt reopened from one that was not refused for a wrong PIN", async () => {
    const first = await answered("b", false);
    const reopened = await log.reopen(first.id, 0, 300, "sealed");
    expect(reopened).toMatchObject({ attempt: 1 });
    expect(reopened!.pinRefused).toBeUndefined();
  });

  it("never marks a later attempt from a run of an earlier one finishing late", async () => {
    const first = await answered("c", false);
    const reopened = await log.reopen(first.id, 0, 300, "sealed");
    // The stuck run of attempt 0 finds its PIN wrong after the copy reopened the message.
    await log.markPinRefused(first.id, 0);
    await log.release(first.id, reopened!.runToken!);
    expect((await log.claim(record("c"), SEND)).pinRefused).toBeUndefined();
  });

  it("forgets the refusal for a new message under the key and for the customer's repeat after the minute", async () => {
    const first = await log.claim(record("d"), { windowSec: 0, repeatAfterSec: 0 });
    await log.markPinRefused(first.id, 0);
    await log.markHandled(first.id, null, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await log.claim(record("d"), { windowSec: 0, repeatAfterSec: 0 });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh).toMatchObject({ attempt: 0, duplicate: false });
    expect(fresh.pinRefused).toBeUndefined();
    await log.markPinRefused(fresh.id, 0);
    await log.markHandled(fresh.id, null, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const repeat = await log.claim(record("d"), { windowSec: 3600, repeatAfterSec: 0 });
    expect(repeat).toMatchObject({ id: fresh.id, attempt: 1 });
    expect(repeat.pinRefused).toBeUndefined();
  });
});
