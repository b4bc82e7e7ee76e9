// A hop whose session write fails (a Redis blip) tries it again: the step's answer went out,
// and the next hop (the aggregator's retry, or the caller's next answer) must neither wait out the
// lock's TTL and end the session "busy", nor run against the screen before (the write kept the
// lock while it failed, so nothing else ran against the old record meanwhile).
import { expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";
const MSISDN = "+254700000041";

/** The shared store, whose next commits fail as a dropped connection would. */
class FailingCommitStore extends MemorySessionStore {
  failNext = 0;
  override async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("Connection is closed.");
    }
    return super.commit(key, lock, writes);
  }
}

function setup(msisdn: string) {
  const bank = new FakeBank();
  bank.addCustomer(msisdn, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const sessions = new FailingCommitStore();
  const ch = createUssdChannel({
    ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }], logger: { info() {}, warn() {}, error() {} },
    hopLimits: { lockTtlMs: 10_000, lockWaitMs: 5_000 },
  });
  const hop = (text: string) => ch.hops.handle({ aggregator: "at", sessionId: "c1", msisdn, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
  return { sessions, ch, hop };
}

it("a session write that fails once is tried again: the caller's next answer runs at once, on the screen they saw", async () => {
  const { sessions, ch, hop } = setup(MSISDN);
  expect((await hop("")).text).toMatch(/^Welcome to fingate/);
  sessions.failNext = 1;
  expect(await hop("1")).toMatchObject({ end: false, text: "Enter your PIN:" });
  await ch.hops.drain();
  // Saved at the second try: the aggregator's retry is the stored answer, and the PIN answers the PIN prompt, at once.
  const started = Date.now();
  expect(await hop("1")).toMatchObject({ end: false, text: "Enter your PIN:", replayed: true });
  expect(await hop("1*4827")).toMatchObject({ end: true, text: "Your balance is KES 1,234.50." });
  expect(Date.now() - started).toBeLessThan(1_000);
});

it("a session write that fails for longer than a second try (a blip of a few hundred ms) is tried until it lands, within the lock's TTL", async () => {
  const { sessions, ch, hop } = setup("+254712270010");
  expect((await hop("")).text).toMatch(/^Welcome to fingate/);
  // Two tries 50 ms apart used to be all: the lock was then kept, and the next hops waited 5 s for it and ended "busy".
  sessions.failNext = 4;
  expect(await hop("1")).toMatchObject({ end: false, text: "Enter your PIN:" });
  await ch.hops.drain();
  const started = Date.now();
  expect(await hop("1")).toMatchObject({ end: false, text: "Enter your PIN:", replayed: true });
  expect(await hop("1*4827")).toMatchObject({ end: true, text: "Your balance is KES 1,234.50." });
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(sessions.failNext).toBe(0);
}, 15_000);
