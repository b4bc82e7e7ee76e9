/**
 * A response PDU over the reader's 16 KiB limit (a submit_sm_resp or deliver_sm_resp with a vendor
 * TLV of 17 000 octets), over real sockets. Its body is skipped, as a request's is, but it used to
 * be dropped as well: the request waiting for it timed out, and the part went again after the
 * reconnect (client link) or failed as retryable (server link's deliver_sm): a second SMS when the
 * peer had said ESME_ROK. Now its header settles the request, with the message_id read from the
 * body's first octets, and the stream goes on past the skipped body.
 */
import type smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { MtMessage } from "../../src/sms/mt-link.js";
import { ServerLink } from "../../src/sms/server/server-link.js";
import { ESME_ROK, SmppSubmitError } from "../../src/sms/smpp-status.js";
import { bindTelcoToServerLink, encodePdu, startScriptableSmsc, type ScriptableSmsc, type TelcoOnServerLink } from "../helpers/scriptable-smsc.js";

const ESME_RINVDSTADR = 0x0b;
const VENDOR_TLV_LENGTH = 17_000;

/** +25471282xxxx: this file's range (the 7xxx block). */
const number = (i: number) => `2547128270${String(i).padStart(2, "0")}`;

/** `response` encoded, then a vendor TLV (0x1400) of VENDOR_TLV_LENGTH octets: over 16 KiB in all. */
function oversized(response: smpp.PDU, status = ESME_ROK): Buffer {
  const tlv = Buffer.alloc(4 + VENDOR_TLV_LENGTH, 0x41);
  tlv.writeUInt16BE(0x1400, 0);
  tlv.writeUInt16BE(VENDOR_TLV_LENGTH, 2);
  const bytes = Buffer.concat([encodePdu(response), tlv]);
  bytes.writeUInt32BE(bytes.length, 0);
  bytes.writeUInt32BE(status, 8);
  return bytes;
}

describe("a client link, when its SMSC's submit_sm_resp is over 16 KiB", () => {
  let smsc: ScriptableSmsc;

  beforeAll(async () => {
    smsc = await startScriptableSmsc();
  });

  afterEach(() => smsc.reset());

  afterAll(() => smsc?.close());

  it("settles an ESME_ROK one by its header, with its message_id, never sends the part again, and reads on", async () => {
    // The first answer is oversized, the next ones normal: the stream must still be in step after it.
    smsc.answer = (pdu, session) =>
      void (smsc.submits.length === 1 ? session.socket.write(oversized(pdu.response({ message_id: "big-1" }))) : session.send(pdu.response({ message_id: `m${smsc.submits.length}` })));
    const { client, bad } = smsc.start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    // Before the fix: dropped, overdue, the session closed and the part sent again (a second SMS).
    await expect(client.submitText({ from: "22555", to: number(1), text: "once only" })).resolves.toEqual({ messageIds: ["big-1"] });
    await expect(client.submitText({ from: "22555", to: number(2), text: "next" })).resolves.toEqual({ messageIds: ["m2"] });
    await new Promise((resolve) => setTimeout(resolve, 700)); // beyond two response timeouts
    expect(smsc.submits).toHaveLength(2);
    expect(smsc.binds).toHaveLength(1);
    expect(bad).toMatchObject([{ commandId: 0x80000004, sequenceNumber: smsc.submits[0]!.sequence_number, answered: null, settled: true, closed: false }]);
    expect(bad[0]!.reason).toMatch(/over 16384/);
  });

  it("settles an error one by its header's status at once", async () => {
    smsc.answer = (pdu, session) => void session.socket.write(oversized(pdu.response({ message_id: "" }), ESME_RINVDSTADR));
    const { client } = smsc.start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    const refused = await client.submitText({ from: "22555", to: number(3), text: "refused" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SmppSubmitError);
    expect((refused as SmppSubmitError).status).toBe(ESME_RINVDSTADR);
    expect(smsc.submits).toHaveLength(1);
  });
});

describe("a server link, when the telco's deliver_sm_resp is over 16 KiB", () => {
  let rig: TelcoOnServerLink;

  beforeAll(async () => {
    rig = await bindTelcoToServerLink("big");
  });

  afterAll(() => rig?.close());

  const message = (to: string): MtMessage => ({ ref: "m", from: "22555", to, dataCoding: 0, udhi: false, parts: [{ index: 0, payload: Buffer.from("hello") }], registeredDelivery: false });

  it("settles an ESME_ROK one by its header: accepted once, not failed as a timeout; the next is read as usual", async () => {
    rig.telco.session.removeAllListeners("deliver_sm");
    const delivered: smpp.PDU[] = [];
    rig.telco.session.on("deliver_sm", (pdu: smpp.PDU) => {
      delivered.push(pdu);
      if (delivered.length === 1) rig.telco.session.socket.write(oversized(pdu.response({ message_id: "telco-big" })));
      else rig.telco.session.send(pdu.response({ message_id: "telco-2" }));
    });
    const link = new ServerLink("big", rig.listener);
    // Before the fix: SmppTimeoutError (retryable: the outbox sends it again).
    await expect(link.submit(message(number(10)))).resolves.toEqual({ smscMessageIds: ["telco-big"] });
    await expect(link.submit(message(number(11)))).resolves.toEqual({ smscMessageIds: ["telco-2"] });
    expect(delivered).toHaveLength(2);
    expect(rig.warnings.map((w) => w.msg)).toContain("smpp response not readable: settled by its header");
    expect(rig.listener.sessions("big")).toHaveLength(1);
  });
});
