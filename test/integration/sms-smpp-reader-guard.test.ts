/**
 * A handler that throws while a PDU is handled, over real sockets: the SMPP reader runs in the
 * socket's 'readable' event, so a throw there (in a listener of ours or the package's emit of the
 * PDU) was uncaught and ended the process, every link and session with it. Now the reader catches
 * it, logs it (command id, sequence number and link; not the error's message, which may quote the
 * PDU's text) and closes that session only: a server session is unbound, a client link reconnects.
 *
 * The PDUs are real (an its_session_info TLV one octet long where SMPP gives it two, a text that is
 * not what a handler expected); the handlers are the listener's onInbound and a client link's
 * 'deliver' listener, written as a careless one would be (synchronous, reading the TLV as two
 * octets). fingate's own handlers read these PDUs defensively today: these tests keep a future
 * slip in one of them from taking the process down.
 *
 * Without the fix each test fails: the throw reaches process 'uncaughtException' (recorded here and
 * reported by vitest as an unhandled error), and the bad session stays open.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { SmppListener, type InboundAnswer } from "../../src/sms/server/smpp-listener.js";
import { SmppClient, type LinkState } from "../../src/sms/smpp-client.js";
import { readPdusSafely, type PduFailure } from "../../src/sms/smpp-framing.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

/** +25471282xxxx: this file's range. */
const number = (i: number) => `25471282${String(i).padStart(4, "0")}`;

const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);
beforeAll(() => void process.on("uncaughtException", onUncaught));
afterAll(() => void process.off("uncaughtException", onUncaught));

/** "closed" once the session's socket is, or "open" still after `ms`. */
const closed = (session: smpp.Session, ms = 3_000): Promise<"closed" | "open"> =>
  session.socket.destroyed
    ? Promise.resolve("closed")
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve("open"), ms);
        session.socket.once("close", () => (clearTimeout(timer), resolve("closed")));
      });

/** Reads its_session_info as the two octets SMPP 3.4 gives it: one octet throws RangeError, synchronously. */
function sessionNumberOf(pdu: smpp.PDU): number | null {
  return Buffer.isBuffer(pdu.its_session_info) ? pdu.its_session_info.readUInt16BE(0) : null;
}

