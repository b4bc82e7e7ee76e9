// The resume point of an interrupted flow must survive a new dial whose first hop could not be
// saved: the point used to be deleted when the hop read it (lockAndGet's take), before the hop's
// commit, so a commit refused (the hop outlived its lock) or failed (Redis blinked) lost it with
// the session, and the caller's next dial had nothing to continue. Real Redis, under a prefix of
// this file's own.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockedValue, SessionWrite } from "../../src/menus/engine/session-store.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession, HopLimits } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const OFFER = "You were interrupted. Continue where you left off?\n1. Continue\n2. Start again";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Redis store, whose commits can be held up (a stalled connection) or made to fail (a dropped one). */
class UnsteadyStore extends RedisSessionStore {
  delayCommitMs = 0;
  failCommits = 0;
  override async commit(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    if (this.failCommits > 0) {
      this.failCommits--;
      throw new Error("Connection is closed.");
    }
    if (this.delayCommitMs > 0) await sleep(this.delayCommitMs);
    return super.commit(key, lock, writes);
  }
}

const prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
let admin: Redis;
const stores: UnsteadyStore[] = [];

beforeAll(() => {
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const store of stores) await store.close();
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

function setup(msisdn: string, limits: Partial<HopLimits> = {}) {
  const bank = new FakeBank();
  bank.addCustomer(msisdn, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  const payee = bank.addCustomer("+254712270099", "Peter Otieno", { alias: "peter" });
  const sessions = new UnsteadyStore(new Redis(REDIS_URL), { prefix });
  stores.push(sessions);
  const channel = createUssdChannel({
    ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
    logger: { info() {}, warn() {}, error() {} }, hopLimits: limits,
  });
  const hop = async (sessionId: string, text: string) => {
    const reply = await channel.hops.handle({ aggregator: "at", sessionId, msisdn, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
    await channel.hops.drain();
    return reply.text;
  };
  /** A send walked to its confirmation, then dropped by the network there. */
  const interruptedSend = async (sessionId: string) => {
    let confirm = "";
    for (const text of ["", "2", "2*peter", "2*peter*100"]) confirm = await hop(sessionId, text);
    expect(confirm).toMatch(/^Send KES 100\.00 to PETER/);
    return confirm;
  };
  return { bank, payee, sessions, hop, interruptedSend };
}

describe("a new dial whose first hop is not saved keeps the caller's resume point", () => {
  it("its commit refused (the hop outlived its lock): the next dial still offers the send, which pays once", async () => {
    const { bank, payee, sessions, hop, interruptedSend } = setup("+254712270001", { lockTtlMs: 100 });
    const confirm = await interruptedSend("rk-1");
    sessions.delayCommitMs = 300;
    expect(await hop("rk-2", "")).toBe(OFFER);
    sessions.delayCommitMs = 0;
    expect(await hop("rk-3", "")).toBe(OFFER);
    expect(await hop("rk-3", "1")).toBe(confirm);
    expect(await hop("rk-3", "1*1")).toBe("Enter your PIN to confirm:");
    expect(await hop("rk-3", "1*1*4827")).toMatch(/^Sent KES 100\.00 to PETER/);
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    expect(bank.sends.size).toBe(1);
  });

  it("its commit failing (Redis dropped the connection): the next dial still offers the send", async () => {
    const { sessions, hop, interruptedSend } = setup("+254712270002", { lockTtlMs: 300 });
    const confirm = await interruptedSend("rf-1");
    // Down for longer than the hop keeps trying (the lock's TTL).
    sessions.failCommits = 1_000;
    expect(await hop("rf-2", "")).toBe(OFFER);
    sessions.failCommits = 0;
    expect(await hop("rf-3", "")).toBe(OFFER);
    expect(await hop("rf-3", "1")).toBe(confirm);
  });

  it("an unreadable point is deleted by the commit of the dial that read it", async () => {
    const { bank, hop } = setup("+254712270003");
    const point = `${prefix}resume:${bank.institutionId}:at:+254712270003`;
    await admin.set(point, "not a session", "EX", 60);
    expect(await hop("ru-1", "")).toMatch(/^Welcome to fingate/);
    expect(await admin.exists(point)).toBe(0);
  });
});

describe("a payment's PIN hop whose commit is refused", () => {
  it("still drops the caller's resume point: the next dial does not offer to continue the payment it made", async () => {
    const msisdn = "+254712270004";
    const bank = new FakeBank();
    bank.addCustomer(msisdn, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const payee = bank.addCustomer("+254712270098", "Peter Otieno", { alias: "peter" });
    const ended: EndedUssdSession[] = [];
    // Two instances on one Redis prefix: A's PIN hop stalls before its commit, B gets the network's end notice.
    const instance = (store: UnsteadyStore) => {
      stores.push(store);
      return createUssdChannel({
        ports: bank.ports(), institutionId: bank.institutionId, sessions: store, secretKey: Buffer.alloc(32, 7),
        aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
        logger: { info() {}, warn() {}, error() {} }, hopLimits: { lockTtlMs: 200 }, onSessionEnd: async (s) => void ended.push(s),
      });
    };
    const storeA = new UnsteadyStore(new Redis(REDIS_URL), { prefix });
    const [a, b] = [instance(storeA), instance(new UnsteadyStore(new Redis(REDIS_URL), { prefix }))];
    const hop = async (channel: typeof a, sessionId: string, text: string) =>
      (await channel.hops.handle({ aggregator: "at", sessionId, msisdn, serviceCode: "*384#", mode: "cumulative", text, hopKey: text })).text;
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await hop(a, "rp-1", text);
    await a.hops.drain();
    storeA.delayCommitMs = 600;
    expect(await hop(a, "rp-1", "2*peter*100*1*4827")).toMatch(/^Sent KES 100\.00 to PETER/);
    // The network ends the session meanwhile (on B, once A's lock has lapsed): B deletes and meters it, and A's late write is refused.
    await b.hops.endSession("at", "rp-1", "end");
    await a.hops.drain();
    storeA.delayCommitMs = 0;
    // Metered by A's END and by B's end (the meter counts a session once).
    expect(new Set(ended.map((s) => s.sessionId))).toEqual(new Set(["rp-1"]));
    expect(await storeA.get("at:rp-1")).toBeNull();
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    expect(await hop(b, "rp-2", "")).toMatch(/^Welcome to fingate/);
  });
});
