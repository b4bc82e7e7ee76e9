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

// The number's cooling run (coolingRunStart in src/core/auth/cooling-run.ts): the latest report
// that fell after the cooling of the report before it. The allowance has a row per run, by the
// run's start as it was when the row was written; every row whose start is at or after this run's
// start counts towards it: its own, and those of later runs that a late report joined to it (what
// each part spent counts in the whole). Rows of runs that had ended before this one began count
// nothing. The caller holds the number's lock (LOCK), and the statement's snapshot is taken after
// it, so two payments at once cannot both pass when together they exceed the allowance.
const SPEND = `WITH run AS (
    SELECT max(occurred_at) AS since FROM (
      SELECT occurred_at, lag(occurred_at) OVER (ORDER BY occurred_at) AS previous FROM sim_swap_events WHERE msisdn = $1) e
    WHERE previous IS NULL OR occurred_at >= previous + $4::bigint * interval '1 millisecond'),
  spent AS (
    SELECT coalesce(sum(a.spent_minor), 0)::bigint AS total FROM sim_swap_allowance a, run WHERE a.msisdn = $1 AND a.since >= run.since)
  INSERT INTO sim_swap_allowance AS a (msisdn, since, spent_minor)
  SELECT $1, run.since, $2::bigint FROM run, spent WHERE run.since IS NOT NULL AND spent.total + $2::bigint <= $3::bigint
  ON CONFLICT (msisdn, since) DO UPDATE SET spent_minor = a.spent_minor + EXCLUDED.spent_minor
  RETURNING since`;

// One number's spends one after the other (the rows of all its runs are summed, so no single row lock covers them).
const LOCK = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`;
const lockKey = (msisdn: string) => `fingate:sim-swap-allowance:${msisdn}`;

// To the row that took it: it counts wherever that run's spending counts (in its own run, or in a
// run a late report joined it to), and nowhere else.
const GIVE_BACK = `UPDATE sim_swap_allowance SET spent_minor = GREATEST(0, spent_minor - $3::bigint)
  WHERE msisdn = $1 AND date_trunc('milliseconds', since) = $2::timestamptz`;

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

  async spend(msisdn: string, amountMinor: bigint, maxMinor: bigint, coolingMs: number): Promise<Date | null> {
    const result = await this.db.transaction(async (tx) => {
      await tx.query(LOCK, [lockKey(msisdn)]);
      return tx.query<{ since: Date }>(SPEND, [msisdn, amountMinor.toString(), maxMinor.toString(), String(Math.trunc(coolingMs))]);
    });
    const row = result.rows[0];
    return row ? new Date(row.since) : null;
  }

  async giveBack(msisdn: string, since: Date, amountMinor: bigint): Promise<void> {
    await this.db.query(GIVE_BACK, [msisdn, since.toISOString(), amountMinor.toString()]);
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
