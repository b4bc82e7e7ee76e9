import type { SessionLog, SweepKey, UnpostedPage } from "../../core/tariffs/ports.js";
import type { MeteredSession, SessionEndReason, SessionPayer } from "../../core/tariffs/types.js";
import { big, date, iso } from "./policy-rows.js";
import type { SqlDb } from "./sql.js";
import { statementName } from "./statement-name.js";
import { WriteBatches } from "./write-batches.js";

interface KeyRow {
  institution_id: string;
  session_id: string;
}

interface SessionRow {
  session_id: string;
  institution_id: string;
  telco_id: string;
  tariff_plan_id: string | null;
  msisdn: string;
  stages: number;
  started_at: Date;
  ended_at: Date;
  duration_ms: number;
  end_reason: string;
  payer: string | null;
  currency: string | null;
  charge: string;
  debit_account_id: string | null;
  credit_account_id: string | null;
  transfer_id: string | null;
  charge_result: string | null;
}

const COLUMNS = `session_id, institution_id, telco_id, tariff_plan_id, msisdn, stages, started_at, ended_at, duration_ms,
  end_reason, payer, currency, charge_minor::text AS charge, debit_account_id, credit_account_id, transfer_id, charge_result`;

function toSession(r: SessionRow): MeteredSession {
  return {
    sessionId: r.session_id,
    institutionId: r.institution_id,
    telcoId: r.telco_id,
    tariffPlanId: r.tariff_plan_id,
    msisdn: r.msisdn,
    stages: r.stages,
    startedAt: date(r.started_at),
    endedAt: date(r.ended_at),
    durationMs: r.duration_ms,
    endReason: r.end_reason as SessionEndReason,
    payer: r.payer as SessionPayer | null,
    currency: r.currency,
    chargeMinor: big(r.charge),
    debitAccountId: r.debit_account_id,
    creditAccountId: r.credit_account_id,
    transferId: r.transfer_id,
    chargeResult: r.charge_result,
  };
}

// Charge outcomes of the sessions settled together (WriteBatches), in one statement: the function
// (migration 20261128020000) updates the sessions one by one by primary key in key order
// (institution, session id), each only while it has no outcome (the first one recorded stays). Rows
// are locked in key order as they are updated, so two processes' batches cannot deadlock, and a
// per-row key lookup keeps its index scan however small the table looked when the plan was made.
const SETTLE_BATCH = `SELECT metered_sessions_settle($1::uuid[], $2::text[], $3::text[])`;
const SETTLE_BATCH_NAME = statementName(SETTLE_BATCH);

// Several sessions inserted in key order, institution then session id, as the settle takes them
// (two processes' batches cannot deadlock on the key). Only the keys of the rows inserted come
// back: such a row is the session as given. A session already stored is not read here
// (recordBatch reads the few that were), so the common batch scans nothing but its own rows.
const RECORD_BATCH = `INSERT INTO metered_sessions (session_id, institution_id, telco_id, tariff_plan_id, msisdn, stages, started_at,
    ended_at, duration_ms, end_reason, payer, currency, charge_minor, debit_account_id, credit_account_id, transfer_id)
  SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::timestamptz[], $8::timestamptz[],
      $9::int[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::uuid[], $15::uuid[], $16::uuid[])
    AS r(session_id, institution_id, telco_id, tariff_plan_id, msisdn, stages, started_at, ended_at, duration_ms, end_reason, payer,
      currency, charge_minor, debit_account_id, credit_account_id, transfer_id)
  ORDER BY institution_id, session_id
ON CONFLICT (institution_id, session_id) DO NOTHING RETURNING institution_id, session_id`;
const RECORD_BATCH_NAME = statementName(RECORD_BATCH);

/**
 * A session's key as one string (WriteBatches' key, lookups): the institution id is a UUID, of fixed
 * length, so no two pairs give the same string; lower-cased, as PostgreSQL returns it.
 */
const keyOf = (institutionId: string, sessionId: string): string => `${institutionId.toLowerCase()} ${sessionId}`;
const sessionKey = (s: { institutionId: string; sessionId: string }): string => keyOf(s.institutionId, s.sessionId);
const rowKey = (r: KeyRow): string => keyOf(r.institution_id, r.session_id);

/** What a report gets from its batch: the stored session, or the error its row alone met. */
type Recorded = { session: MeteredSession; inserted: boolean } | { error: unknown };

/** Rows written in one statement at most. */
const MAX_BATCH = 500;

/**
 * How long a batch waits for more sessions (WriteBatches' linger). Metering is off the hop's path
 * (the gateway does not wait for it), and a statement's fixed cost (execution start, commit) was
 * most of a session's: at 500 sessions a second, the insert and settle cost the server about
 * 110 µs of CPU a session in batches gathered over 50 ms against 380–440 µs when each batch left at
 * once (bench/metering.ts), and the gateway 170 µs against 410–440 µs.
 */
const LINGER_MS = 50;

function recordColumns(batch: MeteredSession[]): unknown[] {
  const column = <V>(f: (s: MeteredSession) => V) => batch.map(f);
  return [
    column((s) => s.sessionId), column((s) => s.institutionId), column((s) => s.telcoId), column((s) => s.tariffPlanId),
    column((s) => s.msisdn), column((s) => s.stages), column((s) => iso(s.startedAt)), column((s) => iso(s.endedAt)),
    column((s) => s.durationMs), column((s) => s.endReason), column((s) => s.payer), column((s) => s.currency),
    column((s) => s.chargeMinor.toString()), column((s) => s.debitAccountId), column((s) => s.creditAccountId), column((s) => s.transferId),
  ];
}

interface Settle {
  institutionId: string;
  sessionId: string;
  chargeResult: string;
}

