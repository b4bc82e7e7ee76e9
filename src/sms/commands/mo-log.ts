/**
 * MO messages seen, so that a re-delivered message is recognised. Each message gets an id that
 * transfer ids derive from; a message with the same key on the same link within the window gets
 * the first one's id back (one statement, so two concurrent re-deliveries agree), and a message
 * already handled is not handled again.
 */
import { randomUUID } from "node:crypto";
import type { SqlExecutor } from "../../infra/db/sql.js";

export interface MoClaim {
  /** The message's id: payments it causes derive their ids from it. */
  id: string;
  /** Seen before within the window. */
  duplicate: boolean;
  /** Already handled to the end (its reply sent): do nothing more. */
  handled: boolean;
}

export interface MoRecord {
  linkId: string;
  /** The aggregator's message id, or a keyed digest of the PDU's content. Never the text. */
  moKey: string;
  msisdn: string;
  /** The command word only. */
  command: string | null;
}

export class SqlMoLog {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * Records the message, or finds it within `windowSec`. Older rows with the same key are taken
   * over by the new message (a customer may send the same text again tomorrow).
   */
  async claim(record: MoRecord, windowSec: number): Promise<MoClaim> {
    const id = randomUUID();
    const { rows } = await this.db.query<{ id: string; handled: boolean }>(
      `INSERT INTO sms_mo_messages (id, link_id, mo_key, msisdn, command) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (link_id, mo_key) DO UPDATE SET
         id = CASE WHEN sms_mo_messages.received_at < CURRENT_TIMESTAMP - make_interval(secs => $6) THEN EXCLUDED.id ELSE sms_mo_messages.id END,
         handled_at = CASE WHEN sms_mo_messages.received_at < CURRENT_TIMESTAMP - make_interval(secs => $6) THEN NULL ELSE sms_mo_messages.handled_at END,
         received_at = CASE WHEN sms_mo_messages.received_at < CURRENT_TIMESTAMP - make_interval(secs => $6) THEN CURRENT_TIMESTAMP ELSE sms_mo_messages.received_at END
       RETURNING id, handled_at IS NOT NULL AS handled`,
      [id, record.linkId, record.moKey, record.msisdn, record.command, windowSec],
    );
    const row = rows[0]!;
    return { id: row.id, duplicate: row.id !== id, handled: row.handled };
  }

  async markHandled(id: string): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET handled_at = CURRENT_TIMESTAMP WHERE id = $1", [id]);
  }
}
