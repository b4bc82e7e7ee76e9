/**
 * Where an inbound PDU from a telco goes: a delivery receipt to the link's receipt listeners, a
 * USSD PDU to the USSD session handler, anything else to the SMS command handler as an MO message.
 * On a server link an MO message is acknowledged once it is recorded (durable) and runs after the
 * acknowledgement; a client link acknowledges every deliver_sm as it arrives (SmppClient).
 *
 * A part of a concatenated MO message is stored (SqlMoParts) and acknowledged; the part that
 * completes the message brings the whole text, which goes to the command handler as one message
 * whose key derives from its parts' keys, so a re-delivery of the whole message is recognised.
 *
 * USSD is acknowledged before its hop runs in both modes: the answer goes back as a PDU of its own,
 * and a PDU the network delivers again is recognised by its its_session_info sequence (the hop
 * processor answers it with the screen it already computed), so an early ack never loses a hop.
 */
import type smpp from "smpp";
import type { SmsCommands } from "../commands/handler.js";
import { moDigest } from "../commands/mo-key.js";
import { MAX_MO_PARTS, type SqlMoParts } from "../commands/mo-parts.js";
import type { RateLimiter } from "../commands/rate-limit.js";
import { MAX_TEXT_CHARS, readInbound, type InboundMessage } from "../server/inbound-pdu.js";
import type { ServerLink } from "../server/server-link.js";
import type { BoundSession } from "../server/bound-session.js";
import type { InboundAnswer } from "../server/smpp-listener.js";
import { ESME_ROK } from "../smpp-status.js";
import { ESME_RINVDSTADR, ESME_RINVSRCADR, ESME_ROPTPARNOTALLWD } from "../server/status-codes.js";
import { UssdOverSmpp, type UssdReplyLink } from "../ussd/ussd-over-smpp.js";
import { serverReplies } from "../ussd/ussd-reply-links.js";
import type { LinkConfig } from "./types.js";

export interface InboundLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface InboundDeps {
  commands: SmsCommands | null;
  /** Where parts of concatenated messages wait for the rest; without it each part is read alone. */
  parts?: SqlMoParts | null;
  /**
   * Parts a number may have stored per window (the command rate times MAX_MO_PARTS): the command
   * rate counts whole messages only, so parts under ever new references were stored without limit.
   */
  partsRateLimiter?: RateLimiter | null;
  ussd: UssdOverSmpp;
  /** Keys the digest that identifies an MO message without storing its text (it may hold a PIN). */
  moKeySecret: Uint8Array;
  logger: InboundLogger;
}

export class InboundDispatcher {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * A PDU from a telco bound to our listener; resolves with the status to answer and the work
   * (a USSD hop, a command run) that goes on after the answer, which the listener's window counts.
   */
  async fromServer(link: LinkConfig, pdu: smpp.PDU, via: ServerLink, from?: BoundSession): Promise<InboundAnswer> {
    const m = readInbound(pdu);
    if (m.isReceipt) {
      via.receipt(pdu);
      return { status: ESME_ROK };
    }
    if (UssdOverSmpp.applies(link, m)) return { status: ESME_ROK, work: this.ussd(link, m, serverReplies(via, from)) };
    if (m.ussdServiceOp !== null) {
      // Refused and logged, as a client link drops it: it used to run as an SMS command, so a USSD
      // dial ("*384#") was answered by SMS with "unknown command", and its text read as a command.
      this.deps.logger.warn({ link: link.id, op: m.ussdServiceOp }, "ussd pdu on a link without USSD options: refused");
      return { status: ESME_ROPTPARNOTALLWD };
    }
    return this.mo(link, pdu, m);
  }

  /**
   * A deliver_sm our client link received from the telco's SMSC or USSD gateway (already
   * acknowledged); USSD screens go back as submit_sm through `replies`. Resolves (never rejects)
   * once the work it set going has finished, which the client link's inbound window counts.
   */
  fromClient(link: LinkConfig, pdu: smpp.PDU, replies: UssdReplyLink): Promise<void> {
    const m = readInbound(pdu);
    if (m.isReceipt) return Promise.resolve(); // the client link's receipt listeners have it
    if (UssdOverSmpp.applies(link, m)) return this.ussd(link, m, replies);
    if (m.ussdServiceOp !== null) {
      this.deps.logger.warn({ link: link.id, op: m.ussdServiceOp }, "ussd pdu on a link without USSD options: ignored");
      return Promise.resolve();
    }
    return this.mo(link, pdu, m).then(
      (answer) => answer.work?.then(() => undefined),
      (error: unknown) => this.failed(link, "sms mo failed", error),
    );
  }

