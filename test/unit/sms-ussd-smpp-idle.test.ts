// USSD over SMPP on a link whose network sends no abort op: a session the subscriber leaves is
// metered as timed out before its record lapses, once, and only by the instance that answered its
// last hop. Through the real hop processor and menu engine (over the menu fakes), real timers.
import type smpp from "smpp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { IdleSessions } from "../../src/sms/ussd/idle-sessions.js";
import { UssdOverSmpp } from "../../src/sms/ussd/ussd-over-smpp.js";
import { USSD_DEFAULTS, type LinkConfig } from "../../src/sms/links/types.js";
import type { InboundMessage } from "../../src/sms/server/inbound-pdu.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const PAYER = "+254700000410";
const link = { id: "idle1", ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } } as unknown as LinkConfig;
/** The link as the channel's bank's (another bank's link is refused before any hop runs). */
const ofBank = (l: LinkConfig, bank: { institutionId: string }): LinkConfig => ({ ...l, institutionId: bank.institutionId });
const KEY = (session: number) => `smpp-idle1:${PAYER}:${session}`;
const WAIT_MS = 80;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pdu(op: number, session: number, sequence: number, text: string, end = false): InboundMessage {
  return { msisdn: PAYER, to: "*384#", text, dataCoding: 0, isReceipt: false,
    senderIsSubscriber: true, concatenated: false, concat: null, ussdServiceOp: op, itsSessionInfo: Buffer.from([session, (sequence << 1) | (end ? 1 : 0)]), userMessageReference: null };
}

const open: UssdOverSmpp[] = [];
afterEach(async () => {
  for (const u of open.splice(0)) await u.close();
});

/** One gateway instance: its hop processor, its SMPP USSD handler, what it metered. */
function instance(bank: FakeBank, sessions: MemorySessionStore, idle: { endAfterMs: number } = { endAfterMs: WAIT_MS }, rescanEveryMs = 0) {
  const ended: EndedUssdSession[] = [];
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const channel = createUssdChannel({ ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, onSessionEnd: async (s) => void ended.push(s) });
  const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger, idle: { ...idle, sweepEveryMs: 10 }, rescanEveryMs });
  smppUssd.watchForOrphans(); // as the gateway does when a link speaks USSD
  open.push(smppUssd);
  const send = async (m: InboundMessage) => {
    const sent: smpp.PduOptions[] = [];
    await smppUssd.handle(ofBank(link, bank), m, { sendUssd: async (p: smpp.PduOptions) => void sent.push(p) });
    return sent.map((p) => Buffer.from(p.short_message as Buffer).toString("latin1"));
  };
  return { send, ended, channel, smppUssd };
}

function bankWithPayer() {
  const bank = new FakeBank();
  bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  bank.addCustomer("+254700000420", "Peter Otieno", { alias: "peter" });
  return bank;
}

