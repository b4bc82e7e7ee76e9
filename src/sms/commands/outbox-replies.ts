/**
 * Command replies through the outbox: the reply's text, already rendered in the customer's
 * language, is written as an outbox row (template REPLY_TEMPLATE) and the relay sends it like any
 * message, so a reply outlives a link that is down when it is written, a crash, or a restart.
 *
 * The row's id derives from the MO message's id: a message run again (a telco's re-delivery after
 * a crash before it was marked answered) writes the same id, which is already there, so the
 * subscriber gets one reply. A repeat the customer sent later runs as a new attempt of the
 * message, whose reply has an id of its own (from the id and the attempt).
 */
import { derivedUuid } from "../../core/ledger/ids.js";
import { insertOutboxReply } from "../../infra/db/outbox-store.js";
import type { SqlExecutor } from "../../infra/db/sql.js";
import type { Replies, SmsReply } from "./replies.js";

/** The outbox row id of the reply to attempt `attempt` of MO message `moId` (attempt 0 keeps the id replies had before attempts). */
export function replyOutboxId(moId: string, attempt = 0): string {
  return derivedUuid(attempt === 0 ? `fingate:sms:reply:${moId}` : `fingate:sms:reply:${moId}:${attempt}`);
}

export class OutboxReplies implements Replies {
  constructor(private readonly db: SqlExecutor) {}

  async send(reply: SmsReply): Promise<void> {
    await insertOutboxReply(this.db, {
      id: replyOutboxId(reply.inReplyTo, reply.attempt),
      msisdn: reply.msisdn,
      text: reply.text,
      replyLinkId: reply.linkId,
      sender: reply.from,
      inReplyTo: reply.inReplyTo,
      institutionId: reply.institutionId,
    });
  }
}
