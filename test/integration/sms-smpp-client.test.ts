/**
 * The ESME link over real loopback sockets, against an SMSC made with the same package's
 * createServer. Timings are short (tens of ms) so the whole file stays well under 20 s.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { afterEach, describe, expect, it } from "vitest";
import { SmppClient, type LinkState } from "../../src/sms/smpp-client.js";
import type { SmppClientOptions } from "../../src/sms/smpp-client-config.js";
import { ESME_RINVCMDLEN, ESME_RINVMSGLEN, type BadPdu } from "../../src/sms/smpp-framing.js";
import { ESME_RINVCMDID } from "../../src/sms/server/status-codes.js";
import { ESME_RINVPASWD, ESME_RTHROTTLED, SmppBindError, SmppUnavailableError } from "../../src/sms/smpp-status.js";

const PASSWORD = "pa55";

type SubmitHandler = (pdu: smpp.PDU, session: smpp.Session, smsc: Smsc) => void;

interface Smsc {
  port: number;
  binds: smpp.PDU[];
  /** Server-side sessions, in the order they were bound. */
  bound: smpp.Session[];
  submits: smpp.PDU[];
  unbinds: number;
  enquires: number;
  /** When false the SMSC stops answering enquire_link, as a hung peer would. */
  answerEnquireLink: boolean;
  onSubmit: SubmitHandler;
  stop(): Promise<void>;
}

const ack: SubmitHandler = (pdu, session, smsc) => {
  session.send(pdu.response({ message_id: `m${smsc.submits.length}` }));
};

function startSmsc(): Promise<Smsc> {
  const server = smpp.createServer((session) => {
    session.on("error", () => undefined);
    session.on("bind_transceiver", (pdu: smpp.PDU) => {
      smsc.binds.push(pdu);
      const ok = pdu.password === PASSWORD;
      if (ok) smsc.bound.push(session);
      session.send(pdu.response(ok ? { system_id: "test-smsc" } : { command_status: ESME_RINVPASWD }));
    });
    session.on("enquire_link", (pdu: smpp.PDU) => {
      smsc.enquires++;
      if (smsc.answerEnquireLink) session.send(pdu.response());
    });
    session.on("unbind", (pdu: smpp.PDU) => {
      smsc.unbinds++;
      session.send(pdu.response());
    });
    session.on("submit_sm", (pdu: smpp.PDU) => {
      smsc.submits.push(pdu);
      smsc.onSubmit(pdu, session, smsc);
    });
  });
  const smsc: Smsc = {
    port: 0,
    binds: [],
    bound: [],
    submits: [],
    unbinds: 0,
    enquires: 0,
    answerEnquireLink: true,
    onSubmit: ack,
    stop: () =>
      new Promise((resolve) => {
        for (const session of [...server.sessions]) session.destroy();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      smsc.port = (server.address() as AddressInfo).port;
      resolve(smsc);
    });
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Partial<SmppClientOptions> = {}) {
  const smsc = await startSmsc();
  const client = new SmppClient(
    {
      host: "127.0.0.1",
      port: smsc.port,
      systemId: "fingate",
      password: PASSWORD,
      responseTimeoutMs: 1_000,
      reconnectBackoff: { initialMs: 20, maxMs: 200, jitterRatio: 0.5 },
      throttleBackoff: { initialMs: 50, maxMs: 400, jitterRatio: 0 },
      ...options,
    },
    { random: () => 0 },
  );
  cleanups.push(() => smsc.stop());
  cleanups.push(() => client.close());
  return { smsc, client };
}

function waitForState(client: SmppClient, state: LinkState): Promise<void> {
  if (client.stats().state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (s: LinkState) => {
      if (s !== state) return;
      client.off("state", listener);
      resolve();
    };
    client.on("state", listener);
  });
}

/**
 * A deliver_sm (an MO text) whose last TLV, message_state, announces one byte of value that the
 * PDU does not have: the package's parser throws a RangeError reading it.
 */
