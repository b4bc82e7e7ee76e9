// The network's end of a session, handled by one instance while a hop of that session is under way
// on another, waits for that hop's write: the session ends, metered once with the hop's screen,
// and the hop's late write does not bring it back open.
import express from "express";
import request from "supertest";
import { expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";

class GatedStore extends MemorySessionStore {
  gated = false;
  private waiters: (() => void)[] = [];
  override async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    if (this.gated) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return super.commit(key, lock, writes);
  }
  release(): void {
    this.gated = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

it("an abort handled by instance B while instance A's hop holds the lock waits for A's write, and is not undone by it", async () => {
  const bank = new FakeBank();
  bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const sessions = new GatedStore(); // the shared store (Redis in production)
  const ended: EndedUssdSession[] = [];
  const instance = () =>
    createUssdChannel({
      ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7),
      aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }], logger: { info() {}, warn() {}, error() {} },
      onSessionEnd: async (s) => void ended.push(s),
    });
  const a = instance();
  const b = instance();
  const app = express();
  app.use(a.router);
  const hop = (text: string) =>
    request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId: "s9", serviceCode: "*384#", phoneNumber: "+254700000010", networkCode: "63902", text });
  await hop("");
  sessions.gated = true;
  expect((await hop("1")).text).toMatch(/^CON/); // answered; its commit waits (lock still A's)
  const aborting = b.hops.endSession("at", "s9", "abort"); // the network's abort, on instance B
  await new Promise((r) => setTimeout(r, 60));
  expect(await sessions.get("at:s9")).not.toBeNull(); // B waits for the lock A's hop holds
  sessions.release();
  await a.hops.drain();
  await aborting;
  expect(await sessions.get("at:s9")).toBeNull();
  await b.hops.drain();
  expect(ended.map((e) => [e.endReason, e.stages])).toEqual([["abort", 2]]);
});

it("an end whose lock another instance holds (a crashed one's lives 10 s) waits only briefly, so a begin that ends its predecessor is still answered in time", async () => {
  const bank = new FakeBank();
  bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const sessions = new MemorySessionStore();
  const ended: EndedUssdSession[] = [];
  const ch = createUssdChannel({
    ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }], logger: { info() {}, warn() {}, error() {} },
    hopLimits: { lockWaitMs: 2_000, hopBudgetMs: 3_000 }, onSessionEnd: async (s) => void ended.push(s),
  });
  await ch.hops.handle({ aggregator: "smpp-l", sessionId: "+254700000010:5", msisdn: "+254700000010", serviceCode: "*384#", mode: "single", text: "", hopKey: "begin:0", fresh: true });
  await ch.hops.drain();
  expect(await sessions.lockAndGet("smpp-l:+254700000010:5", 10_000)).not.toBeNull();
  // A begin reusing the session's number ends its predecessor (its own hop key says which begin it is).
  const started = Date.now();
  await ch.hops.endSession("smpp-l", "+254700000010:5", "abort", "begin:1");
  expect(Date.now() - started).toBeLessThan(1_000);
  // It went ahead without the lock: metered and forgotten, not lost.
  await ch.hops.drain();
  expect(ended.map((s) => s.endReason)).toEqual(["abort"]);
  expect(await sessions.get("smpp-l:+254700000010:5")).toBeNull();
});
