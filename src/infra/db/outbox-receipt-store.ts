/**
 * Applying delivery receipts to outbox rows. A receipt names one part by the SMSC's message id;
 * the row's state follows from all its parts' final stats: any EXPIRED → expired, any UNDELIV /
 * REJECTD / DELETED → failed, every part DELIVRD → delivered. The same receipt twice changes nothing.
 */
import type { SqlDb } from "./sql.js";

export type ReceiptMatch = "matched" | "unmatched";

const FAILED_STATS = new Set(["UNDELIV", "REJECTD", "DELETED"]);

interface Row {
  id: string;
  state: string;
  part_count: number | null;
  smsc_message_ids: Array<string | null>;
  receipt_stats: Array<string | null>;
}

/** The row's state after the receipt stats `stats`; unchanged while parts are still out. */
export function stateAfterReceipts(current: string, partCount: number, stats: Array<string | null>): string {
  if (stats.includes("EXPIRED")) return "expired";
  if (stats.some((s) => s !== null && FAILED_STATS.has(s))) return "failed";
  const delivered = stats.filter((s) => s === "DELIVRD").length;
  if (current === "submitted" && delivered === partCount) return "delivered";
  return current;
}

export class SqlOutboxReceiptStore {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** `stat` is the receipt's final stat word (DELIVRD …); intermediate stats are not stored. */
  async apply(linkId: string, smscMessageId: string, stat: string, error: string | null): Promise<ReceiptMatch> {
    return this.db.transaction(async (tx) => {
      const found = await tx.query<Row>(
        `SELECT id, state, part_count, smsc_message_ids, receipt_stats FROM outbox_messages
         WHERE link_id = $1 AND smsc_message_ids @> ARRAY[$2]::text[] ORDER BY seq DESC LIMIT 1 FOR UPDATE`,
        [linkId, smscMessageId],
      );
      const row = found.rows[0];
      if (!row) return "unmatched";
      const partCount = row.part_count ?? row.smsc_message_ids.length;
      const index = row.smsc_message_ids.indexOf(smscMessageId);
      const stats = Array.from({ length: partCount }, (_, i) => row.receipt_stats[i] ?? null);
      stats[index] = stat;
      const state = stateAfterReceipts(row.state, partCount, stats);
      const final = state !== row.state && ["delivered", "failed", "expired"].includes(state);
      await tx.query(
        `UPDATE outbox_messages SET receipt_stats = $2::text[], state = $3,
           done_at = CASE WHEN $4::boolean THEN $5::timestamptz ELSE done_at END,
           last_error = CASE WHEN $6::text IS NOT NULL THEN $6 ELSE last_error END
         WHERE id = $1::uuid`,
        [row.id, stats, state, final, this.clock().toISOString(), error === null || stat === "DELIVRD" ? null : `receipt ${stat} err ${error}`],
      );
      return "matched";
    });
  }
}
