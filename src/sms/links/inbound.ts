/**
 * Where an inbound PDU from a telco goes: a delivery receipt to the link's receipt listeners, a
 * USSD PDU to the USSD session handler, anything else to the SMS command handler as an MO message.
 * An MO message is acknowledged once it is recorded (durable); it runs after the acknowledgement.
 */
import { createHmac } from "node:crypto";
import type smpp from "smpp";
import type { SmsCommands } from "../commands/handler.js";
import { readInbound } from "../server/inbound-pdu.js";
import type { ServerLink } from "../server/server-link.js";
import { ESME_ROK } from "../smpp-status.js";
import { ESME_RINVDSTADR, ESME_RINVSRCADR } from "../server/status-codes.js";
import { UssdOverSmpp } from "../ussd/ussd-over-smpp.js";
import type { LinkConfig } from "./types.js";

export interface InboundLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface InboundDeps {
  commands: SmsCommands | null;
  ussd: UssdOverSmpp;
  /** Keys the digest that identifies an MO message without storing its text (it may hold a PIN). */
  moKeySecret: Uint8Array;
  logger: InboundLogger;
  /** How long a telco's re-delivery of the same PDU is recognised (default 10 minutes). */
  redeliveryWindowSec?: number;
}

const DEFAULT_REDELIVERY_WINDOW_SEC = 600;

export class InboundDispatcher {
  constructor(private readonly deps: InboundDeps) {}

  /** A PDU from a telco bound to our listener; resolves with the status to answer. */
  async fromServer(link: LinkConfig, pdu: smpp.PDU, via: ServerLink): Promise<number> {
    const m = readInbound(pdu);
    if (m.isReceipt) {
      via.receipt(pdu);
      return ESME_ROK;
    }
    if (UssdOverSmpp.applies(link, m)) {
      this.deps.ussd.handle(link, m, via).catch((error: unknown) => this.failed(link, "ussd over smpp failed", error));
      return ESME_ROK;
    }
    return this.mo(link, pdu);
  }

  /** An MO deliver_sm our client link received from the telco's SMSC (already acknowledged). */
  fromClient(link: LinkConfig, pdu: smpp.PDU): void {
    const m = readInbound(pdu);
    if (m.isReceipt || m.ussdServiceOp !== null) return; // receipts: the client link's listeners; USSD: server mode only
    this.mo(link, pdu).catch((error: unknown) => this.failed(link, "sms mo failed", error));
  }

  private async mo(link: LinkConfig, pdu: smpp.PDU): Promise<number> {
    const m = readInbound(pdu);
    if (!m.msisdn) return ESME_RINVSRCADR;
    if (link.shortCodes.length > 0 && !link.shortCodes.includes(m.to)) return ESME_RINVDSTADR;
    const commands = this.deps.commands;
    if (!commands) return ESME_ROK;
    const sms = {
      linkId: link.id,
      institutionId: link.institutionId,
      moKey: this.moKey(link.id, pdu, m.text),
      msisdn: m.msisdn,
      to: m.to,
      text: m.text,
      dedupeWindowSec: this.deps.redeliveryWindowSec ?? DEFAULT_REDELIVERY_WINDOW_SEC,
    };
    const claim = await commands.receive(sms);
    if (claim) void commands.run(sms, claim);
    return ESME_ROK;
  }

  /** The same PDU delivered again has the same key; the key cannot be turned back into the text. */
  private moKey(linkId: string, pdu: smpp.PDU, text: string): string {
    const umr = typeof pdu.user_message_reference === "number" ? String(pdu.user_message_reference) : "";
    const parts = [linkId, String(pdu.source_addr ?? ""), String(pdu.destination_addr ?? ""), String(pdu.data_coding ?? ""), umr, text];
    return `digest:${createHmac("sha256", this.deps.moKeySecret).update(parts.join("\u0000")).digest("base64url")}`;
  }

  private failed(link: LinkConfig, msg: string, error: unknown): void {
    const err = error instanceof Error ? { name: error.name, message: error.message.slice(0, 200) } : { name: "unknown" };
    this.deps.logger.error({ link: link.id, err }, msg);
  }
}
