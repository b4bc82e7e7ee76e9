/**
 * PDUs the `smpp` package cannot read, sent over a real socket by a telco bound to our listener:
 * SMPP 3.4 §2.3/§4.3 wants them answered (same sequence_number, an error status) and the bind
 * kept, so that the telco does not send them again; a command_length under 16 cannot be framed
 * past, so the session is answered and closed, its bind given back.
 */
import smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { ESME_RINVCMDLEN, ESME_RINVMSGLEN } from "../../src/sms/smpp-framing.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

let listener: SmppListener;
let port: number;
const inbound: string[] = [];
const warnings: string[] = [];
const telcos: TestTelco[] = [];

beforeAll(async () => {
  const link = { id: "framing", institutionId: "bank", maxBinds: 4, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
  const passwordHash = await hashLinkPassword("Secret1!");
  listener = new SmppListener({
    account: (systemId) => (systemId === "framing" ? { link, passwordHash } : null),
    onInbound: async (_link, pdu) => (inbound.push(String(pdu.source_addr)), { status: ESME_ROK }),
    logger: { info: () => undefined, warn: (_o, msg) => void warnings.push(msg) },
  });
  port = await listener.listen(0, "127.0.0.1");
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await listener?.close();
});

async function boundTelco(): Promise<TestTelco> {
  const telco = await TestTelco.connect(port);
  telcos.push(telco);
  expect(await telco.bind("framing", "Secret1!")).toBe(ESME_ROK);
  return telco;
}

const mo = (from: string, sequence = 0): smpp.PduOptions => ({
  source_addr_ton: 1,
  source_addr_npi: 1,
  source_addr: from,
  destination_addr: "22555",
  short_message: "BAL",
  ...(sequence ? { sequence_number: sequence } : {}),
});

const encode = (pdu: smpp.PDU): Buffer => (pdu as unknown as { toBuffer(): Buffer }).toBuffer();

/** A submit_sm whose last TLV (sar_msg_ref_num, 2 bytes) has no value: the package's parser throws reading it. */
function truncatedTlvSubmitSm(from: string, sequence: number): Buffer {
  const bad = Buffer.concat([encode(new smpp.PDU("submit_sm", mo(from, sequence))), Buffer.from([0x02, 0x0c, 0x00, 0x02])]);
  bad.writeUInt32BE(bad.length, 0);
  return bad;
}

/** The next PDU of `command` the telco receives, or "none" within 1.5 s. */
function next(telco: TestTelco, command: string): Promise<smpp.PDU | "none"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("none"), 1_500);
    telco.session.once(command, (pdu: smpp.PDU) => (clearTimeout(timer), resolve(pdu)));
  });
}

const closedWithin = (telco: TestTelco, ms: number): Promise<boolean> =>
  telco.session.socket.destroyed
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        telco.session.once("close", () => (clearTimeout(timer), resolve(true)));
      });

describe("a PDU whose body does not parse", () => {
  it("is answered with its own *_resp, ESME_RINVMSGLEN and its sequence number, and the bind stays up", async () => {
    const telco = await boundTelco();
    const bound = listener.sessions("framing").length;
    const answer = next(telco, "submit_sm_resp");
    telco.session.socket.write(truncatedTlvSubmitSm("254712600001", 4242));
    // Before the fix the listener dropped the session unanswered: the telco rebinds and sends it
    // again, and again.
    expect(await answer).toMatchObject({ sequence_number: 4242, command_status: ESME_RINVMSGLEN });
    expect(warnings).toContain("smpp pdu not readable: answered with an error");
    // The same session goes on: the next PDU on it is read and runs.
    expect((await telco.request("submit_sm", mo("254712600002"))).command_status).toBe(ESME_ROK);
    expect(inbound).toContain("254712600002");
    expect(inbound).not.toContain("254712600001");
    expect(telco.session.socket.destroyed).toBe(false);
    expect(listener.sessions("framing")).toHaveLength(bound);
  });

  it("longer than the package reads (16 KiB): answered ESME_RINVCMDLEN, its body skipped, and reading goes on", async () => {
    const telco = await boundTelco();
    const long = Buffer.alloc(20_000);
    long.set(encode(new smpp.PDU("submit_sm", mo("254712600003", 77))));
    long.writeUInt32BE(long.length, 0);
    const answer = next(telco, "submit_sm_resp");
    telco.session.socket.write(long);
    expect(await answer).toMatchObject({ sequence_number: 77, command_status: ESME_RINVCMDLEN });
    expect((await telco.request("submit_sm", mo("254712600004"))).command_status).toBe(ESME_ROK);
    expect(inbound).toContain("254712600004");
    expect(inbound).not.toContain("254712600003");
  });
});

describe("a command_length under 16 on a bound session", () => {
  it("is answered generic_nack ESME_RINVCMDLEN, and the session is closed and its bind given back", async () => {
    const before = listener.sessions("framing").length;
    const telco = await boundTelco();
    expect(listener.sessions("framing")).toHaveLength(before + 1);
    const nack = next(telco, "generic_nack");
    const closed = closedWithin(telco, 1_500);
    // The package waited for ever for the rest of it: the session read nothing more and stayed bound.
    telco.session.socket.write(Buffer.from([0, 0, 0, 4]));
    expect(await nack).toMatchObject({ command_status: ESME_RINVCMDLEN });
    expect(await closed).toBe(true);
    await expect.poll(() => listener.sessions("framing").length, { timeout: 1_000 }).toBe(before);
  });
});