function truncatedTlvDeliverSm(): Buffer {
  const pdu = new smpp.PDU("deliver_sm", { sequence_number: 7, source_addr: "254700000001", destination_addr: "384", short_message: "BAL" });
  const good = (pdu as unknown as { toBuffer(): Buffer }).toBuffer(); // the package's encoder (not in its typings here)
  const tlvHeader = Buffer.from([0x04, 0x27, 0x00, 0x01]); // message_state, length 1, no value
  const bad = Buffer.concat([good, tlvHeader]);
  bad.writeUInt32BE(bad.length, 0);
  return bad;
}

/** A PDU header alone (command_status 0). */
function rawHeader(length: number, commandId: number, sequence: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(commandId, 4);
  header.writeUInt32BE(sequence, 12);
  return header;
}

/** The decoded text of a submit_sm as the package's server side sees it. */
const textOf = (pdu: smpp.PDU) => (pdu.short_message as { message: string }).message;
const sms = (text: string) => ({ from: "384", to: "254700000001", text });

describe("bind", () => {
  it("binds as a transceiver with interface version 3.4 and closes cleanly with unbind", async () => {
    const { smsc, client } = await setup();
    client.start();
    await waitForState(client, "bound");
    expect(smsc.binds).toHaveLength(1);
    expect(smsc.binds[0]).toMatchObject({ system_id: "fingate", password: PASSWORD, interface_version: 0x34 });
    expect(client.stats()).toEqual({ state: "bound", bound: true, reconnecting: false, inFlight: 0, queued: 0, throttled: 0 });
    await client.close();
    expect(smsc.unbinds).toBe(1);
    expect(client.stats().state).toBe("closed");
    await expect(client.submitText(sms("late"))).rejects.toBeInstanceOf(SmppUnavailableError);
  });

  it("reports a wrong password as ESME_RINVPASWD and retries with growing backoff", async () => {
    const { smsc, client } = await setup({ password: "wrong" });
    const failures: SmppBindError[] = [];
    const delays: number[] = [];
    client.on("bindFailed", (error) => failures.push(error));
    client.on("reconnecting", (delayMs) => delays.push(delayMs));
    client.start();
    await expect.poll(() => failures.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
    expect(failures[0]!.status).toBe(ESME_RINVPASWD);
    expect(failures[0]!.message).toMatch(/ESME_RINVPASWD/);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 160]);
    expect(smsc.binds.length).toBeGreaterThanOrEqual(4);
    expect(client.stats().bound).toBe(false);
  });
});

describe("enquire_link", () => {
  it("keeps the link alive, and reconnects when the SMSC stops answering", async () => {
    const { smsc, client } = await setup({ enquireLinkIntervalMs: 30, responseTimeoutMs: 60 });
    const errors: Error[] = [];
    client.on("linkError", (error) => errors.push(error));
    client.start();
    await expect.poll(() => smsc.enquires, { timeout: 2_000 }).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    expect(smsc.binds).toHaveLength(1);
    smsc.answerEnquireLink = false;
    await expect.poll(() => smsc.binds.length, { timeout: 2_000 }).toBe(2);
    expect(errors[0]?.message).toMatch(/enquire_link_resp/);
  });
});

