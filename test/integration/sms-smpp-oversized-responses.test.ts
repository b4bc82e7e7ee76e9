/**
 * A response PDU over the reader's 16 KiB limit (a submit_sm_resp or deliver_sm_resp with a vendor
 * TLV of 17 000 octets), over real sockets. Its body is skipped, as a request's is, but it used to
 * be dropped as well: the request waiting for it timed out, and the part went again after the
 * reconnect (client link) or failed as retryable (server link's deliver_sm): a second SMS when the
 * peer had said ESME_ROK. Now its header settles the request, with the message_id read from the
 * body's first octets, and the stream goes on past the skipped body.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import type { MtMessage } from "../../src/sms/mt-link.js";
import { ServerLink } from "../../src/sms/server/server-link.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { SmppClient } from "../../src/sms/smpp-client.js";
import type { BadPdu } from "../../src/sms/smpp-framing.js";
import { ESME_ROK, SmppSubmitError } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const ESME_RINVDSTADR = 0x0b;
const VENDOR_TLV_LENGTH = 17_000;

/** +25471282xxxx: this file's range (the 7xxx block). */
const number = (i: number) => `2547128270${String(i).padStart(2, "0")}`;

const encode = (pdu: smpp.PDU): Buffer => (pdu as unknown as { toBuffer(): Buffer }).toBuffer();

/** `response` encoded, then a vendor TLV (0x1400) of VENDOR_TLV_LENGTH octets: over 16 KiB in all. */
function oversized(response: smpp.PDU, status = ESME_ROK): Buffer {
  const tlv = Buffer.alloc(4 + VENDOR_TLV_LENGTH, 0x41);
  tlv.writeUInt16BE(0x1400, 0);
  tlv.writeUInt16BE(VENDOR_TLV_LENGTH, 2);
  const bytes = Buffer.concat([encode(response), tlv]);
  bytes.writeUInt32BE(bytes.length, 0);
  bytes.writeUInt32BE(status, 8);
  return bytes;
}

describe("a client link, when its SMSC's submit_sm_resp is over 16 KiB", () => {
  let server: smpp.Server;
  let port: number;
  let client: SmppClient | undefined;
  const binds: smpp.PDU[] = [];
  const submits: smpp.PDU[] = [];
  let answer: (pdu: smpp.PDU, session: smpp.Session) => void;

  beforeAll(async () => {
    server = smpp.createServer((session) => {
      session.on("error", () => undefined);
      session.on("bind_transceiver", (pdu: smpp.PDU) => {
        binds.push(pdu);
        session.send(pdu.response({ system_id: "test-smsc" }));
      });
      session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("submit_sm", (pdu: smpp.PDU) => {
        submits.push(pdu);
        answer(pdu, session);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    binds.length = 0;
    submits.length = 0;
  });

  afterAll(async () => {
    for (const session of [...server.sessions]) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function start(): { client: SmppClient; bad: BadPdu[] } {
    const bad: BadPdu[] = [];
    client = new SmppClient(
      { host: "127.0.0.1", port, systemId: "fingate", password: "pa55", responseTimeoutMs: 300, maxAttempts: 2, reconnectBackoff: { initialMs: 20, maxMs: 100, jitterRatio: 0 } },
      { random: () => 0 },
    );
    client.on("badPdu", (b) => bad.push(b));
    client.start();
    return { client, bad };
  }

  it("settles an ESME_ROK one by its header, with its message_id, never sends the part again, and reads on", async () => {
    // The first answer is oversized, the next ones normal: the stream must still be in step after it.
    answer = (pdu, session) =>
      void (submits.length === 1 ? session.socket.write(oversized(pdu.response({ message_id: "big-1" }))) : session.send(pdu.response({ message_id: `m${submits.length}` })));
    const { client, bad } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    // Before the fix: dropped, overdue, the session closed and the part sent again (a second SMS).
    await expect(client.submitText({ from: "22555", to: number(1), text: "once only" })).resolves.toEqual({ messageIds: ["big-1"] });
    await expect(client.submitText({ from: "22555", to: number(2), text: "next" })).resolves.toEqual({ messageIds: ["m2"] });
    await new Promise((resolve) => setTimeout(resolve, 700)); // beyond two response timeouts
    expect(submits).toHaveLength(2);
    expect(binds).toHaveLength(1);
    expect(bad).toMatchObject([{ commandId: 0x80000004, sequenceNumber: submits[0]!.sequence_number, answered: null, settled: true, closed: false }]);
    expect(bad[0]!.reason).toMatch(/over 16384/);
  });

  it("settles an error one by its header's status at once", async () => {
    answer = (pdu, session) => void session.socket.write(oversized(pdu.response({ message_id: "" }), ESME_RINVDSTADR));
    const { client } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    const refused = await client.submitText({ from: "22555", to: number(3), text: "refused" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SmppSubmitError);
    expect((refused as SmppSubmitError).status).toBe(ESME_RINVDSTADR);
    expect(submits).toHaveLength(1);
  });
});

describe("a server link, when the telco's deliver_sm_resp is over 16 KiB", () => {
  let listener: SmppListener;
  let telco: TestTelco;
  const warnings: Array<{ msg: string; obj: object }> = [];

  beforeAll(async () => {
    const link = { id: "big", institutionId: "bank", maxBinds: 1, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
    const passwordHash = await hashLinkPassword("Secret1!");
    listener = new SmppListener({
      account: (systemId) => (systemId === "big" ? { link, passwordHash } : null),
      onInbound: async () => ({ status: ESME_ROK }),
      logger: { info: () => undefined, warn: (obj, msg) => void warnings.push({ msg, obj }) },
      responseTimeoutMs: 500,
    });
    telco = await TestTelco.connect(await listener.listen(0, "127.0.0.1"));
    expect(await telco.bind("big", "Secret1!")).toBe(ESME_ROK);
  });

  afterAll(async () => {
    await telco?.close();
    await listener?.close();
  });

  const message = (to: string): MtMessage => ({ ref: "m", from: "22555", to, dataCoding: 0, udhi: false, parts: [{ index: 0, payload: Buffer.from("hello") }], registeredDelivery: false });

  it("settles an ESME_ROK one by its header: accepted once, not failed as a timeout; the next is read as usual", async () => {
    telco.session.removeAllListeners("deliver_sm");
    const delivered: smpp.PDU[] = [];
    telco.session.on("deliver_sm", (pdu: smpp.PDU) => {
      delivered.push(pdu);
      if (delivered.length === 1) telco.session.socket.write(oversized(pdu.response({ message_id: "telco-big" })));
      else telco.session.send(pdu.response({ message_id: "telco-2" }));
    });
    const link = new ServerLink("big", listener);
    // Before the fix: SmppTimeoutError (retryable: the outbox sends it again).
    await expect(link.submit(message(number(10)))).resolves.toEqual({ smscMessageIds: ["telco-big"] });
    await expect(link.submit(message(number(11)))).resolves.toEqual({ smscMessageIds: ["telco-2"] });
    expect(delivered).toHaveLength(2);
    expect(warnings.map((w) => w.msg)).toContain("smpp response not readable: settled by its header");
    expect(listener.sessions("big")).toHaveLength(1);
  });
});
