/**
 * Applying delivery receipts to outbox rows. A receipt names one part by the SMSC's message id;
 * the row's state follows from all its parts' final stats: any EXPIRED → expired, any UNDELIV /
 * REJECTD / DELETED → failed, every part DELIVRD → delivered. The same receipt twice changes nothing.
 */
import type { SqlDb, SqlExecutor } from "./sql.js";

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

/**
 * The parts a receipt's id names: every part with the id as written, else every part with one of
 * its alternates. Usually one part; all of them when the SMSC answered every part of a
 * concatenated message with the same id (it then reports the message once, or each part under
 * that id): marking only the first left such a message "submitted" for good.
 */
export function partsWithId(smscIds: Array<string | null>, ids: { id: string; alternates: string[] }): number[] {
  const exact = smscIds.flatMap((id, i) => (id === ids.id ? [i] : []));
  if (exact.length > 0) return exact;
  return smscIds.flatMap((id, i) => (id !== null && ids.alternates.includes(id) ? [i] : []));
}

/**
 * The newest message sent on one of `linkIds` with one of `ids` among its SMSC ids, locked; one
 * sent on the first link (the receipt's own) before those of the others.
 */
async function findByIds(tx: SqlExecutor, linkIds: readonly string[], ids: string[]): Promise<Row | undefined> {
  const found = await tx.query<Row>(
    `SELECT id, state, part_count, smsc_message_ids, receipt_stats FROM outbox_messages
     WHERE link_id = ANY($1::text[]) AND smsc_message_ids && $2::text[] ORDER BY (link_id = $3) DESC, seq DESC LIMIT 1 FOR UPDATE`,
    [linkIds, ids, linkIds[0]],
  );
  return found.rows[0];
}

export class SqlOutboxReceiptStore {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * `stat` is the receipt's final stat word (DELIVRD …); intermediate stats are not stored.
   * `linkIds` are the receipt's link first, then the other links of its SMSC account (an SMSC
   * delivers a receipt on any bind of the account that sent the message). The message is the
   * newest sent on them with `ids.id` among its SMSC ids, else (none has it) the newest with one of
   * `ids.alternates` (the same id written in another base).
   */
  async apply(linkIds: readonly string[], ids: { id: string; alternates: string[] }, stat: string, error: string | null): Promise<ReceiptMatch> {
    return this.db.transaction(async (tx) => {
      let row = await findByIds(tx, linkIds, [ids.id]);
      if (!row && ids.alternates.length > 0) row = await findByIds(tx, linkIds, ids.alternates);
      if (!row) return "unmatched";
      const partCount = row.part_count ?? row.smsc_message_ids.length;
      const stats = Array.from({ length: partCount }, (_, i) => row.receipt_stats[i] ?? null);
      for (const index of partsWithId(row.smsc_message_ids, ids)) stats[index] = stat;
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