  /** Runs the hop; the promise never rejects (failures are logged). */
  private ussd(link: LinkConfig, m: InboundMessage, replies: UssdReplyLink): Promise<void> {
    return this.deps.ussd.handle(link, m, replies).catch((error: unknown) => this.failed(link, "ussd over smpp failed", error));
  }

  /** The MO message's answer once it is durable, with its command's run (which never rejects). */
  private async mo(link: LinkConfig, pdu: smpp.PDU, m: InboundMessage): Promise<InboundAnswer> {
    if (!m.msisdn || !m.senderIsSubscriber) return { status: ESME_RINVSRCADR };
    if (link.shortCodes.length > 0 && !link.shortCodes.includes(m.to)) return { status: ESME_RINVDSTADR };
    const commands = this.deps.commands;
    if (!commands) return { status: ESME_ROK };
    let text = m.text;
    let moKey: string;
    if (!m.concat || !this.deps.parts) moKey = this.moKey(pdu, m.text);
    else {
      const { ref, total, seq } = m.concat;
      if (total > MAX_MO_PARTS || seq < 1 || seq > total) {
        // Acknowledged (a telco would only send it again) and dropped: no command is that long.
        this.deps.logger.warn({ link: link.id, total, seq }, "sms mo part out of range: dropped");
        return { status: ESME_ROK };
      }
      if (this.deps.partsRateLimiter && !(await this.deps.partsRateLimiter.allow(m.msisdn))) {
        // Acknowledged and dropped, as a whole message over the number's rate is.
        this.deps.logger.warn({ link: link.id, total, seq }, "sms mo part over the number's rate: dropped");
        return { status: ESME_ROK };
      }
      const partKey = this.moKey(pdu, `${ref}:${total}:${seq}\u0000${m.text}`);
      // Grouped across the institution's links, as re-deliveries are: an SMSC may send a message's parts over either node.
      const whole = await this.deps.parts.add({ linkId: smppScope(link), msisdn: m.msisdn, ref, total, seq, key: partKey, text: m.text });
      if (!whole) return { status: ESME_ROK }; // stored: the part that completes the message runs it
      text = whole.text.slice(0, MAX_TEXT_CHARS);
      moKey = this.digest(["concat", ...whole.keys]);
    }
    const sms = {
      linkId: link.id,
      institutionId: link.institutionId,
      moKey,
      msisdn: m.msisdn,
      to: m.to,
      text,
      // Keyed by content: how long a copy is a re-delivery, and when it is the customer's repeat,
      // is the command handler's (SmsCommands.claim).
      byContent: true,
      dedupeScope: smppScope(link),
    };
    const claim = await commands.receive(sms);
    return claim ? { status: ESME_ROK, work: commands.run(sms, claim) } : { status: ESME_ROK };
  }

  /**
   * The same PDU delivered again has the same key, over whichever of the institution's links it
   * comes (an SMSC re-delivers over another bind when the first's answer was lost): so no link in
   * it. The key cannot be turned back into the text.
   */
  private moKey(pdu: smpp.PDU, text: string): string {
    const umr = typeof pdu.user_message_reference === "number" ? String(pdu.user_message_reference) : "";
    return this.digest([String(pdu.source_addr ?? ""), String(pdu.destination_addr ?? ""), String(pdu.data_coding ?? ""), umr, text]);
  }

  private digest(fields: string[]): string {
    return moDigest(this.deps.moKeySecret, fields);
  }

  private failed(link: LinkConfig, msg: string, error: unknown): void {
    const err = error instanceof Error ? { name: error.name, message: error.message.slice(0, 200) } : { name: "unknown" };
    this.deps.logger.error({ link: link.id, err }, msg);
  }
}

/** Where an SMPP message is recognised and assembled: all of the institution's links together. */
const smppScope = (link: LinkConfig): string => `smpp:${link.institutionId}`;
