import type { AuditEntryInput } from "../../core/audit/audit-entry.js";
import { lockEnd } from "../../core/auth/lockout.js";
import type { AttemptReservation, LockRule, PinCredential, PinStore, StoredPin } from "../../core/auth/ports.js";
import type { Notice } from "../../core/notices/types.js";
import { appendAuditEntries, auditChainParams, auditChainSqlWhen, sqlAbortWhen } from "./audit-store.js";
import { insertOutboxNotices } from "./outbox-store.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

const COLUMNS = `subject_id, msisdn, pin_hash, pin_scheme, failed_attempts, locked_at, locked_until, pin_set_at`;

// The count and the lock in one atomic UPDATE: concurrent attempts on one subject queue on its
// row and each sees the count the previous one left (READ COMMITTED re-evaluates both the WHERE
// and the SET on the latest row version). A locked row is not matched, so a locked PIN costs no
// hash check. Same arithmetic as countAttempt() in src/core/auth/lockout.ts: an expired lock
// (locked_at set, locked_until passed) starts the count afresh.
// Right-hand sides of SET see the row as it was: this is the count including this attempt.
const ATTEMPTS = `(CASE WHEN locked_at IS NULL THEN failed_attempts ELSE 0 END + 1)`;
const COUNT_ATTEMPT = `
UPDATE pin_credentials SET
  failed_attempts = ${ATTEMPTS},
  locked_at = CASE WHEN ${ATTEMPTS} >= $3 THEN $2::timestamptz END,
  locked_until = CASE WHEN ${ATTEMPTS} >= $3 THEN $4::timestamptz END,
  updated_at = $2::timestamptz
WHERE subject_id = $1::uuid AND (locked_at IS NULL OR (locked_until IS NOT NULL AND locked_until <= $2::timestamptz))
RETURNING pin_hash, pin_scheme, msisdn, failed_attempts, locked_until, locked_at IS NOT NULL AS locked_now`;

const CLEAR_LOCK = `failed_attempts = 0, locked_at = NULL, locked_until = NULL`;

// A right PIN settled in one statement (one round trip, where a transaction took five): the
// credential's reset and, only if it matched, its audit entries, which commit with it. The PIN
// row is locked first (the head's condition reads pin_settled), the audit head last. Should the
// head not move although the credential changed (no head row), the statement aborts, undoing both.
// A re-key swaps the verifier and its scheme together; pin_set_at stays (the PIN is the same).
const SETTLE_SUCCESS = `WITH RECURSIVE pin_settled AS (
  UPDATE pin_credentials SET ${CLEAR_LOCK}, updated_at = $3::timestamptz,
    pin_hash = COALESCE($4::text, pin_hash), pin_scheme = COALESCE($5::text, pin_scheme)
  WHERE subject_id = $1::uuid AND pin_hash = $2 RETURNING 1
), ${auditChainSqlWhen(6, "$3::timestamptz", "EXISTS (SELECT 1 FROM pin_settled)")},
outcome AS (
  SELECT (SELECT count(*) FROM pin_settled)::int AS changed, (SELECT count(*) FROM audit_move)::int AS moved
)
SELECT changed, ${sqlAbortWhen("changed = 1 AND $15::int > 0 AND moved <> 1", "audit head did not advance")} AS aborted FROM outcome`;

interface PinRow {
  subject_id: string;
  msisdn: string;
  pin_hash: string;
  pin_scheme: string;
  failed_attempts: number;
  locked_at: Date | null;
  locked_until: Date | null;
  pin_set_at: Date;
}

const date = (d: Date | null): Date | null => (d === null ? null : new Date(d));

function toCredential(r: PinRow): PinCredential {
  return {
    subjectId: r.subject_id,
    msisdn: r.msisdn,
    pinHash: r.pin_hash,
    pinScheme: r.pin_scheme,
    failedAttempts: r.failed_attempts,
    lockedAt: date(r.locked_at),
    lockedUntil: date(r.locked_until),
    pinSetAt: new Date(r.pin_set_at),
  };
}

/**
 * PIN credentials in PostgreSQL (or PGlite). Writes commit their audit entries with them. Changes
 * are detected by RETURNING rows, which both engines report alike.
 */
export class SqlPinStore implements PinStore {
  constructor(private readonly db: SqlDb) {}

  async find(subjectId: string): Promise<PinCredential | null> {
    const result = await this.db.query<PinRow>(`SELECT ${COLUMNS} FROM pin_credentials WHERE subject_id = $1::uuid`, [subjectId]);
    return result.rows[0] ? toCredential(result.rows[0]) : null;
  }

