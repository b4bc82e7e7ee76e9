/**
 * A response PDU whose body does not parse (a truncated TLV after the message_id …), over real
 * sockets with the `smpp` package as the peer. Its header is sound (the stream is framed by
 * command_length), and SMPP 3.4 makes the header's command_status the outcome of the request;
 * a response is never answered (generic_nack is for requests), so nothing goes back. The reader
 * used to drop it: the request waiting for it timed out, and the part went again after a
 * reconnect (the client link) or as a retryable failure (a server link's deliver_sm): an SMSC
 * that had said ESME_ROK delivered it twice. Now the header settles the request, with the body's
 * mandatory fields as far as they read, and the PDU is reported (logged) as not readable.
 */
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MtSubmitError, type MtMessage } from "../../src/sms/mt-link.js";
import { ServerLink } from "../../src/sms/server/server-link.js";
import { ESME_ROK, ESME_RSYSERR, SmppSubmitError } from "../../src/sms/smpp-status.js";
import { bindTelcoToServerLink, encodePdu, goodBind, startScriptableSmsc, type ScriptableSmsc, type TelcoOnServerLink } from "../helpers/scriptable-smsc.js";

const ESME_RINVDSTADR = 0x0b;

/** `response` encoded, then a message_state TLV that announces one byte of value it does not have: the package's parser throws. */
function withTruncatedTlv(response: smpp.PDU): Buffer {
  const bad = Buffer.concat([encodePdu(response), Buffer.from([0x04, 0x27, 0x00, 0x01])]);
  bad.writeUInt32BE(bad.length, 0);
  return bad;
}

/** An error response with a body after all (some SMSCs send the message_id field anyway), then the truncated TLV. */
function errorWithTruncatedTlv(command: string, sequence: number, status: number): Buffer {
  const body = Buffer.from([0x00, 0x04, 0x27, 0x00, 0x01]); // message_id "", message_state without its value
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + body.length, 0);
  header.writeUInt32BE(new smpp.PDU(command).command_id, 4);
  header.writeUInt32BE(status, 8);
  header.writeUInt32BE(sequence, 12);
  return Buffer.concat([header, body]);
}

/** +25471278xxxx: this file's range. */
const number = (i: number) => `25471278${String(i).padStart(4, "0")}`;

