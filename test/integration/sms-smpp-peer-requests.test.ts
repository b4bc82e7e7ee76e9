/**
 * SMPP 3.4 requests fingate does not serve, from the peer of either link mode, over real sockets
 * with the `smpp` package as the peer. Each request must get an answer with its sequence number:
 * its own *_resp with ESME_RINVCMDID when the command is one SMPP knows (query_sm, replace_sm,
 * cancel_sm …), generic_nack ESME_RINVCMDID when its command id is unknown. Left unanswered, the
 * peer waits out its response timer with its window slot taken, and many SMSCs then drop the bind.
 * alert_notification and outbind have no response in SMPP 3.4: they are not answered, and must
 * not take the session (or the process) down.
 *
 * Without the fix: the client link answered none of UNSERVED; the listener answered an unknown
 * command id before a bind ESME_RINVBNDSTS, and threw (uncaught: the process ended) on
 * alert_notification and outbind. The client's alert_notification test and the listener's bound
 * UNSERVED test passed before too: they keep what was right.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { ESME_RINVBNDSTS, ESME_RINVCMDID } from "../../src/sms/server/status-codes.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { SmppClient, type LinkState } from "../../src/sms/smpp-client.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const PASSWORD = "pa55";

/** The requests an SMSC (or a telco bound to us) may send that fingate does not serve, with fields the package can encode. */
const UNSERVED: Array<[string, smpp.PduOptions]> = [
  ["query_sm", { message_id: "abc", source_addr: "22555" }],
  ["replace_sm", { message_id: "abc", source_addr: "22555", short_message: "x" }],
  ["cancel_sm", { message_id: "abc", source_addr: "22555", destination_addr: "254712780001" }],
  ["submit_multi", { source_addr: "22555", short_message: "x" }],
  ["query_broadcast_sm", { message_id: "abc", source_addr: "22555" }],
  ["cancel_broadcast_sm", { message_id: "abc", source_addr: "22555" }],
];

/** Sends a request and resolves with its answer, or "none" when none came within `ms`. */
function ask(session: smpp.Session, command: string, options: smpp.PduOptions, ms = 1_000): Promise<smpp.PDU | "none"> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve("none"), ms);
    const sent = session.send(new smpp.PDU(command, options), (response) => (clearTimeout(timer), resolve(response)));
    if (!sent) reject(new Error("socket not writable"));
  });
}

/** A bare header with an arbitrary command id; resolves with what answers `sequence`, or "none". */
function askRaw(session: smpp.Session, commandId: number, sequence: number, ms = 1_000): Promise<smpp.PDU | "none"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => (session.off("pdu", listener), resolve("none")), ms);
    const listener = (pdu: smpp.PDU) => {
      if (pdu.sequence_number !== sequence || !pdu.isResponse()) return;
      clearTimeout(timer);
      session.off("pdu", listener);
      resolve(pdu);
    };
    session.on("pdu", listener);
    const header = Buffer.alloc(16);
    header.writeUInt32BE(16, 0);
    header.writeUInt32BE(commandId, 4);
    header.writeUInt32BE(sequence, 12);
    session.socket.write(header);
  });
}