/** Metered USSD sessions, one row per institution and session id. */
export class SqlSessionLog implements SessionLog {
  // Sessions end by the hundred a second: their inserts and settles are written in batches.
  private readonly records = new WriteBatches<MeteredSession, Recorded>((batch) => this.recordBatch(batch), sessionKey, MAX_BATCH, LINGER_MS);
  private readonly settles = new WriteBatches<Settle, void>(
    async (batch) => {
      const columns = [batch.map((p) => p.institutionId), batch.map((p) => p.sessionId), batch.map((p) => p.chargeResult)];
      await this.db.query(SETTLE_BATCH, columns, SETTLE_BATCH_NAME);
      return batch.map(() => undefined);
    },
    sessionKey,
    MAX_BATCH,
    LINGER_MS,
  );

  constructor(private readonly db: SqlDb) {}

  async record(s: MeteredSession): Promise<{ session: MeteredSession; inserted: boolean }> {
    const outcome = await this.records.submit(s);
    if ("error" in outcome) throw outcome.error;
    return outcome;
  }

  /**
   * The sessions ending together, inserted in one statement; each is answered with the stored row:
   * its own when inserted, else the one stored first (read after the insert, which waited for any
   * concurrent insert of the same key to commit, so that row is visible to the read).
   */
  private async recordBatch(batch: MeteredSession[]): Promise<Recorded[]> {
    let rows: KeyRow[];
    try {
      rows = (await this.db.query<KeyRow>(RECORD_BATCH, recordColumns(batch), RECORD_BATCH_NAME)).rows;
    } catch (error) {
      // One bad row (a CHECK) must not fail the others: each alone, as before batching, each
      // answered with its own outcome.
      if (batch.length === 1) return [{ error }];
      return (await Promise.all(batch.map((s) => this.recordBatch([s])))).flat();
    }
    const inserted = new Set(rows.map(rowKey));
    const stored = await this.getMany(batch.filter((s) => !inserted.has(sessionKey(s))));
    return batch.map((s) => {
      if (inserted.has(sessionKey(s))) return { session: { ...s }, inserted: true };
      const row = stored.get(sessionKey(s));
      return row ? { session: row, inserted: false } : { error: new Error(`metered session ${s.sessionId} vanished after insert`) };
    });
  }

  /** Stored sessions by key (not prepared: rare, and planned with the table as it is). */
  private async getMany(keys: { institutionId: string; sessionId: string }[]): Promise<Map<string, MeteredSession>> {
    if (keys.length === 0) return new Map();
    const result = await this.db.query<SessionRow>(
      `SELECT ${COLUMNS} FROM metered_sessions
       WHERE (institution_id, session_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`,
      [keys.map((k) => k.institutionId), keys.map((k) => k.sessionId)],
    );
    return new Map(result.rows.map((r) => [rowKey(r), toSession(r)]));
  }

  async settle(institutionId: string, sessionId: string, chargeResult: string): Promise<void> {
    await this.settles.submit({ institutionId, sessionId, chargeResult });
  }

  async unposted(institutionId: string, after: SweepKey, endedBefore: Date, limit: number): Promise<UnpostedPage> {
    // A page of every session past the key, settled or not, over the (institution_id, ended_at)
    // index: each statement reads at most `limit` rows, however few of them are unposted. (Reading
    // only the unposted ones, a statement walked every settled session of its span, a day of them
    // on a process's first sweep, to fill its page.) No index is added that every insert and settle
    // would have to keep up.
    const result = await this.db.query<SessionRow & { due: boolean }>(
      `SELECT ${COLUMNS}, (charge_result IS NULL AND charge_minor > 0 AND currency IS NOT NULL) AS due FROM metered_sessions
       WHERE institution_id = $1::uuid AND ended_at >= $2::timestamptz AND (ended_at, session_id) > ($2::timestamptz, $3::text)
         AND ended_at < $4::timestamptz
       ORDER BY ended_at, session_id LIMIT $5`,
      [institutionId, iso(after.endedAt), after.sessionId, iso(endedBefore), limit],
    );
    const last = result.rows.at(-1);
    return {
      sessions: result.rows.filter((r) => r.due).map(toSession),
      last: last ? { endedAt: date(last.ended_at), sessionId: last.session_id } : null,
      read: result.rows.length,
    };
  }

  async sweepMark(institutionId: string): Promise<SweepKey | null> {
    const result = await this.db.query<{ ended_at: Date; session_id: string }>(
      "SELECT ended_at, session_id FROM charge_sweep_marks WHERE institution_id = $1::uuid",
      [institutionId],
    );
    const row = result.rows[0];
    return row ? { endedAt: date(row.ended_at), sessionId: row.session_id } : null;
  }

  async saveSweepMark(institutionId: string, reached: SweepKey): Promise<void> {
    // Forward only: instances sweep the same sessions, and one that lags must not pull the mark back.
    await this.db.query(
      `INSERT INTO charge_sweep_marks (institution_id, ended_at, session_id) VALUES ($1::uuid, $2::timestamptz, $3::text)
       ON CONFLICT (institution_id) DO UPDATE SET ended_at = EXCLUDED.ended_at, session_id = EXCLUDED.session_id, updated_at = now()
       WHERE (charge_sweep_marks.ended_at, charge_sweep_marks.session_id) < (EXCLUDED.ended_at, EXCLUDED.session_id)`,
      [institutionId, iso(reached.endedAt), reached.sessionId],
    );
  }

  async get(institutionId: string, sessionId: string): Promise<MeteredSession | null> {
    return (await this.getMany([{ institutionId, sessionId }])).get(keyOf(institutionId, sessionId)) ?? null;
  }
}
