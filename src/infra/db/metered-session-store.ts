import type { SessionLog } from "../../core/tariffs/ports.js";
import type { MeteredSession, SessionEndReason, SessionPayer } from "../../core/tariffs/types.js";
import { big, date, iso } from "./policy-rows.js";
import type { SqlDb } from "./sql.js";

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

// ON CONFLICT DO NOTHING: a concurrent insert of the same id waits for the first to commit and
// then inserts nothing, so the SELECT that follows always finds the winner's row.
const INSERT = `INSERT INTO metered_sessions (session_id, institution_id, telco_id, tariff_plan_id, msisdn, stages, started_at,
  ended_at, duration_ms, end_reason, payer, currency, charge_minor, debit_account_id, credit_account_id, transfer_id)
  VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7::timestamptz, $8::timestamptz, $9, $10, $11, $12, $13::bigint,
    $14::uuid, $15::uuid, $16::uuid)
  ON CONFLICT (session_id) DO NOTHING RETURNING 1`;

// The insert and the stored row in one round trip: the inserted row, or else the one already there.
// A row committed by a concurrent insert after this statement's snapshot is not seen here (no row
// comes back): record() then reads it on its own.
const INSERT_OR_GET = `WITH ins AS (${INSERT.replace("RETURNING 1", `RETURNING ${COLUMNS}`)})
SELECT *, TRUE AS inserted FROM ins
UNION ALL
SELECT ${COLUMNS}, FALSE AS inserted FROM metered_sessions WHERE session_id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`;

/** Metered USSD sessions, one row per session id. */
export class SqlSessionLog implements SessionLog {
  constructor(private readonly db: SqlDb) {}

  async record(s: MeteredSession): Promise<{ session: MeteredSession; inserted: boolean }> {
    const result = await this.db.query<SessionRow & { inserted: boolean }>(INSERT_OR_GET, [
      s.sessionId, s.institutionId, s.telcoId, s.tariffPlanId, s.msisdn, s.stages, iso(s.startedAt), iso(s.endedAt), s.durationMs,
      s.endReason, s.payer, s.currency, s.chargeMinor.toString(), s.debitAccountId, s.creditAccountId, s.transferId,
    ]);
    const row = result.rows[0];
    if (row) return { session: toSession(row), inserted: row.inserted };
    const stored = await this.get(s.sessionId);
    if (!stored) throw new Error(`metered session ${s.sessionId} vanished after insert`);
    return { session: stored, inserted: false };
  }

  async settle(sessionId: string, chargeResult: string): Promise<void> {
    await this.db.query(`UPDATE metered_sessions SET charge_result = $2 WHERE session_id = $1 AND charge_result IS NULL`, [sessionId, chargeResult]);
  }

  async get(sessionId: string): Promise<MeteredSession | null> {
    const result = await this.db.query<SessionRow>(`SELECT ${COLUMNS} FROM metered_sessions WHERE session_id = $1`, [sessionId]);
    return result.rows[0] ? toSession(result.rows[0]) : null;
  }
}