  async insert(c: PinCredential, now: Date, audit: AuditEntryInput[]): Promise<boolean> {
    return this.writeAudited(audit, now, async (tx) => {
      const result = await tx.query(
        `INSERT INTO pin_credentials (subject_id, msisdn, pin_hash, pin_scheme, failed_attempts, locked_at, locked_until, pin_set_at,
           created_at, updated_at)
         VALUES ($1::uuid, $2, $3, $6, 0, NULL, NULL, $4::timestamptz, $5::timestamptz, $5::timestamptz)
         ON CONFLICT (subject_id) DO NOTHING RETURNING 1`,
        [c.subjectId, c.msisdn, c.pinHash, c.pinSetAt.toISOString(), now.toISOString(), c.pinScheme],
      );
      return result.rows.length === 1;
    });
  }

  async countAttempt(subjectId: string, now: Date, rule: LockRule): Promise<AttemptReservation> {
    const until = lockEnd(rule, now);
    const counted = await this.db.query<{
      pin_hash: string;
      pin_scheme: string;
      msisdn: string;
      failed_attempts: number;
      locked_until: Date | null;
      locked_now: boolean;
    }>(COUNT_ATTEMPT, [subjectId, now.toISOString(), rule.maxAttempts, until === null ? null : until.toISOString()]);
    const row = counted.rows[0];
    if (row) {
      return {
        kind: "counted",
        pinHash: row.pin_hash,
        pinScheme: row.pin_scheme,
        msisdn: row.msisdn,
        failedAttempts: row.failed_attempts,
        lockedNow: row.locked_now,
        lockedUntil: date(row.locked_until),
      };
    }
    // Not matched: either no such subject or a lock in force. A fresh read tells which.
    const current = await this.db.query<{ locked_until: Date | null }>(
      `SELECT locked_until FROM pin_credentials WHERE subject_id = $1::uuid`,
      [subjectId],
    );
    const locked = current.rows[0];
    return locked ? { kind: "locked", lockedUntil: date(locked.locked_until) } : { kind: "unknown" };
  }

  async settleSuccess(subjectId: string, pinHash: string, now: Date, audit: AuditEntryInput[], rekeyed?: StoredPin): Promise<boolean> {
    // Entries are validated and redacted before anything is sent (auditChainParams throws).
    const params = [subjectId, pinHash, now.toISOString(), rekeyed?.pinHash ?? null, rekeyed?.scheme ?? null, ...auditChainParams(audit, now)];
    const result = await this.db.query<{ changed: number }>(SETTLE_SUCCESS, params);
    return result.rows[0]?.changed === 1;
  }

  async replaceHash(
    subjectId: string,
    expectedHash: string | null,
    next: StoredPin,
    now: Date,
    audit: AuditEntryInput[],
    notices: Notice[] = [],
  ): Promise<boolean> {
    return this.writeAudited(audit, now, async (tx) => {
      const result = await tx.query(
        `UPDATE pin_credentials SET pin_hash = $3, pin_scheme = $5, pin_set_at = $4::timestamptz, ${CLEAR_LOCK}, updated_at = $4::timestamptz
         WHERE subject_id = $1::uuid AND ($2::text IS NULL OR pin_hash = $2::text) RETURNING 1`,
        [subjectId, expectedHash, next.pinHash, now.toISOString(), next.scheme],
      );
      // The notice commits with the change or not at all (the outbox's promise).
      if (result.rows.length === 1) await insertOutboxNotices(tx, notices);
      return result.rows.length === 1;
    });
  }

  async unlock(subjectId: string, now: Date, audit: AuditEntryInput[]): Promise<{ wasLocked: boolean } | null> {
    let wasLocked = false;
    const found = await this.writeAudited(audit, now, async (tx) => {
      const before = await tx.query<{ locked: boolean }>(
        `SELECT locked_at IS NOT NULL AND (locked_until IS NULL OR locked_until > $2::timestamptz) AS locked
         FROM pin_credentials WHERE subject_id = $1::uuid FOR UPDATE`,
        [subjectId, now.toISOString()],
      );
      if (!before.rows[0]) return false;
      wasLocked = before.rows[0].locked;
      await tx.query(`UPDATE pin_credentials SET ${CLEAR_LOCK}, updated_at = $2::timestamptz WHERE subject_id = $1::uuid`, [
        subjectId,
        now.toISOString(),
      ]);
      return true;
    });
    return found ? { wasLocked } : null;
  }

  /** Runs write; when it reports a change, appends the audit entries in the same transaction. */
  private writeAudited(audit: AuditEntryInput[], now: Date, write: (tx: SqlExecutor) => Promise<boolean>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = await write(tx);
      if (changed) await appendAuditEntries(tx, audit, now);
      return changed;
    });
  }
}