describe("a client link, when its SMSC's response does not parse", () => {
  let smsc: ScriptableSmsc;

  beforeAll(async () => {
    smsc = await startScriptableSmsc();
  });

  afterEach(() => smsc.reset());

  afterAll(() => smsc?.close());

  // A bind that does not come back within 500 ms is tried again (the bind test's case).
  const start = () => smsc.start({ bindTimeoutMs: 500 });

  it("settles an ESME_ROK submit_sm_resp by its header, with its message_id, and never sends the part again", async () => {
    smsc.answerBind = goodBind;
    smsc.answer = (pdu, session) => void session.socket.write(withTruncatedTlv(pdu.response({ message_id: `smsc-${smsc.submits.length}` })));
    const { client, bad } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    // Before the fix the answer was dropped: overdue, the session closed, the part sent again on
    // the next one (a second SMS to the subscriber), and after maxAttempts it failed as a timeout.
    await expect(client.submitText({ from: "22555", to: number(1), text: "once only" })).resolves.toEqual({ messageIds: ["smsc-1"] });
    await new Promise((resolve) => setTimeout(resolve, 800)); // beyond two response timeouts
    expect(smsc.submits).toHaveLength(1);
    expect(smsc.binds).toHaveLength(1);
    expect(bad).toMatchObject([{ commandId: 0x80000004, sequenceNumber: smsc.submits[0]!.sequence_number, answered: null, closed: false, settled: true }]);
  });

  it("settles an error submit_sm_resp by its header's status at once", async () => {
    smsc.answerBind = goodBind;
    smsc.answer = (pdu, session) => void session.socket.write(errorWithTruncatedTlv("submit_sm_resp", pdu.sequence_number, ESME_RINVDSTADR));
    const { client } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    const refused = await client.submitText({ from: "22555", to: number(2), text: "refused" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SmppSubmitError);
    expect((refused as SmppSubmitError).status).toBe(ESME_RINVDSTADR);
    expect(smsc.submits).toHaveLength(1);
  });

  it("never takes a generic_nack for an acceptance, even one whose command_status is 0", async () => {
    smsc.answerBind = goodBind;
    // SMPP 3.4 §4.3.1: a generic_nack answers a request that could not be read; it accepts nothing.
    smsc.answer = (pdu, session) => void session.send(new smpp.PDU("generic_nack", { sequence_number: pdu.sequence_number, command_status: ESME_ROK }));
    const { client } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    const refused = await client.submitText({ from: "22555", to: number(4), text: "nacked" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SmppSubmitError);
    expect((refused as SmppSubmitError).status).toBe(ESME_RSYSERR);
  });

  it("binds on an ESME_ROK bind_transceiver_resp whose body does not parse, instead of timing out and binding again for ever", async () => {
    smsc.answerBind = (pdu, session) => void session.socket.write(withTruncatedTlv(pdu.response({ system_id: "test-smsc" })));
    smsc.answer = (pdu, session) => void session.send(pdu.response({ message_id: "smsc-ok" }));
    const { client } = start();
    await expect.poll(() => client.state(), { timeout: 3_000 }).toBe("bound");
    await expect(client.submitText({ from: "22555", to: number(3), text: "after the bind" })).resolves.toEqual({ messageIds: ["smsc-ok"] });
    expect(smsc.binds).toHaveLength(1);
  });
});

describe("a server link, when the telco's deliver_sm_resp does not parse", () => {
  let rig: TelcoOnServerLink;

  beforeAll(async () => {
    rig = await bindTelcoToServerLink("telco");
  });

  afterAll(() => rig?.close());

  const message = (to: string): MtMessage => ({
    ref: "m",
    from: "22555",
    to,
    dataCoding: 0,
    udhi: false,
    parts: [{ index: 0, payload: Buffer.from("hello") }],
    registeredDelivery: false,
  });

  it("settles an ESME_ROK deliver_sm_resp by its header: the part is accepted once, not failed as a timeout and sent again", async () => {
    // The telco answers through raw bytes instead of the helper's own deliver_sm_resp.
    rig.telco.session.removeAllListeners("deliver_sm");
    const delivered: smpp.PDU[] = [];
    rig.telco.session.on("deliver_sm", (pdu: smpp.PDU) => {
      delivered.push(pdu);
      rig.telco.session.socket.write(withTruncatedTlv(pdu.response({ message_id: "telco-1" })));
    });
    const link = new ServerLink("telco", rig.listener);
    // Before the fix: no answer heard, SmppTimeoutError (retryable: the outbox sends it again).
    await expect(link.submit(message(number(10)))).resolves.toEqual({ smscMessageIds: ["telco-1"] });
    expect(delivered).toHaveLength(1);
    expect(rig.warnings.map((w) => w.msg)).toContain("smpp response not readable: settled by its header");
  });

  it("fails a deliver_sm answered by a generic_nack with command_status 0 instead of taking it for delivered", async () => {
    rig.telco.session.removeAllListeners("deliver_sm");
    rig.telco.session.on("deliver_sm", (pdu: smpp.PDU) => void rig.telco.session.send(new smpp.PDU("generic_nack", { sequence_number: pdu.sequence_number, command_status: ESME_ROK })));
    const link = new ServerLink("telco", rig.listener);
    const refused = await link.submit(message(number(11))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MtSubmitError);
    expect((refused as MtSubmitError).cause).toBeInstanceOf(SmppSubmitError);
    expect(((refused as MtSubmitError).cause as SmppSubmitError).status).toBe(ESME_RSYSERR);
  });
});
