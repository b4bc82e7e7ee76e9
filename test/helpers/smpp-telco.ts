/**
 * A telco's SMPP client in a test: binds to our listener over a real socket on loopback, sends
 * submit_sm as the telco's network would for MO and USSD, and collects the deliver_sm we send
 * back (answering each with deliver_sm_resp, as a telco's SMSC does).
 */
import smpp from "smpp";
import { encodeSms } from "../../src/sms/encoding.js";

export class TestTelco {
  /** The command_status each deliver_sm is answered with; only those answered ESME_ROK (0) are taken. */
  deliverStatus: (pdu: smpp.PDU) => number = () => 0;
  /** Every deliver_sm we were sent, taken or refused, with its answer and when it came. */
  readonly deliverLog: Array<{ status: number; at: number }> = [];
  private readonly delivered: smpp.PDU[] = [];
  private readonly waiting: Array<{ wants: (pdu: smpp.PDU) => boolean; take: (pdu: smpp.PDU) => void }> = [];

  private constructor(readonly session: smpp.Session) {
    session.on("error", () => undefined);
    session.on("deliver_sm", (pdu: smpp.PDU) => {
      const status = this.deliverStatus(pdu);
      this.deliverLog.push({ status, at: Date.now() });
      session.send(pdu.response(status === 0 ? {} : { command_status: status }));
      if (status !== 0) return;
      const at = this.waiting.findIndex((w) => w.wants(pdu));
      if (at >= 0) this.waiting.splice(at, 1)[0]!.take(pdu);
      else this.delivered.push(pdu);
    });
    session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
  }

  static connect(port: number): Promise<TestTelco> {
    return new Promise((resolve, reject) => {
      const session = smpp.connect({ host: "127.0.0.1", port });
      session.once("connect", () => resolve(new TestTelco(session)));
      session.once("error", reject);
    });
  }

  /** Sends a request and resolves with its response PDU. */
  request(command: string, options: smpp.PduOptions = {}): Promise<smpp.PDU> {
    return new Promise((resolve, reject) => {
      if (!this.session.send(new smpp.PDU(command, options), resolve)) reject(new Error("telco socket not writable"));
    });
  }

  async bind(systemId: string, password: string, command = "bind_transceiver"): Promise<number> {
    const response = await this.request(command, { system_id: systemId, password, interface_version: 0x34 });
    return response.command_status;
  }

  /** An MO text from a subscriber to our short code, GSM-encoded unless UCS-2 is asked for. */
  mo(from: string, to: string, text: string, extra: smpp.PduOptions = {}): Promise<smpp.PDU> {
    const ucs2 = extra.data_coding === 8;
    const gsm = ucs2 ? null : encodeSms(text, { reference: 0, maxParts: 1 });
    return this.request("submit_sm", {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: from,
      dest_addr_ton: 0,
      dest_addr_npi: 0,
      destination_addr: to,
      data_coding: gsm?.dataCoding ?? 8,
      short_message: gsm?.parts[0] ?? Buffer.from(text, "utf16le").swap16(),
      ...extra,
    });
  }

  /** The next deliver_sm we were sent (already answered). */
  nextDeliver(): Promise<smpp.PDU> {
    return this.nextDeliverWhere(() => true);
  }

  /** The next deliver_sm to `msisdn` (international digits), leaving those to others for later. */
  nextDeliverTo(msisdn: string): Promise<smpp.PDU> {
    return this.nextDeliverWhere((pdu) => pdu.destination_addr === msisdn);
  }

  private nextDeliverWhere(wants: (pdu: smpp.PDU) => boolean): Promise<smpp.PDU> {
    const at = this.delivered.findIndex(wants);
    if (at >= 0) return Promise.resolve(this.delivered.splice(at, 1)[0]!);
    return new Promise((take) => this.waiting.push({ wants, take }));
  }

  pending(): number {
    return this.delivered.length;
  }

  close(): Promise<void> {
    if (this.session.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.session.once("close", () => resolve());
      this.session.destroy();
    });
  }
}

/** The text of a deliver_sm as the package decoded it (GSM or UCS-2 by data_coding). */
export function textOf(pdu: smpp.PDU): string {
  const sm = pdu.short_message as { message?: unknown } | undefined;
  return typeof sm?.message === "string" ? sm.message : "";
}
