import type { ActorType, AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { SimSwapEvent, SimSwapKind, SimSwapStore } from "../../core/auth/ports.js";
import { appendAuditEntries } from "./audit-store.js";
import { BatchedRead } from "./batched-read.js";
import type { SqlDb } from "./sql.js";

interface SimSwapRow {
  id: string;
  msisdn: string;
  kind: string;
  occurred_at: Date;
  reported_at: Date;
  reporter_type: string;
  reporter_id: string;
}

const LATEST = `SELECT id, msisdn, kind, occurred_at, reported_at, reporter_type, reporter_id FROM sim_swap_events
  WHERE msisdn = $1 ORDER BY occurred_at DESC LIMIT 1`;

// The bound sits in the statement (the conflict's row is locked and re-checked), so two payments
// at once cannot both pass when together they exceed the allowance.
const SPEND = `INSERT INTO sim_swap_spent (event_id, spent_minor) SELECT $1::uuid, $2::bigint WHERE $2::bigint <= $3::bigint
  ON CONFLICT (event_id) DO UPDATE SET spent_minor = sim_swap_spent.spent_minor + EXCLUDED.spent_minor
  WHERE sim_swap_spent.spent_minor + EXCLUDED.spent_minor <= $3::bigint
  RETURNING spent_minor`;

/** SIM-swap reports in PostgreSQL (or PGlite); append-only, each with its audit entry. */
export class SqlSimSwapStore implements SimSwapStore {
  // Every payment hop asks for the payer's latest swap: concurrent hops share the round trip.
  private readonly latestRead: BatchedRead<SimSwapRow>;

  constructor(private readonly db: SqlDb) {
    this.latestRead = new BatchedRead(db, LATEST, 1);
  }

  async record(e: SimSwapEvent, audit: AuditEntryInput[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO sim_swap_events (id, msisdn, kind, occurred_at, reported_at, reporter_type, reporter_id)
         VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6, $7)`,
        [e.id, e.msisdn, e.kind, e.occurredAt.toISOString(), e.reportedAt.toISOString(), e.reporterType, e.reporterId],
      );
      await appendAuditEntries(tx, audit, e.reportedAt);
    });
  }

  async spend(eventId: string, amountMinor: bigint, maxMinor: bigint): Promise<boolean> {
    const result = await this.db.query(SPEND, [eventId, amountMinor.toString(), maxMinor.toString()]);
    return result.rows.length === 1;
  }

  async giveBack(eventId: string, amountMinor: bigint): Promise<void> {
    await this.db.query(`UPDATE sim_swap_spent SET spent_minor = GREATEST(0, spent_minor - $2::bigint) WHERE event_id = $1::uuid`, [eventId, amountMinor.toString()]);
  }

  async latest(msisdn: string): Promise<SimSwapEvent | null> {
    const [r] = await this.latestRead.query([msisdn]);
    if (!r) return null;
    return {
      id: r.id,
      msisdn: r.msisdn,
      kind: r.kind as SimSwapKind,
      occurredAt: new Date(r.occurred_at),
      reportedAt: new Date(r.reported_at),
      reporterType: r.reporter_type as ActorType,
      reporterId: r.reporter_id,
    };
  }
}