describe("submit_sm", () => {
  it("sends GSM text with data_coding 0 and other scripts with data_coding 8", async () => {
    const { smsc, client } = await setup();
    client.start();
    const gsm = await client.submitText(sms("Balance: KES 1,200 €"));
    const ucs2 = await client.submitText(sms("शेष राशि ₹1,200"));
    expect(gsm.messageIds).toEqual(["m1"]);
    expect(ucs2.messageIds).toEqual(["m2"]);
    expect(smsc.submits.map((p) => p.data_coding)).toEqual([0, 8]);
    expect(smsc.submits.map(textOf)).toEqual(["Balance: KES 1,200 €", "शेष राशि ₹1,200"]);
    expect(smsc.submits[0]).toMatchObject({ source_addr: "384", destination_addr: "254700000001", esm_class: 0 });
  });

  it("sends every part of a concatenated message with its UDH", async () => {
    const { smsc, client } = await setup();
    client.start();
    const text = "Receipt 0123456789 ".repeat(12);
    const result = await client.submitText(sms(text));
    expect(result.messageIds).toHaveLength(2);
    expect(smsc.submits.map((p) => p.esm_class)).toEqual([0x40, 0x40]);
    const udhs = smsc.submits.map((p) => (p.short_message as { udh: Buffer[] }).udh.map((b) => [...b]));
    const reference = udhs[0]![0]![2];
    expect(udhs).toEqual([[[0x00, 0x03, reference, 2, 1]], [[0x00, 0x03, reference, 2, 2]]]);
    expect(smsc.submits.map(textOf).join("")).toBe(text);
  });

  it("never has more than windowSize requests outstanding", async () => {
    const { smsc, client } = await setup({ windowSize: 5 });
    let outstanding = 0;
    let maxOutstanding = 0;
    smsc.onSubmit = (pdu, session) => {
      maxOutstanding = Math.max(maxOutstanding, ++outstanding);
      setTimeout(() => {
        outstanding--;
        session.send(pdu.response({ message_id: "x" }));
      }, 10);
    };
    client.start();
    let maxInFlight = 0;
    const sends = Array.from({ length: 40 }, (_, i) =>
      client.submitText(sms(`msg-${i}`)).then(() => (maxInFlight = Math.max(maxInFlight, client.stats().inFlight))),
    );
    expect(client.stats().queued + client.stats().inFlight).toBe(40);
    await Promise.all(sends);
    expect(maxInFlight).toBeLessThanOrEqual(5);
    expect(maxOutstanding).toBe(5);
    expect(smsc.submits).toHaveLength(40);
  });

  it("sends a ready-made PDU (a USSD screen) with its TLVs ahead of queued bulk parts", async () => {
    const { smsc, client } = await setup({ windowSize: 1 });
    // Queued before the bind: three bulk messages, then two screens someone is waiting for.
    const bulk = ["bulk-1", "bulk-2", "bulk-3"].map((t) => client.submitText(sms(t)));
    const screen = (n: number) => ({
      source_addr: "*384#",
      destination_addr: "254700000001",
      short_message: Buffer.from(`screen-${n}`),
      ussd_service_op: 2,
      its_session_info: Buffer.from([n, 2]),
    });
    const screens = [client.submitPdu(screen(1)), client.submitPdu(screen(2))];
    client.start();
    await expect(Promise.all(screens)).resolves.toEqual(["m1", "m2"]);
    await Promise.all(bulk);
    expect(smsc.submits.map(textOf)).toEqual(["screen-1", "screen-2", "bulk-1", "bulk-2", "bulk-3"]);
    expect(smsc.submits[0]).toMatchObject({ ussd_service_op: 2, its_session_info: Buffer.from([1, 2]), source_addr: "*384#" });
  });

  it("drops a ready-made PDU that could not be sent within its maximum age", async () => {
    const { smsc, client } = await setup();
    const stale = client.submitPdu({ source_addr: "*384#", destination_addr: "254700000001", short_message: Buffer.from("late"), ussd_service_op: 17 }, { maxAgeMs: 30 });
    const fresh = client.submitText(sms("bulk"));
    await new Promise((r) => setTimeout(r, 60));
    client.start();
    await expect(stale).rejects.toBeInstanceOf(SmppUnavailableError);
    await expect(fresh).resolves.toEqual({ messageIds: ["m1"] });
    expect(smsc.submits.map(textOf)).toEqual(["bulk"]);
  });

  it("backs off after ESME_RTHROTTLED and then delivers the message", async () => {
    const { smsc, client } = await setup();
    const sentAt: number[] = [];
    smsc.onSubmit = (pdu, session) => {
      sentAt.push(Date.now());
      const throttle = sentAt.length <= 2;
      session.send(pdu.response(throttle ? { command_status: ESME_RTHROTTLED } : { message_id: "ok" }));
    };
    const throttles: number[] = [];
    client.on("throttled", (_status, delayMs) => throttles.push(delayMs));
    client.start();
    await expect(client.submitText(sms("slow down"))).resolves.toEqual({ messageIds: ["ok"] });
    expect(throttles).toEqual([50, 100]);
    expect(client.stats().throttled).toBe(2);
    expect(sentAt).toHaveLength(3);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(45);
    expect(sentAt[2]! - sentAt[1]!).toBeGreaterThanOrEqual(95);
  });

  it("retries a part whose response times out", async () => {
    const { smsc, client } = await setup({ responseTimeoutMs: 100 });
    smsc.onSubmit = (pdu, session, s) => {
      if (s.submits.length > 1) session.send(pdu.response({ message_id: "second" }));
    };
    client.start();
    await expect(client.submitText(sms("lost once"))).resolves.toEqual({ messageIds: ["second"] });
    expect(smsc.submits.map(textOf)).toEqual(["lost once", "lost once"]);
  });
});

