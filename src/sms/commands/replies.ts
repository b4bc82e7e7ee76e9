/**
 * Where replies to SMS commands go. The gateway's default is OutboxReplies (outbox-replies.ts):
 * the durable path, through the outbox relay like every message to a subscriber.
 */

export interface SmsReply {
  /** E.164 with "+". */
  msisdn: string;
  text: string;
  /** The link the command came in on: replies go back the same way while it runs. */
  linkId: string | null;
  /** Our address the command was sent to (the reply's sender). */
  from: string | null;
  /**
   * The bank whose link or HTTP aggregator the command came in on (IncomingSms.institutionId): the
   * reply goes over that bank's links only, whoever the number belongs to.
   */
  institutionId: string;
  /** The MO message this answers (its id), for correlation and de-duplication of replies. */
  inReplyTo: string;
  /** Which run of that message this answers (0 for the first; a repeat is a new attempt with a reply of its own). */
  attempt?: number;
}

/** The payer's receipt of a SEND's payment, when that receipt (not a reply) answered the SEND. */
export interface ReceiptOf {
  transferId: string;
  msisdn: string;
}

export interface Replies {
  send(reply: SmsReply): Promise<void>;
  /**
   * Whether the answer to attempt `attempt` of MO message `inReplyTo` (its reply, or when it had
   * none the payer's receipt `receipt`) is known never to reach the customer: refused for good by
   * the SMSC, expired or given up. A copy of the message is then answered again (SmsCommands.receive).
   * Without it, a copy within the re-delivery window is never answered again.
   */
  lost?(inReplyTo: string, attempt: number, receipt?: ReceiptOf): Promise<boolean>;
}
