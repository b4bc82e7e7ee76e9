// A hop's answer goes out before its session write and unlock (one round trip fewer on the
// answer's path), yet nothing sees the session as it was meanwhile: the session's next hop, its
// end and the channel's close all wait for the write. The store here is the embedded one with its
// commits held at a gate, so the test decides when a write lands.
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";

/** The embedded store, with every commit waiting until the test opens the gate. */
class GatedStore extends MemorySessionStore {
  readonly events: string[] = [];
  private open = false;
  private waiters: (() => void)[] = [];

  override async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    this.events.push("commit asked");
    if (!this.open) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const released = await super.commit(key, lock, writes);
    this.events.push("commit done");
    return released;
  }

  release(): void {
    this.open = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

function setup(onSessionEnd?: (session: EndedUssdSession) => Promise<unknown>) {
  const bank = new FakeBank();
  bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const sessions = new GatedStore();
  const channel = createUssdChannel({
    ports: bank.ports(),
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }],
    logger: { info() {}, warn() {}, error() {} },
    onSessionEnd,
  });
  const app = express();
  app.use(channel.router);
  const hop = (sessionId: string, text: string) =>
    request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber: "+254700000010", networkCode: "63902", text });
  return { sessions, channel, hop };
}

/** Whether `p` settles within ms. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(r, ms, false))]);

describe("a hop's answer and its session write", () => {
  it("answers before the write lands; the session's next hop (a retry) waits for it and gets the same answer", async () => {
    const { sessions, hop } = setup();
    const first = await hop("s1", "");
    expect(first.text).toMatch(/^CON Welcome to fingate\n1\. Balance/);
    expect(sessions.events).toEqual(["commit asked"]);
    expect(await sessions.get("at:s1")).toBeNull();

    const retry = hop("s1", "").then((r) => r);
    expect(await settlesWithin(retry, 200)).toBe(false);
    sessions.release();
    expect((await retry).text).toBe(first.text);
    expect(sessions.events).toEqual(["commit asked", "commit done", "commit asked", "commit done"]);
    // The stored session is the one the first hop wrote: the next input walks on from its menu.
    expect((await hop("s1", "1")).text).toBe("CON Enter your PIN:");
  });

  it("ends a session and closes only after the write under way", async () => {
    const { sessions, channel, hop } = setup();
    await hop("s2", "");
    const ended = channel.hops.endSession("at", "s2", "abort");
    const drained = channel.hops.drain();
    expect(await settlesWithin(Promise.all([ended, drained]), 200)).toBe(false);
    sessions.release();
    await Promise.all([ended, drained]);
    // The end ran after the write (its own delete is a commit under the session's lock, after the
    // hop's), so it removed the session rather than the write re-creating it.
    expect(sessions.events).toEqual(["commit asked", "commit done", "commit asked", "commit done"]);
    expect(await sessions.get("at:s2")).toBeNull();
    await expect(channel.hops.drain()).resolves.toBeUndefined();
  });

  it("drains only once the sessions that ended are metered", async () => {
    let meter!: () => void;
    const metered: string[] = [];
    const { sessions, channel, hop } = setup(async (session) => {
      await new Promise<void>((resolve) => (meter = resolve));
      metered.push(`${session.sessionId} ${session.endReason}`);
    });
    sessions.release();
    for (const text of ["", "1"]) await hop("s3", text);
    expect((await hop("s3", "1*4827")).text).toBe("END Your balance is KES 1,234.50.");
    const drained = channel.hops.drain();
    expect(await settlesWithin(drained, 200)).toBe(false);
    meter();
    await drained;
    expect(metered).toEqual(["s3 end"]);
  });
});