describe("late submit_sm_resp", () => {
  it("a late answer settles the part: sent once, no second copy on the session, no reconnect", async () => {
    const { smsc, client } = await setup({ responseTimeoutMs: 300 });
    // The SMSC accepts at once but answers 100 ms after our timeout.
    smsc.onSubmit = (pdu, session, s) => {
      const id = `m${s.submits.length}`;
      setTimeout(() => session.send(pdu.response({ message_id: id })), 400);
    };
    const binds: number[] = [];
    client.on("state", (state) => state === "bound" && binds.push(Date.now()));
    client.start();
    // Before the fix the part went again on the same session at 300 ms (the SMSC accepting both:
    // two SMS on the handset), and the first answer was thrown away when it came.
    await expect(client.submitText(sms("slow answer"))).resolves.toEqual({ messageIds: ["m1"] });
    expect(smsc.submits.map(textOf)).toEqual(["slow answer"]);
    expect(binds).toHaveLength(1);
    // The session is trusted again: the next message goes on it.
    await expect(client.submitText(sms("next"))).resolves.toEqual({ messageIds: ["m2"] });
    expect(binds).toHaveLength(1);
  });

  it("sends nothing more on a session whose answer stays overdue, closes it, and resends only after the reconnect", async () => {
    const { smsc, client } = await setup({ responseTimeoutMs: 200 });
    const sessionOf = new Map<string, smpp.Session[]>();
    smsc.onSubmit = (pdu, session, s) => {
      const text = textOf(pdu);
      sessionOf.set(text, [...(sessionOf.get(text) ?? []), session]);
      if (s.submits.length === 1) return; // the first copy of "lost" is never answered
      session.send(pdu.response({ message_id: `m${s.submits.length}` }));
    };
    const binds: number[] = [];
    client.on("state", (state) => state === "bound" && binds.push(Date.now()));
    client.start();
    await waitForState(client, "bound");
    const lost = client.submitText(sms("lost"));
    await new Promise((resolve) => setTimeout(resolve, 250)); // "lost" is overdue now
    const queued = client.submitText(sms("queued behind"));
    await expect(lost).resolves.toEqual({ messageIds: ["m2"] });
    await expect(queued).resolves.toEqual({ messageIds: ["m3"] });
    expect(binds).toHaveLength(2);
    // Each copy of "lost" on its own session; "queued behind" waited for the new session.
    const [first, second] = sessionOf.get("lost")!;
    expect(first).not.toBe(second);
    expect(sessionOf.get("queued behind")).toEqual([second]);
  });
});

