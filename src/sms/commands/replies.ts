/**
 * Where replies to SMS commands go. The outbox (src/sms/outbox) is the durable path; LinkReplies
 * sends straight over the link that the link directory routes the number to, for setups without
 * the outbox and for tests of the link itself.
 */
import { encodeSms } from "../encoding.js";
import type { LinkDirectory } from "../mt-link.js";

export interface SmsReply {
  /** E.164 with "+". */
  msisdn: string;
  text: string;
  /** The link the command came in on: replies go back the same way when it can reach the number. */
  linkId: string | null;
  /** Our address the command was sent to (the reply's sender). */
  from: string | null;
  /** The MO message this answers (its id), for correlation and de-duplication of replies. */
  inReplyTo: string;
}

export interface Replies {
  send(reply: SmsReply): Promise<void>;
}

export class LinkReplies implements Replies {
  private reference = 0;

  constructor(
    private readonly links: LinkDirectory,
    private readonly defaultFrom: string,
  ) {}

  async send(reply: SmsReply): Promise<void> {
    const route = this.links.route(reply.msisdn);
    const linkId = reply.linkId && this.links.link(reply.linkId) ? reply.linkId : route?.linkId;
    const link = linkId ? this.links.link(linkId) : undefined;
    if (!link) throw new Error("no SMS link reaches this number");
    this.reference = (this.reference + 1) % 256;
    const encoded = encodeSms(reply.text, { reference: this.reference });
    await link.submit({
      ref: reply.inReplyTo,
      from: reply.from ?? route?.from ?? this.defaultFrom,
      to: reply.msisdn.slice(1),
      dataCoding: encoded.dataCoding,
      udhi: encoded.udhi,
      parts: encoded.parts.map((payload, index) => ({ index, payload })),
      registeredDelivery: false,
    });
  }
}
