/**
 * Command replies through the outbox: the reply's text, already rendered in the customer's
 * language, is written as an outbox row (template REPLY_TEMPLATE) and the relay sends it like any
 * message, so a reply outlives a link that is down when it is written, a crash, or a restart.
 *
 * The row's id derives from the MO message's id: a message run again (a telco's re-delivery after
 * a crash before it was marked answered) writes the same id, which is already there, so the
 * subscriber gets one reply.
 */
import { derivedUuid } from "../../core/ledger/ids.js";
import { insertOutboxReply } from "../../infra/db/outbox-store.js";
import type { SqlExecutor } from "../../infra/db/sql.js";
import type { Replies, SmsReply } from "./replies.js";

/** The outbox row id of the reply to MO message `moId`. */
export function replyOutboxId(moId: string): string {
  return derivedUuid(`fingate:sms:reply:${moId}`);
}

export class OutboxReplies implements Replies {
  constructor(private readonly db: SqlExecutor) {}

  async send(reply: SmsReply): Promise<void> {
    await insertOutboxReply(this.db, {
      id: replyOutboxId(reply.inReplyTo),
      msisdn: reply.msisdn,
      text: reply.text,
      replyLinkId: reply.linkId,
      sender: reply.from,
      inReplyTo: reply.inReplyTo,
    });
  }
}
