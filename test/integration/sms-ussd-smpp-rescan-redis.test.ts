// USSD over SMPP on Redis, as the gateway builds its store (USSD_INDEXED_PREFIXES): a process that
// stops while another runs leaves sessions waiting, and the other's rescan finds them through the
// store's expiry index, never walking the keyspace (only the start-up scan does). Through the real
// hop processor and menu engine (over the menu fakes), real timers, one key prefix per run.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type smpp from "smpp";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { USSD_INDEXED_PREFIXES } from "../../src/ussd/gateway.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { UssdOverSmpp } from "../../src/sms/ussd/ussd-over-smpp.js";
import { USSD_DEFAULTS, type LinkConfig } from "../../src/sms/links/types.js";
import type { InboundMessage } from "../../src/sms/server/inbound-pdu.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `fingate-test:${randomBytes(6).toString("hex")}:`;
const PAYER = "+254700000430";
const link = { id: "rescan1", ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } } as unknown as LinkConfig;
const WAIT_MS = 80;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pdu(op: number, session: number, sequence: number, text: string): InboundMessage {
  return { msisdn: PAYER, to: "*384#", text, dataCoding: 0, isReceipt: false,
    senderIsSubscriber: true, concatenated: false, concat: null, ussdServiceOp: op, itsSessionInfo: Buffer.from([session, sequence << 1]), userMessageReference: null };
}

/** The gateway's store, counting the SCANs its client sends while a rescan (a scan with a moment) runs. */
class CountingStore extends RedisSessionStore {
  rescans = 0;
  scansDuringRescans = 0;
  private rescanning = 0;
  /** Settles once the start-up scan (a scan without a moment) is over. */
  readonly startedUp: Promise<void>;
  private startUpOver!: () => void;

  constructor(redis: Redis) {
    super(redis, { prefix: PREFIX, indexedPrefixes: USSD_INDEXED_PREFIXES });
    this.startedUp = new Promise((resolve) => (this.startUpOver = resolve));
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      if (this.rescanning > 0 && command.name.toLowerCase() === "scan") this.scansDuringRescans += 1;
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
  }

  override async scan(prefix: string, max: number, expiringBeforeMs?: number) {
    if (expiringBeforeMs === undefined) return super.scan(prefix, max).finally(() => this.startUpOver());
    this.rescans += 1;
    this.rescanning += 1;
    try {
      return await super.scan(prefix, max, expiringBeforeMs);
    } finally {
      this.rescanning -= 1;
    }
  }
}

const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.stop();
});
afterAll(async () => {
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** One gateway instance with its own Redis client: its hop processor, its SMPP USSD handler, what it metered. */
function instance(bank: FakeBank, rescanEveryMs: number) {
  const ended: EndedUssdSession[] = [];
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const store = new CountingStore(new Redis(REDIS_URL));
  const channel = createUssdChannel({ ports: bank.ports(), institutionId: bank.institutionId, sessions: store, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, onSessionEnd: async (s) => void ended.push(s) });
  const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger, idle: { endAfterMs: WAIT_MS, sweepEveryMs: 10 }, rescanEveryMs });
  smppUssd.watchForOrphans();
  const handle = { stop: async () => stop() };
  open.push(handle);
  // A link of the channel's bank: another bank's link is refused before any hop runs.
  const send = (m: InboundMessage) => smppUssd.handle({ ...link, institutionId: bank.institutionId }, m, { sendUssd: async (_: smpp.PduOptions) => undefined });
  // As the gateway stops: the hops' commits under way land before the store closes.
  const stop = async () => {
    open.splice(open.indexOf(handle), 1);
    await smppUssd.close();
    await channel.hops.drain();
    await store.close();
  };
  return { send, ended, store, stop };
}

describe("USSD over SMPP on Redis: the rescan", () => {
  it("a process that stops while another runs: the other's rescan finds its waits through the index, not by walking the keyspace, and ends them once", async () => {
    const bank = new FakeBank();
    bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const b = instance(bank, 20); // the new process, up first
    const a = instance(bank, 20);
    await b.store.startedUp; // what a writes now, only a rescan can find
    await a.send(pdu(1, 31, 0, "*384#")); // answered by the old one after the new one's start-up scan
    await a.send(pdu(1, 32, 0, "*384#"));
    await a.stop();
    await vi.waitFor(() => expect(b.ended).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(b.ended.map((s) => [s.sessionId, s.endReason]).sort()).toEqual([[`${PAYER}:31`, "timeout"], [`${PAYER}:32`, "timeout"]]);
    expect(a.ended).toHaveLength(0);
    expect(b.store.rescans).toBeGreaterThan(0);
    expect(b.store.scansDuringRescans).toBe(0);
    await sleep(3 * WAIT_MS);
    expect(b.ended).toHaveLength(2);
    // Ended and deleted: nothing is left in the index either.
    const admin = new Redis(REDIS_URL);
    expect(await admin.exists(`${PREFIX}index:smpp-`)).toBe(0);
    await admin.quit();
  });
});