describe("USSD over SMPP: sessions the subscriber leaves", () => {
  it("a session left mid-flow is metered as timed out, with its screens, before its record lapses, and only once", async () => {
    const sessions = new MemorySessionStore();
    const a = instance(bankWithPayer(), sessions);
    await a.send(pdu(1, 3, 0, "*384#"));
    expect((await a.send(pdu(18, 3, 1, "2")))[0]).toMatch(/phone number or alias/);
    await vi.waitFor(() => expect(a.ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(a.ended[0]).toMatchObject({ aggregator: "smpp-idle1", sessionId: `${PAYER}:3`, msisdn: PAYER, endReason: "timeout", stages: 2 });
    expect(await sessions.get(KEY(3))).toBeNull();
    await sleep(3 * WAIT_MS);
    expect(a.ended).toHaveLength(1);
  });

  it("a session still in use is not ended by an earlier answer's wait; it is metered once, when it ends", async () => {
    const bank = bankWithPayer();
    const a = instance(bank, new MemorySessionStore());
    await a.send(pdu(1, 4, 0, "*384*2*0700000420*100#"));
    for (const [seq, input] of [[1, "1"], [2, "4827"]] as const) {
      await sleep(WAIT_MS / 2);
      expect(a.ended).toHaveLength(0);
      await a.send(pdu(18, 4, seq, input));
    }
    expect([...bank.sends.values()].map((s) => s.amountMinor)).toEqual([100_00n]);
    await vi.waitFor(() => expect(a.ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(a.ended[0]!.endReason).toBe("end");
    await sleep(3 * WAIT_MS);
    expect(a.ended).toHaveLength(1);
  });

  it("a session whose next hop another instance answered is ended by that instance's wait, not the first's", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const a = instance(bank, sessions);
    const b = instance(bank, sessions);
    await a.send(pdu(1, 5, 0, "*384#"));
    await sleep(WAIT_MS / 2);
    await b.send(pdu(18, 5, 1, "2"));
    // a's wait (for its own answer) is over first: the session has moved on, a leaves it alone.
    await sleep(WAIT_MS / 2 + 30);
    expect(a.ended).toHaveLength(0);
    expect(await sessions.get(KEY(5))).not.toBeNull();
    await vi.waitFor(() => expect(b.ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(b.ended[0]).toMatchObject({ endReason: "timeout", stages: 2 });
    expect(a.ended).toHaveLength(0);
  });

  it("an older PDU re-sent late does not replace the wait of the last hop answered", async () => {
    const a = instance(bankWithPayer(), new MemorySessionStore());
    await a.send(pdu(1, 6, 0, "*384#"));
    await a.send(pdu(18, 6, 1, "2"));
    expect((await a.send(pdu(18, 6, 2, "0700000420")))[0]).toMatch(/amount/i);
    // Sequence 1 again: stale, it runs nothing; the session's last hop is still sequence 2.
    expect((await a.send(pdu(18, 6, 1, "2")))[0]).toMatch(/amount/i);
    await vi.waitFor(() => expect(a.ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(a.ended[0]).toMatchObject({ endReason: "timeout", stages: 3 });
  });

  it("a session the network ends (its end flag) is metered as aborted, not again by its wait", async () => {
    const a = instance(bankWithPayer(), new MemorySessionStore());
    await a.send(pdu(1, 7, 0, "*384#"));
    await a.send(pdu(18, 7, 1, "", true));
    expect(a.ended.map((s) => s.endReason)).toEqual(["abort"]);
    await sleep(3 * WAIT_MS);
    expect(a.ended).toHaveLength(1);
  });
});

describe("USSD over SMPP: idle ends, retries and locks", () => {
  it("a re-delivered PDU (the last one again) does not push the wait back: the record it did not renew is ended in time", async () => {
    let now = 0;
    const sessions = new MemorySessionStore({ clock: () => now });
    const bank = bankWithPayer();
    const ended: EndedUssdSession[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const channel = createUssdChannel({ ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, onSessionEnd: async (s) => void ended.push(s) });
    const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger, idle: { endAfterMs: 1_000, sweepEveryMs: 5, clock: () => now } });
    open.push(smppUssd);
    const reply = { sendUssd: async () => undefined };
    await smppUssd.handle(ofBank(link, bank), pdu(1, 11, 0, "*384#"), reply);
    await smppUssd.handle(ofBank(link, bank), pdu(18, 11, 1, "2"), reply);
    now = 600;
    await smppUssd.handle(ofBank(link, bank), pdu(18, 11, 1, "2"), reply);
    now = 1_001;
    await vi.waitFor(() => expect(ended).toHaveLength(1), { timeout: 2_000, interval: 5 });
    expect(ended[0]).toMatchObject({ endReason: "timeout", stages: 2 });
  });

  it("a session whose lock another instance holds when its wait is over is ended once that lock is free", async () => {
    const sessions = new MemorySessionStore();
    const bank = bankWithPayer();
    const ended: EndedUssdSession[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const channel = createUssdChannel({ ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, onSessionEnd: async (s) => void ended.push(s) });
    const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger, idle: { endAfterMs: 40, sweepEveryMs: 5, busyRetryMs: 30 } });
    open.push(smppUssd);
    const reply = { sendUssd: async () => undefined };
    await smppUssd.handle(ofBank(link, bank), pdu(1, 12, 0, "*384#"), reply);
    // Another instance's hop (a stale PDU, say) holds the lock over the wait's end, and takes nothing over.
    // Held for far longer than the test waits, and let go explicitly: a loaded machine's sleep
    // overrunning a short lock's TTL would end the session before the assertion looked.
    const token = await sessions.tryLock(KEY(12), 30_000);
    expect(token).not.toBeNull();
    await sleep(90);
    expect(ended).toHaveLength(0);
    expect(await sessions.unlock(KEY(12), token!)).toBe(true);
    await vi.waitFor(() => expect(ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(ended[0]!.endReason).toBe("timeout");
  });
});

describe("USSD over SMPP: a process that stops leaves its waits to the next", () => {
  it("a session left waiting by a stopped process is ended by the process that starts next, once, before its record lapses", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const a = instance(bank, sessions);
    await a.send(pdu(1, 21, 0, "*384#"));
    await a.send(pdu(18, 21, 1, "2"));
    await open.splice(open.indexOf(a.smppUssd), 1)[0]!.close(); // a restart: its waits are forgotten
    await sleep(3 * WAIT_MS);
    expect(a.ended).toHaveLength(0);
    expect(await sessions.get(KEY(21))).not.toBeNull();
    // Two instances start; each takes the session over, and it is metered once.
    const b = instance(bank, sessions);
    const c = instance(bank, sessions);
    await vi.waitFor(() => expect([...b.ended, ...c.ended]).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect([...b.ended, ...c.ended][0]).toMatchObject({ aggregator: "smpp-idle1", sessionId: `${PAYER}:21`, endReason: "timeout", stages: 2 });
    expect(await sessions.get(KEY(21))).toBeNull();
    await sleep(3 * WAIT_MS);
    expect([...a.ended, ...b.ended, ...c.ended]).toHaveLength(1);
  });

  it("a taken-over session whose subscriber answers goes on, and is ended by its new wait, not the adopted one", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const a = instance(bank, sessions);
    await a.send(pdu(1, 22, 0, "*384#"));
    await open.splice(open.indexOf(a.smppUssd), 1)[0]!.close();
    const b = instance(bank, sessions, { endAfterMs: 300 });
    // The subscriber answers before the adopted wait is due.
    expect((await b.send(pdu(18, 22, 1, "2")))[0]).toMatch(/phone number or alias/);
    await sleep(150);
    expect(b.ended).toHaveLength(0);
    await vi.waitFor(() => expect(b.ended).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(b.ended[0]).toMatchObject({ endReason: "timeout", stages: 2 });
  });

  it("a process that stops while another runs (a rolling deploy): the other's rescan ends its waits, once; a live instance's are left to it", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const b = instance(bank, sessions, { endAfterMs: WAIT_MS }, 20); // the new process, up first
    const a = instance(bank, sessions, { endAfterMs: WAIT_MS }, 20);
    await a.send(pdu(1, 25, 0, "*384#")); // answered by the old one after the new one's start-up scan
    await a.send(pdu(1, 26, 0, "*384#"));
    await open.splice(open.indexOf(a.smppUssd), 1)[0]!.close(); // then it stops
    await b.send(pdu(1, 27, 0, "*384#")); // b's own session: ended by b's wait
    await vi.waitFor(() => expect(b.ended).toHaveLength(3), { timeout: 2_000, interval: 10 });
    expect(b.ended.map((s) => [s.sessionId, s.endReason]).sort()).toEqual([[`${PAYER}:25`, "timeout"], [`${PAYER}:26`, "timeout"], [`${PAYER}:27`, "timeout"]]);
    await sleep(3 * WAIT_MS);
    expect(a.ended).toHaveLength(0);
    expect(b.ended).toHaveLength(3);
  });

  it("a gateway whose links speak no USSD never scans the store; the first USSD PDU starts the watch, once", async () => {
    const scans: string[] = [];
    const hops = {
      handle: async () => ({ end: true, text: "bye" }),
      endSession: async () => undefined,
      endIdleSession: async () => true,
      openSessions: async (prefix: string) => (scans.push(prefix), []),
      idleTtlSec: 180,
    };
    const logger = { info: () => undefined, warn: () => undefined };
    const quiet = new UssdOverSmpp({ hops, logger, rescanEveryMs: 10 });
    open.push(quiet);
    await sleep(50);
    expect(scans).toEqual([]);
    await quiet.handle(link, pdu(1, 28, 0, "*384#"), { sendUssd: async () => undefined });
    await quiet.handle(link, pdu(1, 29, 0, "*384#"), { sendUssd: async () => undefined });
    await vi.waitFor(() => expect(scans.length).toBeGreaterThanOrEqual(3), { timeout: 2_000, interval: 5 });
    expect(new Set(scans)).toEqual(new Set(["smpp-"]));
    await quiet.close();
    const after = scans.length;
    await sleep(50);
    expect(scans.length).toBe(after);
  });

  it("ended and other channels' sessions are not taken over", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const a = instance(bank, sessions);
    await a.send(pdu(1, 23, 0, "*384#"));
    await a.send(pdu(18, 23, 1, "", true)); // the network's end: metered as aborted, forgotten
    // An open session's record under an HTTP aggregator's key: that channel is told of its end.
    await a.send(pdu(1, 24, 0, "*384#"));
    await sessions.set("at:ATUid_1", (await sessions.get(KEY(24)))!, 60);
    await sessions.delete(KEY(24));
    await open.splice(open.indexOf(a.smppUssd), 1)[0]!.close();
    const b = instance(bank, sessions);
    await sleep(3 * WAIT_MS);
    expect(b.ended).toHaveLength(0);
    expect(a.ended.map((s) => s.endReason)).toEqual(["abort"]);
  });
});

describe("USSD over SMPP: a hop that outlives its lock", () => {
  it("does not bring back a session another instance opened and the network ended meanwhile, nor meter it again", async () => {
    const bank = bankWithPayer();
    const sessions = new MemorySessionStore();
    const abortLink = { id: "idle1", ussd: { ...USSD_DEFAULTS, serviceCode: "*384#", abortOps: [33] } } as unknown as LinkConfig;
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const side = (stall?: Promise<void>) => {
      const ended: EndedUssdSession[] = [];
      const ports = bank.ports();
      if (stall && ports.agents) {
        const atNumber = ports.agents.atNumber.bind(ports.agents);
        ports.agents.atNumber = async (...args) => (await stall, atNumber(...args));
      }
      const channel = createUssdChannel({ ports, institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, hopLimits: { lockTtlMs: 100, hopBudgetMs: 5_000 }, onSessionEnd: async (s) => void ended.push(s) });
      const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger, idle: { endAfterMs: WAIT_MS, sweepEveryMs: 10 } });
      open.push(smppUssd);
      const send = (m: InboundMessage) => smppUssd.handle(ofBank(abortLink, bank), m, { sendUssd: async () => undefined });
      return { send, ended };
    };
    let release!: () => void;
    const a = side(new Promise<void>((r) => (release = r)));
    const b = side();
    const slow = a.send(pdu(1, 40, 0, "*384#")); // its first screen's lookup stalls past the 100 ms lock
    await sleep(150);
    await b.send(pdu(1, 40, 0, "*384#")); // the begin re-delivered, served by b
    await b.send(pdu(33, 40, 1, "")); // the network aborts the dialog: metered, forgotten
    expect(b.ended.map((s) => s.endReason)).toEqual(["abort"]);
    release();
    await slow;
    // The network's end keeps the record closed until it lapses (a late PDU hears that it ended): not brought back open.
    expect(JSON.parse((await sessions.get(KEY(40)))!)).toMatchObject({ closed: true });
    await sleep(3 * WAIT_MS);
    expect([...a.ended, ...b.ended].map((s) => s.endReason)).toEqual(["abort"]);
  });
});

describe("IdleSessions, bounded", () => {
  it("after close, an answer that finishes late starts no timer and tracks nothing", async () => {
    const idle = new IdleSessions({ endIdleSession: async () => true }, { endAfterMs: 10, onError: () => undefined });
    await idle.close();
    idle.answered("smpp-x", "s1", "k");
    expect(idle.size).toBe(0);
  });

  it("past its bound the oldest wait is dropped and reported, never ended early (its subscriber may still be typing)", async () => {
    const endedIds: string[] = [];
    const dropped: string[] = [];
    const idle = new IdleSessions(
      { endIdleSession: async (_agg, id) => (endedIds.push(id), true) },
      { endAfterMs: 60_000, maxTracked: 2, onError: (_e, _agg, id) => void dropped.push(id) },
    );
    try {
      for (const id of ["s1", "s2", "s3"]) idle.answered("smpp-x", id, "k");
      expect(dropped).toEqual(["s1"]);
      expect(idle.size).toBe(2);
      idle.sweep(Date.now() + 60_001);
      await idle.close();
      expect(endedIds).toEqual(["s2", "s3"]);
    } finally {
      await idle.close();
    }
  });
});
