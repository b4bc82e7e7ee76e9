import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import type { FeeScheduleStore, StoredFeeSchedule } from "../../core/fees/ports.js";
import type { FeeBand, FeeSchedule, FeeType } from "../../core/fees/types.js";
import { appendAuditEntries } from "./audit-store.js";
import { LOCK_INSTITUTION } from "./limit-policy-store.js";
import { big, date, iso } from "./policy-rows.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

interface ScheduleRow {
  tx_type: string;
  agent_share_bps: number;
  updated_at: Date;
  /** [min, max, fee] triples as text, in ascending order of min. */
  bands: [string, string, string][] | null;
}

// Bands come back as one JSON array per schedule, ordered by min_minor, amounts as text (JSON
// numbers would lose precision above 2^53).
const SELECT = `SELECT s.tx_type, s.agent_share_bps, s.updated_at,
  (SELECT json_agg(json_build_array(b.min_minor::text, b.max_minor::text, b.fee_minor::text) ORDER BY b.min_minor)
     FROM fee_bands b WHERE b.institution_id = s.institution_id AND b.tx_type = s.tx_type) AS bands
  FROM fee_schedules s WHERE s.institution_id = $1::uuid AND ($2::text IS NULL OR s.tx_type = $2)
  ORDER BY s.tx_type`;

function toSchedule(r: ScheduleRow): StoredFeeSchedule {
  const bands: FeeBand[] = (r.bands ?? []).map(([min, max, fee]) => ({ minMinor: big(min), maxMinor: big(max), feeMinor: big(fee) }));
  return { type: r.tx_type as FeeType, bands, agentShareBps: r.agent_share_bps, updatedAt: date(r.updated_at) };
}

async function select(db: SqlExecutor, institutionId: string, type: FeeType | null): Promise<StoredFeeSchedule[]> {
  const result = await db.query<ScheduleRow>(SELECT, [institutionId, type]);
  return result.rows.map(toSchedule);
}

export class SqlFeeScheduleStore implements FeeScheduleStore {
  constructor(private readonly db: SqlDb) {}

  list(institutionId: string): Promise<StoredFeeSchedule[]> {
    return select(this.db, institutionId, null);
  }

  async get(institutionId: string, type: FeeType): Promise<StoredFeeSchedule | null> {
    return (await select(this.db, institutionId, type))[0] ?? null;
  }

  async put(
    institutionId: string,
    type: FeeType,
    schedule: FeeSchedule | null,
    now: Date,
    audit: (before: FeeSchedule | null) => AuditEntryInput[],
  ): Promise<FeeSchedule | null> {
    return this.db.transaction(async (tx) => {
      await tx.query(LOCK_INSTITUTION, [institutionId]);
      const found = (await select(tx, institutionId, type))[0];
      const before: FeeSchedule | null = found ? { type: found.type, bands: found.bands, agentShareBps: found.agentShareBps } : null;
      // The bands go with their schedule (ON DELETE CASCADE) and are written anew as a whole.
      await tx.query(`DELETE FROM fee_schedules WHERE institution_id = $1::uuid AND tx_type = $2`, [institutionId, type]);
      if (schedule) await insert(tx, institutionId, schedule, now);
      await appendAuditEntries(tx, audit(before), now);
      return before;
    });
  }
}

async function insert(tx: SqlExecutor, institutionId: string, s: FeeSchedule, now: Date): Promise<void> {
  await tx.query(
    `INSERT INTO fee_schedules (institution_id, tx_type, agent_share_bps, updated_at) VALUES ($1::uuid, $2, $3, $4::timestamptz)`,
    [institutionId, s.type, s.agentShareBps, iso(now)],
  );
  await tx.query(
    `INSERT INTO fee_bands (institution_id, tx_type, min_minor, max_minor, fee_minor)
     SELECT $1::uuid, $2, * FROM unnest($3::bigint[], $4::bigint[], $5::bigint[])`,
    [institutionId, s.type, s.bands.map((b) => b.minMinor.toString()), s.bands.map((b) => b.maxMinor.toString()), s.bands.map((b) => b.feeMinor.toString())],
  );
}
