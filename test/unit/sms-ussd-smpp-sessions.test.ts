// USSD over SMPP through the real hop processor and menu engine (over the menu fakes): session
// numbers the network reuses, PDUs it re-sends late, a session store that fails at a begin.
import type smpp from "smpp";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { UssdOverSmpp } from "../../src/sms/ussd/ussd-over-smpp.js";
import { USSD_DEFAULTS, type LinkConfig } from "../../src/sms/links/types.js";
import type { InboundMessage } from "../../src/sms/server/inbound-pdu.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const PAYER = "+254700000010";
const link = { id: "t1", ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } } as unknown as LinkConfig;
/** The link as the channel's bank's (another bank's link is refused before any hop runs). */
const ofBank = (l: LinkConfig, bank: { institutionId: string }): LinkConfig => ({ ...l, institutionId: bank.institutionId });

function pdu(op: number, session: number, sequence: number, text: string, end = false, msisdn = PAYER): InboundMessage {
  return { msisdn, to: "*384#", text, dataCoding: 0, isReceipt: false,
    senderIsSubscriber: true, concatenated: false, concat: null, ussdServiceOp: op, itsSessionInfo: Buffer.from([session, (sequence << 1) | (end ? 1 : 0)]), userMessageReference: null };
}

function setup(sessions = new MemorySessionStore()) {
  const bank = new FakeBank();
  bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  bank.addCustomer("+254700000030", "Mary Akinyi", { alias: "mary" });
  const ended: EndedUssdSession[] = [];
  const logs: string[] = [];
  const logger = { info: (o: object, m: string) => void logs.push(m + JSON.stringify(o)), warn: (o: object, m: string) => void logs.push(m + JSON.stringify(o)), error: (o: object, m: string) => void logs.push(m + JSON.stringify(o)) };
  const channel = createUssdChannel({ ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 9), aggregators: [], logger, onSessionEnd: async (s) => void ended.push(s) });
  const smppUssd = new UssdOverSmpp({ hops: channel.hops, logger });
  const sent: smpp.PduOptions[] = [];
  const replyLink = { sendUssd: async (p: smpp.PduOptions) => void sent.push(p) };
  const text = (p: smpp.PduOptions) => Buffer.from(p.short_message as Buffer).toString("latin1");
  const send = async (m: InboundMessage) => {
    const before = sent.length;
    await smppUssd.handle(ofBank(link, bank), m, replyLink).catch((e: unknown) => logs.push(`threw ${String(e)}`));
    return sent.slice(before).map(text);
  };
  return { bank, channel, send, sent, ended, logs, sessions };
}