describe("malformed PDU from the SMSC", () => {
  /** The next PDU of `command` the SMSC's side of the session receives, or "none" within 1.5 s. */
  const nextOn = (session: smpp.Session, command: string) =>
    new Promise<smpp.PDU | "none">((resolve) => {
      const timer = setTimeout(() => resolve("none"), 1_500);
      session.once(command, (pdu: smpp.PDU) => (clearTimeout(timer), resolve(pdu)));
    });

  it("answers a deliver_sm that does not parse with ESME_RINVMSGLEN and its sequence number, and keeps the bind", async () => {
    const { smsc, client } = await setup({ responseTimeoutMs: 300 });
    const binds: number[] = [];
    client.on("state", (state) => state === "bound" && binds.push(Date.now()));
    const bad: BadPdu[] = [];
    client.on("badPdu", (b) => bad.push(b));
    client.start();
    await waitForState(client, "bound");
    const smscSide = smsc.bound[0]!;
    const answer = nextOn(smscSide, "deliver_sm_resp");
    smscSide.socket.write(truncatedTlvDeliverSm());
    // Before the fix the session was dropped unanswered, and an SMSC delivers such a PDU again
    // after the rebind, and again: the link went down and up for ever.
    expect(await answer).toMatchObject({ sequence_number: 7, command_status: ESME_RINVMSGLEN });
    expect(bad).toMatchObject([{ commandId: 0x05, sequenceNumber: 7, answered: ESME_RINVMSGLEN, closed: false }]);
    await expect(client.submitText(sms("after the bad PDU"))).resolves.toEqual({ messageIds: ["m1"] });
    expect(smsc.submits.map(textOf)).toEqual(["after the bad PDU"]);
    expect(binds).toHaveLength(1);
  });

  it("answers a command id it does not know with generic_nack ESME_RINVCMDID, and keeps the bind", async () => {
    const { smsc, client } = await setup();
    client.start();
    await waitForState(client, "bound");
    const smscSide = smsc.bound[0]!;
    const answer = nextOn(smscSide, "generic_nack");
    smscSide.socket.write(rawHeader(16, 0x00000999, 9)); // before the fix: never answered
    expect(await answer).toMatchObject({ sequence_number: 9, command_status: ESME_RINVCMDID });
    await expect(client.submitText(sms("still bound"))).resolves.toEqual({ messageIds: ["m1"] });
    expect(smsc.binds).toHaveLength(1);
  });

  it("answers a command_length under 16 with generic_nack ESME_RINVCMDLEN and reconnects instead of reading nothing more", async () => {
    const { smsc, client } = await setup();
    client.start();
    await waitForState(client, "bound");
    const smscSide = smsc.bound[0]!;
    const answer = nextOn(smscSide, "generic_nack");
    smscSide.socket.write(Buffer.from([0, 0, 0, 4]));
    // Before the fix the package waited for ever for the rest of it: no answer, the session
    // bound but deaf until the keep-alive (30 s by default) gave up on it.
    expect(await answer).toMatchObject({ command_status: ESME_RINVCMDLEN });
    await expect.poll(() => smsc.binds.length, { timeout: 1_500 }).toBe(2);
    await waitForState(client, "bound");
    await expect(client.submitText(sms("on the new session"))).resolves.toEqual({ messageIds: ["m1"] });
  });
});

describe("link drop", () => {
  it("acknowledges each of 200 messages exactly once across a dropped connection", async () => {
    const { smsc, client } = await setup({ windowSize: 20 });
    const acked = new Map<string, number>();
    const dropped = new Set<smpp.Session>();
    smsc.onSubmit = (pdu, session, s) => {
      if (dropped.has(session)) return; // this connection is going away: no more answers on it
      if (s.submits.length === 80) {
        // end() flushes the answers already written before the FIN, so "acked" stays exact.
        dropped.add(session);
        session.close();
        return;
      }
      const id = textOf(pdu);
      acked.set(id, (acked.get(id) ?? 0) + 1);
      session.send(pdu.response({ message_id: id }));
    };
    const binds: number[] = [];
    client.on("state", (state) => state === "bound" && binds.push(Date.now()));
    client.start();
    const ids = Array.from({ length: 200 }, (_, i) => `msg-${i}`);
    const results = await Promise.all(ids.map((id) => client.submitText(sms(id))));
    expect(results.map((r) => r.messageIds[0])).toEqual(ids);
    expect(binds).toHaveLength(2);
    expect([...acked.keys()].sort()).toEqual([...ids].sort());
    expect([...acked.values()].every((n) => n === 1)).toBe(true);
    expect(smsc.submits.length).toBeGreaterThan(200); // the unanswered ones really were sent again
  });

  it("refuses queued messages on close instead of leaving them pending", async () => {
    const { smsc, client } = await setup({ windowSize: 1 });
    smsc.onSubmit = (pdu, session) => setTimeout(() => session.send(pdu.response({ message_id: "a" })), 30);
    client.start();
    const first = client.submitText(sms("first"));
    const second = client.submitText(sms("second"));
    const outcomes = Promise.allSettled([first, second]);
    await waitForState(client, "bound");
    await client.close();
    const [one, two] = await outcomes;
    expect(one).toEqual({ status: "fulfilled", value: { messageIds: ["a"] } });
    expect(two).toMatchObject({ status: "rejected", reason: expect.any(SmppUnavailableError) });
    expect(smsc.unbinds).toBe(1);
  });
});
