// USSD over SMPP reuses session numbers: a begin ends its predecessor, waiting only briefly for the
// lock (its caller waits for the answer), then going ahead without it. A hop of the predecessor
// still under way on another instance then committed under its lock and wrote the old session
// back, and the begin, waiting for that lock, ran on it: the new dial got the old session's screen
// (or its input ran the old step). The begin must open a session of its own.
import { expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const MSISDN = "+254712270020";

/** The shared store (Redis in production), whose commits can be held until released. */
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

it("a begin that ended its predecessor without the lock opens its own session, even when the predecessor's hop under way writes it back", async () => {
  const bank = new FakeBank();
  bank.addCustomer(MSISDN, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  bank.addCustomer("+254712270021", "Peter Otieno", { alias: "peter" });
  const sessions = new GatedStore();
  const instance = () =>
    createUssdChannel({
      ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7), aggregators: [],
      logger: { info() {}, warn() {}, error() {} }, hopLimits: { lockWaitMs: 3_000, hopBudgetMs: 4_000 },
    });
  const [a, b] = [instance(), instance()];
  const session = `${MSISDN}:5`;
  const hop = (ch: typeof a, text: string, seq: number, begin = false) =>
    ch.hops.handle({
      aggregator: "smpp-l", sessionId: session, msisdn: MSISDN, serviceCode: "*384#", mode: "single", text, seq, seqModulo: 128,
      hopKey: begin ? `begin:${seq}:*384#` : `continue:${seq}`, ...(begin ? { shortcut: [], fresh: true } : {}),
    });
  expect((await hop(a, "", 0, true)).text).toMatch(/^Welcome to fingate/);
  expect((await hop(a, "2", 1)).text).toMatch(/^Enter the phone number or alias/);
  await a.hops.drain();
  // The predecessor's next hop, on instance A: answered, its commit held up (a slow store).
  sessions.gated = true;
  expect((await hop(a, "peter", 2)).text).toMatch(/^Pay PETER/);
  // The subscriber dials again; the network reuses the session number, on instance B.
  await b.hops.endSession("smpp-l", session, "abort", "begin:0:*384#");
  const beginning = hop(b, "", 0, true);
  await new Promise((r) => setTimeout(r, 100));
  sessions.release();
  const answer = await beginning;
  await Promise.all([a.hops.drain(), b.hops.drain()]);
  expect(answer).toMatchObject({ end: false });
  expect(answer.text).toMatch(/^Welcome to fingate/);
  expect(answer.stale).toBeUndefined();
  // The new session goes on from its own menu: "1" is the balance, not an amount for PETER.
  expect((await hop(b, "1", 1)).text).toBe("Enter your PIN:");
});