describe("a client link, asked by its SMSC", () => {
  let server: smpp.Server;
  let port: number;
  let client: SmppClient | undefined;
  const bound: smpp.Session[] = [];
  const submits: smpp.PDU[] = [];

  beforeAll(async () => {
    server = smpp.createServer((session) => {
      session.on("error", () => undefined);
      session.on("bind_transceiver", (pdu: smpp.PDU) => {
        bound.push(session);
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
    await client?.close();
    client = undefined;
  });

  afterAll(async () => {
    for (const session of [...server.sessions]) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function boundClient(): Promise<{ client: SmppClient; smscSide: smpp.Session; states: LinkState[] }> {
    const before = bound.length;
    const states: LinkState[] = [];
    client = new SmppClient(
      { host: "127.0.0.1", port, systemId: "fingate", password: PASSWORD, responseTimeoutMs: 1_000, reconnectBackoff: { initialMs: 20, maxMs: 200, jitterRatio: 0 } },
      { random: () => 0 },
    );
    client.on("state", (s) => states.push(s));
    client.start();
    await expect.poll(() => client!.state(), { timeout: 5_000 }).toBe("bound");
    expect(bound.length).toBe(before + 1);
    return { client, smscSide: bound.at(-1)!, states };
  }

  it("answers each request it does not serve with its *_resp, ESME_RINVCMDID and its sequence number", async () => {
    const { client, smscSide, states } = await boundClient();
    for (const [command, options] of UNSERVED) {
      // Before the fix none of these was answered: the SMSC waited each out.
      const answer = await ask(smscSide, command, options);
      expect(answer, command).not.toBe("none");
      expect(answer).toMatchObject({ command: `${command}_resp`, command_status: ESME_RINVCMDID });
    }
    // A submit_sm or a bind is not for an ESME to take either.
    expect(await ask(smscSide, "submit_sm", { source_addr: "22555", destination_addr: "254712780002", short_message: "x" })).toMatchObject({
      command: "submit_sm_resp",
      command_status: ESME_RINVCMDID,
    });
    expect(await ask(smscSide, "bind_transmitter", { system_id: "x", password: "y" })).toMatchObject({ command: "bind_transmitter_resp", command_status: ESME_RINVCMDID });
    // The sequence number is the request's own.
    const seq = 0x00abcdef;
    expect(await ask(smscSide, "query_sm", { message_id: "abc", source_addr: "22555", sequence_number: seq })).toMatchObject({ sequence_number: seq });
    // An unknown command id still gets generic_nack ESME_RINVCMDID.
    expect(await askRaw(smscSide, 0x00000999, 4242)).toMatchObject({ command: "generic_nack", command_status: ESME_RINVCMDID, sequence_number: 4242 });
    // The bind is kept and works.
    await expect(client.submitText({ from: "22555", to: "254712780003", text: "still bound" })).resolves.toEqual({ messageIds: [`m${submits.length + 1}`] });
    expect(states.filter((s) => s === "bound")).toHaveLength(1);
  });

  it("does not answer alert_notification or outbind (SMPP 3.4 gives them no response), and keeps the bind", async () => {
    const { client, smscSide, states } = await boundClient();
    expect(await ask(smscSide, "alert_notification", { source_addr: "254712780004", esme_addr: "22555" }, 300)).toBe("none");
    expect(await ask(smscSide, "outbind", { system_id: "test-smsc", password: "x" }, 300)).toBe("none");
    expect(await ask(smscSide, "enquire_link", {})).toMatchObject({ command: "enquire_link_resp", command_status: ESME_ROK });
    await expect(client.submitText({ from: "22555", to: "254712780005", text: "after alert" })).resolves.toEqual({ messageIds: [`m${submits.length + 1}`] });
    expect(states.filter((s) => s === "bound")).toHaveLength(1);
  });
});

describe("our listener, asked by a telco", () => {
  let listener: SmppListener;
  let listenPort: number;
  const telcos: TestTelco[] = [];
  const warnings: string[] = [];

  beforeAll(async () => {
    const link = { id: "asked", institutionId: "bank", maxBinds: 4, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
    const passwordHash = await hashLinkPassword("Secret1!");
    listener = new SmppListener({
      account: (systemId) => (systemId === "asked" ? { link, passwordHash } : null),
      onInbound: async () => ({ status: ESME_ROK }),
      logger: { info: () => undefined, warn: (_o, msg) => void warnings.push(msg) },
    });
    listenPort = await listener.listen(0, "127.0.0.1");
  });

  afterAll(async () => {
    for (const t of telcos) await t.close();
    await listener?.close();
  });

  async function telco(bind: boolean): Promise<TestTelco> {
    const t = await TestTelco.connect(listenPort);
    telcos.push(t);
    if (bind) expect(await t.bind("asked", "Secret1!")).toBe(ESME_ROK);
    return t;
  }

  it("answers each request it does not serve with its *_resp, ESME_RINVCMDID and its sequence number", async () => {
    const t = await telco(true);
    for (const [command, options] of UNSERVED) {
      expect(await ask(t.session, command, options), command).toMatchObject({ command: `${command}_resp`, command_status: ESME_RINVCMDID });
    }
    expect(await askRaw(t.session, 0x00000999, 77)).toMatchObject({ command: "generic_nack", command_status: ESME_RINVCMDID, sequence_number: 77 });
    expect(listener.sessions("asked")).toHaveLength(1);
  });

  it("answers an unknown command id before a bind with generic_nack ESME_RINVCMDID, a known one with ESME_RINVBNDSTS", async () => {
    const t = await telco(false);
    expect(await askRaw(t.session, 0x00000999, 78)).toMatchObject({ command: "generic_nack", command_status: ESME_RINVCMDID, sequence_number: 78 });
    expect(await ask(t.session, "query_sm", { message_id: "abc", source_addr: "22555" })).toMatchObject({ command: "query_sm_resp", command_status: ESME_RINVBNDSTS });
    expect(await t.bind("asked", "Secret1!")).toBe(ESME_ROK);
  });

  it("does not answer alert_notification or outbind, bound or not, and goes on (they used to throw in the reader)", async () => {
    const before = await telco(false);
    expect(await ask(before.session, "outbind", { system_id: "x", password: "y" }, 300)).toBe("none");
    expect(await ask(before.session, "alert_notification", { source_addr: "254712780006", esme_addr: "22555" }, 300)).toBe("none");
    expect(await before.bind("asked", "Secret1!")).toBe(ESME_ROK);
    expect(await ask(before.session, "alert_notification", { source_addr: "254712780007", esme_addr: "22555" }, 300)).toBe("none");
    expect(await ask(before.session, "outbind", { system_id: "x", password: "y" }, 300)).toBe("none");
    expect(await ask(before.session, "enquire_link", {})).toMatchObject({ command: "enquire_link_resp", command_status: ESME_ROK });
    expect((await before.mo("254712780008", "22555", "BAL")).command_status).toBe(ESME_ROK);
    expect(warnings).toContain("smpp request that has no response ignored");
  });
});