describe("our listener, when handling a telco's PDU throws", () => {
  let listener: SmppListener;
  let listenPort: number;
  const telcos: TestTelco[] = [];
  const warnings: Array<{ msg: string; obj: object }> = [];
  const handled: string[] = [];

  beforeAll(async () => {
    const link = { id: "guarded", institutionId: "bank", maxBinds: 4, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
    const passwordHash = await hashLinkPassword("Secret1!");
    listener = new SmppListener({
      account: (systemId) => (systemId === "guarded" ? { link, passwordHash } : null),
      // Synchronous, as a handler may be written: its throws come out in the reader.
      onInbound: (_link, pdu): Promise<InboundAnswer> => {
        sessionNumberOf(pdu);
        // Short code 22599 takes JSON; Node's SyntaxError quotes the text (here a PIN).
        if (pdu.destination_addr === "22599") JSON.parse(String((pdu.short_message as { message?: string }).message));
        handled.push(String(pdu.source_addr));
        return Promise.resolve({ status: ESME_ROK });
      },
      logger: { info: () => undefined, warn: (obj, msg) => void warnings.push({ msg, obj }) },
    });
    listenPort = await listener.listen(0, "127.0.0.1");
  });

  afterAll(async () => {
    for (const t of telcos) await t.close();
    await listener?.close();
  });

  async function boundTelco(): Promise<TestTelco> {
    const t = await TestTelco.connect(listenPort);
    telcos.push(t);
    expect(await t.bind("guarded", "Secret1!")).toBe(ESME_ROK);
    return t;
  }

  it("closes only the session whose PDU made the handler throw, logs it, and the process and the other binds go on", async () => {
    const bad = await boundTelco();
    const good = await boundTelco();
    expect(listener.sessions("guarded")).toHaveLength(2);
    const gone = closed(bad.session);
    // A submit_sm whose its_session_info is one octet: the handler throws RangeError.
    bad.session.send(new smpp.PDU("submit_sm", { source_addr_ton: 1, source_addr: number(1), destination_addr: "22555", short_message: "BAL", its_session_info: Buffer.from([7]), sequence_number: 4_001 }));
    expect(await gone).toBe("closed"); // before the fix: still open (and the process had an uncaught RangeError)
    await expect.poll(() => listener.sessions("guarded").length).toBe(1);
    expect(uncaught).toEqual([]);
    const failure = warnings.find((w) => w.msg === "smpp pdu handling failed: session closed")?.obj as (PduFailure & { link: string }) | undefined;
    expect(failure).toMatchObject({ link: "guarded", commandId: 0x00000004, command: "submit_sm", sequenceNumber: 4_001, error: "RangeError" });
    // The other bind was not touched, and a new bind is taken.
    expect((await good.mo(number(2), "22555", "BAL")).command_status).toBe(ESME_ROK);
    const again = await boundTelco();
    expect((await again.mo(number(3), "22555", "BAL")).command_status).toBe(ESME_ROK);
    expect(handled).toEqual([number(2), number(3)]);
  });

  it("logs a throw whose message quotes the PDU's text without that text", async () => {
    const bad = await boundTelco();
    const gone = closed(bad.session);
    warnings.length = 0;
    bad.session.send(new smpp.PDU("submit_sm", { source_addr_ton: 1, source_addr: number(4), destination_addr: "22599", short_message: "SEND 254712820005 100 PIN 4321", sequence_number: 4_002 }));
    expect(await gone).toBe("closed");
    expect(uncaught).toEqual([]);
    const logged = warnings.filter((w) => w.msg === "smpp pdu handling failed: session closed");
    expect(logged).toHaveLength(1);
    expect(logged[0]!.obj).toMatchObject({ commandId: 0x00000004, sequenceNumber: 4_002, error: "SyntaxError" });
    expect(JSON.stringify(logged[0]!.obj)).not.toMatch(/4321|SEND|254712820005/);
  });
});

describe("a client link, when handling its SMSC's PDU throws", () => {
  let server: smpp.Server;
  let port: number;
  const clients: SmppClient[] = [];
  /** The SMSC's side of each bind, by the binding system_id. */
  const binds = new Map<string, smpp.Session[]>();
  const submits: smpp.PDU[] = [];

  beforeAll(async () => {
    server = smpp.createServer((session) => {
      session.on("error", () => undefined);
      session.on("bind_transceiver", (pdu: smpp.PDU) => {
        const id = String(pdu.system_id);
        binds.set(id, [...(binds.get(id) ?? []), session]);
        session.send(pdu.response({ system_id: "test-smsc" }));
      });
      session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("submit_sm", (pdu: smpp.PDU) => {
        submits.push(pdu);
        session.send(pdu.response({ message_id: `m${submits.length}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  afterAll(async () => {
    for (const session of [...server.sessions]) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function start(systemId: string): { client: SmppClient; states: LinkState[]; failures: PduFailure[]; delivered: string[] } {
    const states: LinkState[] = [];
    const failures: PduFailure[] = [];
    const delivered: string[] = [];
    const client = new SmppClient(
      { id: systemId, host: "127.0.0.1", port, systemId, password: "pa55", responseTimeoutMs: 1_000, reconnectBackoff: { initialMs: 20, maxMs: 100, jitterRatio: 0 } },
      { random: () => 0 },
    );
    // A careless 'deliver' listener: synchronous, and reads its_session_info as two octets.
    client.on("deliver", (pdu) => {
      sessionNumberOf(pdu);
      delivered.push(String(pdu.source_addr));
    });
    client.on("state", (s) => states.push(s));
    client.on("pduFailed", (f) => failures.push(f));
    client.start();
    clients.push(client);
    return { client, states, failures, delivered };
  }

  it("reconnects the link whose deliver_sm made a listener throw; the process and the other link go on", async () => {
    const one = start("guard-one");
    const two = start("guard-two");
    await expect.poll(() => one.client.state() === "bound" && two.client.state() === "bound", { timeout: 5_000 }).toBe(true);
    const smscSide = binds.get("guard-one")![0]!;
    const answers: smpp.PDU[] = [];
    smscSide.on("deliver_sm_resp", (pdu: smpp.PDU) => void answers.push(pdu));
    smscSide.send(new smpp.PDU("deliver_sm", { source_addr: number(10), destination_addr: "22555", short_message: "hi", its_session_info: Buffer.from([1]), sequence_number: 5_001 }));
    expect(await closed(smscSide)).toBe("closed"); // before the fix: still open (and the process had an uncaught RangeError)
    expect(uncaught).toEqual([]);
    expect(one.failures).toMatchObject([{ commandId: 0x00000005, command: "deliver_sm", sequenceNumber: 5_001, error: "RangeError" }]);
    // It was answered before the listener ran (the client answers at once): the SMSC does not send it again.
    expect(answers).toMatchObject([{ command_status: ESME_ROK, sequence_number: 5_001 }]);
    // The link reconnects as after a dropped connection, and works.
    await expect.poll(() => binds.get("guard-one")?.length, { timeout: 5_000 }).toBe(2);
    await expect.poll(() => one.client.state(), { timeout: 5_000 }).toBe("bound");
    expect(one.states).toContain("reconnecting");
    await expect(one.client.submitText({ from: "22555", to: number(11), text: "after" })).resolves.toMatchObject({ messageIds: [expect.any(String)] });
    // The other link kept its bind and works; a good deliver_sm reaches its listener.
    expect(binds.get("guard-two")).toHaveLength(1);
    expect(two.states.filter((s) => s === "bound")).toHaveLength(1);
    await expect(two.client.submitText({ from: "22555", to: number(12), text: "other" })).resolves.toMatchObject({ messageIds: [expect.any(String)] });
    binds.get("guard-two")![0]!.send(new smpp.PDU("deliver_sm", { source_addr: number(13), destination_addr: "22555", short_message: "ok" }));
    await expect.poll(() => two.delivered).toEqual([number(13)]);
    expect(one.failures).toHaveLength(1);
  });
});

describe("the reader, when a listener throws on a response", () => {
  it("still settles the request the response answers, then closes the session", async () => {
    const server = smpp.createServer((session) => {
      session.on("error", () => undefined);
      session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    try {
      const session = smpp.connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port });
      readPdusSafely(session);
      session.on("error", () => undefined);
      const failures: PduFailure[] = [];
      session.on("pdu_failed", (f: PduFailure) => void failures.push(f));
      session.on("enquire_link_resp", () => {
        throw new TypeError("a listener's slip");
      });
      await new Promise((resolve) => session.on("connect", resolve));
      const gone = closed(session);
      // Before the fix the callback never ran (the throw came first) and the error was uncaught.
      const answered = await new Promise<smpp.PDU | "none">((resolve) => {
        const timer = setTimeout(() => resolve("none"), 2_000);
        session.send(new smpp.PDU("enquire_link"), (pdu) => (clearTimeout(timer), resolve(pdu)));
      });
      expect(answered).toMatchObject({ command: "enquire_link_resp", command_status: ESME_ROK });
      expect(await gone).toBe("closed");
      expect(uncaught).toEqual([]);
      expect(failures).toMatchObject([{ command: "enquire_link_resp", commandId: 0x80000015, error: "TypeError" }]);
      expect(failures[0]!.at.length).toBeGreaterThan(0);
    } finally {
      for (const s of [...server.sessions]) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
