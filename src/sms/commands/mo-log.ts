/**
 * MO messages seen, so that a re-delivered message is recognised. Each message gets an id that
 * transfer ids derive from; a message with the same key on the same link within the window gets
 * the first one's id back (one statement, so two concurrent re-deliveries agree), and a message
 * already handled is not handled again. Running a message takes a lease on it (leaseSec): a
 * re-delivery that arrives while the lease holds is not run alongside (it would check the PIN a
 * second time and answer twice); one that arrives after a run died without finishing runs it again.
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
  /** Being run under another claim's lease (here or on another instance): do nothing now. */
  running: boolean;
}

/** Longer than any run takes (a PIN check and a ledger batch), short enough for a resend to retry a crashed run. */
export const MO_LEASE_SEC = 60;

export interface MoRecord {
  linkId: string;
  /** The aggregator's message id, or a keyed digest of the PDU's content. Never the text. */
  moKey: string;
  msisdn: string;
  /** The command word only. */
  command: string | null;
}

/** The row on record is older than the window: this is a new message that reuses the key. */
const STALE = "m.received_at < CURRENT_TIMESTAMP - make_interval(secs => $6)";
/** Not handled, and no run holds a live lease on it. */
const FREE = "(m.handled_at IS NULL AND (m.running_until IS NULL OR m.running_until < CURRENT_TIMESTAMP))";

export class SqlMoLog {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * Records the message, or finds it within `windowSec`. Older rows with the same key are taken
   * over by the new message (a customer may send the same text again tomorrow).
   */
  async claim(record: MoRecord, windowSec: number, leaseSec = MO_LEASE_SEC): Promise<MoClaim> {
    const id = randomUUID();
    // $7 is this claim's run token: it holds the lease when the row comes back with it. The row's
    // old values are read in each CASE (ON CONFLICT's SET sees the row as it was).
    const { rows } = await this.db.query<{ id: string; handled: boolean; leased: boolean }>(
      `INSERT INTO sms_mo_messages AS m (id, link_id, mo_key, msisdn, command, run_token, running_until)
       VALUES ($1, $2, $3, $4, $5, $7, CURRENT_TIMESTAMP + make_interval(secs => $8))
       ON CONFLICT (link_id, mo_key) DO UPDATE SET
         id = CASE WHEN ${STALE} THEN EXCLUDED.id ELSE m.id END,
         handled_at = CASE WHEN ${STALE} THEN NULL ELSE m.handled_at END,
         received_at = CASE WHEN ${STALE} THEN CURRENT_TIMESTAMP ELSE m.received_at END,
         run_token = CASE WHEN ${STALE} OR ${FREE} THEN EXCLUDED.run_token ELSE m.run_token END,
         running_until = CASE WHEN ${STALE} OR ${FREE} THEN EXCLUDED.running_until ELSE m.running_until END
       RETURNING id, handled_at IS NOT NULL AS handled, run_token = $7 AS leased`,
      [id, record.linkId, record.moKey, record.msisdn, record.command, windowSec, randomUUID(), leaseSec],
    );
    const row = rows[0]!;
    return { id: row.id, duplicate: row.id !== id, handled: row.handled, running: !row.handled && !row.leased };
  }

  /** Gives up the lease of a run that failed, so that the next re-delivery runs the message again at once. */
  async release(id: string): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET run_token = NULL, running_until = NULL WHERE id = $1 AND handled_at IS NULL", [id]);
  }

  async markHandled(id: string): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET handled_at = CURRENT_TIMESTAMP WHERE id = $1", [id]);
  }
}
