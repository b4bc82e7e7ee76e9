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
import type { ReceiptOf, Replies, SmsReply } from "./replies.js";

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

  /**
   * The reply row of the attempt decides; without one (a SEND answered by its receipt) the payer's
   * receipt of the payment does. Pending, queued, submitted or delivered: not lost (it went, or is
   * on its way). Read only for a copy of an answered message within the re-delivery window.
   */
  async lost(inReplyTo: string, attempt: number, receipt?: ReceiptOf): Promise<boolean> {
    const { rows } = await this.db.query<{ state: string }>(
      `SELECT state FROM (
         SELECT 0 AS rank, state FROM outbox_messages WHERE id = $1
         UNION ALL
         (SELECT 1 AS rank, state FROM outbox_messages WHERE $2::uuid IS NOT NULL AND msisdn = $3 AND transfer_id = $2::uuid AND kind = 'receipt' ORDER BY seq LIMIT 1)
       ) answers ORDER BY rank LIMIT 1`,
      [replyOutboxId(inReplyTo, attempt), receipt?.transferId ?? null, receipt?.msisdn ?? null],
    );
    return rows[0] !== undefined && LOST_STATES.has(rows[0].state);
  }
}

/** Outbox states of a message that will never reach the subscriber (OutboxState). */
const LOST_STATES = new Set(["failed", "expired", "dead"]);
