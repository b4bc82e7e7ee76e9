/**
 * A client link and the requests its SMSC sends around the bind, over a real socket. SMPP 3.4
 * §2.3: a request gets its response, in every state. Before the fix the link answered none of
 * these: before the bind_transceiver_resp nothing listened for requests, and PDUs that came right
 * after it, in the same read (an enquire_link many SMSCs send at once, a queued deliver_sm), were
 * emitted before the link's handlers were on (the bound session reached the link a microtask later).
 * Now requests before the bind_resp are answered (enquire_link ESME_ROK, as our listener does, the
 * rest ESME_RINVBNDSTS), and those after it wait, paused, for the link's handlers.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ESME_RINVBNDSTS } from "../../src/sms/server/status-codes.js";
import { SmppClient } from "../../src/sms/smpp-client.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";

/** +25471282xxxx: this file's range (the 5xxx block). */
const number = (i: number) => `2547128250${String(i).padStart(2, "0")}`;

const encode = (pdu: smpp.PDU): Buffer => (pdu as unknown as { toBuffer(): Buffer }).toBuffer();

describe("a client link, asked by its SMSC around the bind", () => {
  let server: smpp.Server;
  let port: number;
  let client: SmppClient | undefined;
  /** Every response the link sent the SMSC. */
  const answers: smpp.PDU[] = [];
  /** What the SMSC writes when a bind_transceiver comes: bytes before its answer, and after it in the same write. */
  let around: { before: smpp.PDU[]; after: smpp.PDU[] } = { before: [], after: [] };

  beforeAll(async () => {
    server = smpp.createServer((session) => {
      session.on("error", () => undefined);
      session.on("pdu", (pdu: smpp.PDU) => void (pdu.isResponse() && answers.push(pdu)));
      session.on("bind_transceiver", (pdu: smpp.PDU) => {
        const { before, after } = around;
        if (before.length > 0) session.socket.write(Buffer.concat(before.map(encode)));
        // The bind_resp a moment later, with what follows it in one write (one read on the link's side).
        setTimeout(() => session.socket.write(Buffer.concat([encode(pdu.response({ system_id: "test-smsc" })), ...after.map(encode)])), before.length > 0 ? 200 : 0);
      });
      session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    answers.length = 0;
  });

  afterAll(async () => {
    for (const session of [...server.sessions]) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function start(): { client: SmppClient; delivered: string[] } {
    const delivered: string[] = [];
    client = new SmppClient({ host: "127.0.0.1", port, systemId: "fingate", password: "pa55", responseTimeoutMs: 1_000, bindTimeoutMs: 2_000 }, { random: () => 0 });
    client.on("deliver", (pdu) => void delivered.push(String(pdu.source_addr)));
    client.start();
    return { client, delivered };
  }

  const deliverSm = (i: number, sequence_number: number) => new smpp.PDU("deliver_sm", { source_addr: number(i), destination_addr: "22555", short_message: "hi", sequence_number });

  it("answers an enquire_link and takes a deliver_sm that came in the same read as the bind_transceiver_resp", async () => {
    around = { before: [], after: [new smpp.PDU("enquire_link", { sequence_number: 6_001 }), deliverSm(1, 6_002)] };
    const { client, delivered } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    // Before the fix neither was answered, and the deliver_sm never reached the link's listeners.
    await expect.poll(() => answers.filter((a) => a.sequence_number >= 6_001).length, { timeout: 2_000 }).toBe(2);
    expect(answers).toContainEqual(expect.objectContaining({ command: "enquire_link_resp", command_status: ESME_ROK, sequence_number: 6_001 }));
    expect(answers).toContainEqual(expect.objectContaining({ command: "deliver_sm_resp", command_status: ESME_ROK, sequence_number: 6_002 }));
    expect(delivered).toEqual([number(1)]);
  });

  it("answers requests before the bind_transceiver_resp: enquire_link ESME_ROK, deliver_sm ESME_RINVBNDSTS, and binds", async () => {
    around = { before: [deliverSm(2, 6_003), new smpp.PDU("enquire_link", { sequence_number: 6_004 }), new smpp.PDU("query_sm", { message_id: "x", sequence_number: 6_005 })], after: [] };
    const { client, delivered } = start();
    await expect.poll(() => client.state(), { timeout: 5_000 }).toBe("bound");
    await expect.poll(() => answers.filter((a) => a.sequence_number >= 6_003).length, { timeout: 2_000 }).toBe(3);
    expect(answers).toContainEqual(expect.objectContaining({ command: "deliver_sm_resp", command_status: ESME_RINVBNDSTS, sequence_number: 6_003 }));
    expect(answers).toContainEqual(expect.objectContaining({ command: "enquire_link_resp", command_status: ESME_ROK, sequence_number: 6_004 }));
    expect(answers).toContainEqual(expect.objectContaining({ command: "query_sm_resp", command_status: ESME_RINVBNDSTS, sequence_number: 6_005 }));
    // Refused, not taken: the SMSC delivers it again once bound.
    expect(delivered).toEqual([]);
  });
});