describe("USSD over SMPP: numbered sessions", () => {
  it("a new dial reusing the session number soon after is a new session with its own dial string, not the old one re-delivered", async () => {
    const { send, bank } = setup();
    const first = await send(pdu(1, 5, 0, "*384*2*0700000020*100#"));
    expect(first[0]).toMatch(/PETER/);
    // Seconds later the network numbers a new session 5 again: send 300 to Mary.
    const second = await send(pdu(1, 5, 0, "*384*2*0700000030*300#"));
    expect(second[0]).toMatch(/Send KES 300\.00 to MARY/);
    await send(pdu(18, 5, 1, "1"));
    await send(pdu(18, 5, 2, "4827"));
    expect([...bank.sends.values()].map((x) => x.amountMinor)).toEqual([300_00n]);
  });

  it("the very same begin re-delivered (our answer lost) still gets the same screen", async () => {
    const { send } = setup();
    const first = await send(pdu(1, 8, 0, "*384*2*0700000020*100#"));
    expect(await send(pdu(1, 8, 0, "*384*2*0700000020*100#"))).toEqual(first);
  });

  it("a begin while the session store is down is answered (END), not left to the network's timeout", async () => {
    const store = new MemorySessionStore();
    const { send, sent } = setup(store);
    store.get = async () => {
      throw new Error("redis down");
    };
    const begin = await send(pdu(1, 7, 0, "*384#"));
    expect(begin).toHaveLength(1);
    expect(begin[0]).toMatch(/unavailable/i);
    expect(sent.at(-1)!.ussd_service_op).toBe(USSD_DEFAULTS.endReplyOp);
  });

  it("a begin whose predecessor could not be ended (the store failed once) is answered END and never runs on the old session", async () => {
    const store = new MemorySessionStore();
    const { send, bank, sent } = setup(store);
    await send(pdu(1, 5, 0, "*384*2*0700000020*100#"));
    expect((await send(pdu(18, 5, 1, "1")))[0]).toMatch(/PIN/);
    // The end's write (a delete, under the session's lock) fails once.
    const commit = store.commit.bind(store);
    let failures = 1;
    store.commit = async (key, lock, writes) => {
      if (writes.length > 0 && writes.every((w) => w.value === null) && failures-- > 0) throw new Error("redis timeout");
      return commit(key, lock, writes);
    };
    expect(await send(pdu(1, 5, 0, "*384*2*0700000030*300#"))).toEqual(["Service unavailable"]);
    expect(sent.at(-1)!.ussd_service_op).toBe(USSD_DEFAULTS.endReplyOp);
    // The next dial under that number is a new session: the old payee's payment is not reachable.
    expect((await send(pdu(1, 5, 0, "*384*2*0700000030*300#")))[0]).toMatch(/Send KES 300\.00 to MARY/);
    await send(pdu(18, 5, 1, "1"));
    await send(pdu(18, 5, 2, "4827"));
    expect([...bank.sends.values()].map((x) => x.amountMinor)).toEqual([300_00n]);
  });

  it("sequences wrap at 128: a session whose numbering crosses the wrap is not taken for stale", async () => {
    const { send } = setup();
    await send(pdu(1, 9, 126, "*384#"));
    expect((await send(pdu(18, 9, 127, "2")))[0]).toMatch(/phone number or alias/);
    expect((await send(pdu(18, 9, 0, "0700000020")))[0]).toMatch(/amount/i);
    // 127 again, after 0: one behind across the wrap, so stale.
    expect((await send(pdu(18, 9, 127, "2")))[0]).toMatch(/amount/i);
    expect((await send(pdu(18, 9, 1, "150")))[0]).toMatch(/Send KES 150\.00 to PETER/);
  });

  it("an older continue re-sent late (its acknowledgement lost) does not run as input to the current screen", async () => {
    const { send } = setup();
    await send(pdu(1, 4, 0, "*384#"));
    await send(pdu(18, 4, 1, "2"));
    const amountPrompt = await send(pdu(18, 4, 2, "0700000020"));
    expect(amountPrompt[0]).toMatch(/amount/i);
    // Sequence 1 ("2") again, after sequence 2: the current screen, nothing run.
    expect(await send(pdu(18, 4, 1, "2"))).toEqual(amountPrompt);
    expect((await send(pdu(18, 4, 3, "150")))[0]).toMatch(/Send KES 150\.00 to PETER/);
  });

  it("a continue of a session whose record was lost is answered END 'expired', runs nothing, and is metered once as that screen", async () => {
    const { send, sent, ended, sessions, bank, channel } = setup();
    await send(pdu(1, 6, 0, "*384#"));
    await send(pdu(18, 6, 1, "2"));
    expect((await send(pdu(18, 6, 2, "0700000020")))[0]).toMatch(/amount/i);
    await sessions.delete(`smpp-t1:${PAYER}:6`);
    const expired = await send(pdu(18, 6, 3, "150"));
    expect(expired[0]).toMatch(/session has expired/);
    expect(sent.at(-1)!.ussd_service_op).toBe(USSD_DEFAULTS.endReplyOp);
    // The PDU re-sent (its acknowledgement lost): the same END, nothing metered again.
    expect(await send(pdu(18, 6, 3, "150"))).toEqual(expired);
    await channel.hops.drain();
    expect(ended.map((s) => ({ stages: s.stages, endReason: s.endReason, msisdn: s.msisdn }))).toEqual([{ stages: 1, endReason: "end", msisdn: PAYER }]);
    expect(bank.sends.size).toBe(0);
  });
});
