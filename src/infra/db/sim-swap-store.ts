import type { ActorType, AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { SimSwapEvent, SimSwapKind, SimSwapStore } from "../../core/auth/ports.js";
import { appendAuditEntries } from "./audit-store.js";
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

/** SIM-swap reports in PostgreSQL (or PGlite); append-only, each with its audit entry. */
export class SqlSimSwapStore implements SimSwapStore {
  constructor(private readonly db: SqlDb) {}

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

  async latest(msisdn: string): Promise<SimSwapEvent | null> {
    const result = await this.db.query<SimSwapRow>(
      `SELECT id, msisdn, kind, occurred_at, reported_at, reporter_type, reporter_id FROM sim_swap_events
       WHERE msisdn = $1 ORDER BY occurred_at DESC LIMIT 1`,
      [msisdn],
    );
    const r = result.rows[0];
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
