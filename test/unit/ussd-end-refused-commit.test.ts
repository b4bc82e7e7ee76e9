// An end of a session is metered only once its write is in. When the end outlived its lock and
// another hop took the session on meanwhile, the store refuses the end's write (the fence): metering
// it then would charge the stages so far and, metering being once per session, never the rest. The
// network's end reads the session again and ends it; an idle end is left to the next rescan.
import { expect, it } from "vitest";
import { MemorySessionStore, type LockedValue, type SessionWrite } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";
const MSISDN = "+254700000031";
const LOCK_TTL_MS = 10_000;

/** The shared store, whose next commit is late: the lock lapsed and another instance took it. */
class LateCommitStore extends MemorySessionStore {
  nowMs = 1_700_000_000_000;
  lateNext = false;
  constructor() {
    super({ clock: () => this.nowMs });
  }
  override async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    if (this.lateNext) {
      this.lateNext = false;
      this.nowMs += LOCK_TTL_MS + 1;
      expect(await this.tryLock(key, LOCK_TTL_MS)).not.toBeNull(); // another instance's hop
    }
    return super.commit(key, lock, writes);
  }
}

function setUp() {
  const bank = new FakeBank();
  bank.addCustomer(MSISDN, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const sessions = new LateCommitStore();
  const ended: EndedUssdSession[] = [];
  const ch = createUssdChannel({
    ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }], logger: { info() {}, warn() {}, error() {} },
    hopLimits: { lockTtlMs: LOCK_TTL_MS }, onSessionEnd: async (s) => void ended.push(s),
  });
  return { ch, sessions, ended };
}

it("the network's end of a session, refused because its lock lapsed and another hop took the session, reads it again and ends it, metered once", async () => {
  const { ch, sessions, ended } = setUp();
  await ch.hops.handle({ aggregator: "smpp-l", sessionId: `${MSISDN}:7`, msisdn: MSISDN, serviceCode: "*384#", mode: "single", text: "", hopKey: "begin:0", fresh: true });
  sessions.lateNext = true;
  await ch.hops.endSession("smpp-l", `${MSISDN}:7`, "abort");
  await ch.hops.drain();
  // The network's end stands: the second try (the other hop's lock busy, so without it) ends it.
  expect(ended.map((e) => e.endReason)).toEqual(["abort"]);
  expect(await sessions.get(`smpp-l:${MSISDN}:7`)).toBeNull();
});

it("an idle session's end, refused the same way, meters nothing and says so (the rescan asks again); the next one meters it once", async () => {
  const { ch, sessions, ended } = setUp();
  await ch.hops.handle({ aggregator: "smpp-l", sessionId: `${MSISDN}:8`, msisdn: MSISDN, serviceCode: "*384#", mode: "single", text: "", hopKey: "begin:0", fresh: true });
  sessions.lateNext = true;
  expect(await ch.hops.endIdleSession("smpp-l", `${MSISDN}:8`, { hopKey: "begin:0" })).toBe(false); // asked again later
  await ch.hops.drain();
  expect(ended).toEqual([]);
  expect(await sessions.get(`smpp-l:${MSISDN}:8`)).not.toBeNull();
  sessions.nowMs += LOCK_TTL_MS + 1;
  expect(await ch.hops.endIdleSession("smpp-l", `${MSISDN}:8`, { hopKey: "begin:0" })).toBe(true);
  await ch.hops.drain();
  expect(ended.map((e) => e.endReason)).toEqual(["timeout"]);
  expect(await sessions.get(`smpp-l:${MSISDN}:8`)).toBeNull();
});
