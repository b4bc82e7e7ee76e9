import { chainOf, type AuditEntryInput } from "../../core/audit/audit-entry.js";
import { CLEARED_COUNTER, lockEnd } from "../../core/auth/lockout.js";
import type { AttemptReservation, LockRule, PinCredential, PinStore, SeenCredential, SeenOutcome, StoredPin } from "../../core/auth/ports.js";
import type { Notice } from "../../core/notices/types.js";
import { auditChainOfEntries, appendAuditEntries, auditChainParams, auditChainValues, sqlAbortWhen, type AuditChainParams } from "./audit-store.js";
import { insertOutboxNotices } from "./outbox-store.js";
import type { SqlDb, SqlExecutor } from "./sql.js";
import { statementName } from "./statement-name.js";
import { WriteBatches } from "./write-batches.js";

const COLUMNS = `subject_id, msisdn, pin_hash, pin_scheme, failed_attempts, locked_at, locked_until, lock_count, attempt_seq, pin_set_at`;

// The count and the lock in one atomic UPDATE: concurrent attempts on one subject queue on its
// row and each sees the count the previous one left (READ COMMITTED re-evaluates both the WHERE
// and the SET on the latest row version). A locked row is not matched, so a locked PIN costs no
// hash check. Same arithmetic as countAttempt() in src/core/auth/lockout.ts: an expired lock
// (locked_at set, locked_until passed) starts the count afresh.
// Right-hand sides of SET see the row as it was: this is the count including this attempt.
// Attempts of several subjects are counted in one statement (WriteBatches), each with its own time
// and rule; one subject's attempts still one statement after another. Rows are locked in subject
// order before any is counted (the InitPlan runs first), so two processes' batches cannot deadlock.
const ATTEMPTS = `(CASE WHEN p.locked_at IS NULL THEN p.failed_attempts ELSE 0 END + 1)`;
const COUNT_BATCH = `WITH req AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::timestamptz[], $5::int[]) WITH ORDINALITY AS r(subject_id, at, max_attempts, until, max_locks, idx)
), pin_locked AS (
  SELECT p.subject_id FROM pin_credentials p WHERE p.subject_id = ANY($1::uuid[]) ORDER BY p.subject_id FOR UPDATE
)
UPDATE pin_credentials p SET
  failed_attempts = ${ATTEMPTS},
  locked_at = CASE WHEN ${ATTEMPTS} >= r.max_attempts THEN r.at END,
  locked_until = CASE WHEN ${ATTEMPTS} >= r.max_attempts AND p.lock_count + 1 < r.max_locks THEN r.until END,
  lock_count = CASE WHEN ${ATTEMPTS} >= r.max_attempts THEN p.lock_count + 1 ELSE p.lock_count END,
  wrong_known = CASE WHEN p.locked_at IS NULL THEN p.wrong_known ELSE 0 END,
  attempt_seq = p.attempt_seq + 1,
  updated_at = r.at
FROM (SELECT * FROM req WHERE (SELECT count(*) FROM pin_locked) >= 0) r
WHERE p.subject_id = r.subject_id AND (p.locked_at IS NULL OR (p.locked_until IS NOT NULL AND p.locked_until <= r.at))
RETURNING r.idx, p.pin_hash, p.pin_scheme, p.msisdn, p.failed_attempts, p.locked_until, p.locked_at IS NOT NULL AS locked_now, p.lock_count, p.attempt_seq`;
const COUNT_BATCH_NAME = statementName(COUNT_BATCH);

interface PendingCount {
  subjectId: string;
  now: string;
  maxAttempts: number;
  until: string | null;
  maxLocks: number;
}

interface CountedRow {
  pin_hash: string;
  pin_scheme: string;
  msisdn: string;
  failed_attempts: number;
  locked_until: Date | null;
  locked_now: boolean;
  lock_count: number;
  attempt_seq: number;
}

/** CLEARED_COUNTER in SQL. */
const CLEAR_LOCK = `failed_attempts = 0, locked_at = NULL, locked_until = NULL, lock_count = 0, wrong_known = 0`;

// Right PINs settled in batches (WriteBatches): one statement, one commit and one turn at the audit
// head for every verify that arrived while the previous batch was being written. Under load the
// head lock and its commit had serialized every verify in the process.
// Per request: its credential's new counter and lock (a reset after a counted right PIN; after a
// verify decided on a seen credential, its outcome, written only if the row is still as seen and
// unlocked) and, only if that matched, its audit entries, chained in request order; both commit
// before any caller is answered. Pin rows are locked in subject order
// (the InitPlan runs before the update touches a row), so batches of two processes cannot deadlock,
// and the audit head last. Should the head not move although entries were due, the statement aborts.
// A counted right PIN (r.seq: its attempt's number) forgives the attempts counted up to it and keeps
// those counted after it (settleRight in lockout.ts): the counter becomes attempt_seq - r.seq, and
// the lock and lock count are cleared, unless that would not shrink the counter (KEEP: every attempt
// counted now came after this one), when the row's counter and lock stay as they are. A seen
// verify writes its outcome, if the row still has the seen counter and number, and takes the next
// number, like a counted attempt.
// A counted wrong PIN (NOTED) writes its refusal's audit entries and leaves the counter as it is,
// bar wrong_known: one more, if the attempt is still in the counter (numbered after those it
// forgave or restarted). A seen wrong PIN is the counter's newest attempt: one more. A right PIN
// that forgives part of the counter leaves it unknown which of the rest are wrong: 0, so a lock
// they make is waited for (never answered final too early).
const KEEP = `(r.seq IS NOT NULL AND p.attempt_seq - r.seq >= p.failed_attempts)`;
const NOTED = `(r.wrong AND r.seen_attempts IS NULL)`;
/** The chain of what a settle writes: PIN verifications and changes. */
const SETTLE_CHAIN = chainOf("pin.verify");
const SETTLE_BATCH = `WITH RECURSIVE req AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
    $17::int[], $18::int[], $19::int[], $20::timestamptz[], $21::timestamptz[], $22::int[], $23::int[], $24::int[], $25::boolean[])
    WITH ORDINALITY AS r(subject_id, pin_hash, new_hash, new_scheme, at, seen_attempts, seen_locks, attempts, locked_at, locked_until, locks, seq, seen_seq, wrong, idx)
), pin_locked AS (
  SELECT p.subject_id FROM pin_credentials p WHERE p.subject_id = ANY($1::uuid[]) ORDER BY p.subject_id FOR UPDATE
), pin_settled AS (
  UPDATE pin_credentials p SET
    failed_attempts = CASE WHEN ${NOTED} OR ${KEEP} THEN p.failed_attempts WHEN r.seq IS NULL THEN r.attempts ELSE GREATEST(p.attempt_seq - r.seq, 0) END,
    locked_at = CASE WHEN ${NOTED} OR ${KEEP} THEN p.locked_at ELSE r.locked_at END,
    locked_until = CASE WHEN ${NOTED} OR ${KEEP} THEN p.locked_until ELSE r.locked_until END,
    lock_count = CASE WHEN ${NOTED} OR ${KEEP} THEN p.lock_count ELSE r.locks END,
    wrong_known = CASE WHEN ${NOTED} THEN p.wrong_known + CASE WHEN r.seq > p.attempt_seq - p.failed_attempts THEN 1 ELSE 0 END
      WHEN r.wrong THEN p.wrong_known + 1 WHEN ${KEEP} THEN p.wrong_known ELSE 0 END,
    attempt_seq = p.attempt_seq + CASE WHEN r.seen_attempts IS NOT NULL THEN 1 ELSE 0 END,
    updated_at = r.at,
    pin_hash = COALESCE(r.new_hash, p.pin_hash), pin_scheme = COALESCE(r.new_scheme, p.pin_scheme)
  FROM (SELECT * FROM req WHERE (SELECT count(*) FROM pin_locked) >= 0) r
  WHERE p.subject_id = r.subject_id AND p.pin_hash = r.pin_hash
    AND (r.seen_attempts IS NULL OR (p.failed_attempts = r.seen_attempts AND p.lock_count = r.seen_locks AND p.attempt_seq = r.seen_seq AND p.locked_at IS NULL))
  RETURNING r.idx
), audit_entries AS (
  SELECT row_number() OVER (ORDER BY e.ord) AS i, e.*
  FROM unnest($6::bigint[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
    $14::text[], $15::text[], $16::text[])
    WITH ORDINALITY AS e(owner, at, prefix, suffix, actor_type, actor_id, action, channel, outcome, subject, payload, ord)
  WHERE e.owner IN (SELECT idx FROM pin_settled)
), ${auditChainOfEntries(SETTLE_CHAIN)}
SELECT array(SELECT idx::int FROM pin_settled) AS settled,
  ${sqlAbortWhen("(SELECT count(*) FROM audit_entries) > 0 AND (SELECT count(*) FROM audit_move) <> 1", "fingate audit head did not advance")} AS aborted`;

const SETTLE_BATCH_NAME = statementName(SETTLE_BATCH);

/** Verifies settled in one statement at most: bounded so a statement stays small. */
const MAX_SETTLE_BATCH = 256;

interface PendingSettle {
  subjectId: string;
  pinHash: string;
  now: Date;
  rekeyed?: StoredPin;
  /** Decided on a seen credential: written only if the row still has this counter, unlocked. */
  seen?: SeenCredential;
  /** The counter and lock to write (a counted right PIN: all cleared, bar what KEEP keeps). */
  outcome: SeenOutcome;
  /** A counted PIN: its attempt's number. */
  attemptSeq?: number;
  /** A wrong PIN: counted (only noted, outcome ignored) or seen (outcome written). */
  wrong?: boolean;
  /** auditChainParams of this request's entries, made before it was queued (they throw on a bad entry). */
  audit: AuditChainParams;
}

interface PinRow {
  subject_id: string;
  msisdn: string;
  pin_hash: string;
  pin_scheme: string;
  failed_attempts: number;
  locked_at: Date | null;
  locked_until: Date | null;
  lock_count: number;
  attempt_seq: number;
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
    lockCount: r.lock_count,
    attemptSeq: r.attempt_seq,
    pinSetAt: new Date(r.pin_set_at),
  };
}

/**
 * PIN credentials in PostgreSQL (or PGlite). Writes commit their audit entries with them. Changes
 * are detected by RETURNING rows, which both engines report alike.
 */
export class SqlPinStore implements PinStore {
  // Attempts of different subjects counted together in one statement; one subject's attempts one
  // statement after another, as before (WriteBatches keeps a key to one per batch).
  private readonly counts = new WriteBatches<PendingCount, CountedRow | null>((batch) => this.countBatch(batch), (c) => c.subjectId, MAX_SETTLE_BATCH);
  private readonly settles = new WriteBatches<PendingSettle, boolean>((batch) => this.settleBatch(batch), (p) => p.subjectId, MAX_SETTLE_BATCH);

  constructor(private readonly db: SqlDb) {}

  async find(subjectId: string): Promise<PinCredential | null> {
    const result = await this.db.query<PinRow>(`SELECT ${COLUMNS} FROM pin_credentials WHERE subject_id = $1::uuid`, [subjectId]);
    return result.rows[0] ? toCredential(result.rows[0]) : null;
  }

  async insert(c: PinCredential, now: Date, audit: AuditEntryInput[], notices: Notice[] = []): Promise<boolean> {
    return this.writeAudited(audit, now, async (tx) => {
      const result = await tx.query(
        `INSERT INTO pin_credentials (subject_id, msisdn, pin_hash, pin_scheme, failed_attempts, locked_at, locked_until, pin_set_at,
           created_at, updated_at)
         VALUES ($1::uuid, $2, $3, $6, 0, NULL, NULL, $4::timestamptz, $5::timestamptz, $5::timestamptz)
         ON CONFLICT (subject_id) DO NOTHING RETURNING 1`,
        [c.subjectId, c.msisdn, c.pinHash, c.pinSetAt.toISOString(), now.toISOString(), c.pinScheme],
      );
      if (result.rows.length === 1) {
        await insertOutboxNotices(tx, notices, { subjectId: c.subjectId });
        // A self-registered customer who was waiting for their first PIN (customers.awaiting_first_pin)
        // has it now, whoever set it (the menus, the bank's first reset): with the PIN, atomically.
        await tx.query(`UPDATE customers SET awaiting_first_pin = FALSE WHERE id = $1::uuid AND awaiting_first_pin`, [c.subjectId]);
      }
      return result.rows.length === 1;
    });
  }

  async countAttempt(subjectId: string, now: Date, rule: LockRule): Promise<AttemptReservation> {
    const until = lockEnd(rule, now);
    const row = await this.counts.submit({
      subjectId,
      now: now.toISOString(),
      maxAttempts: rule.maxAttempts,
      until: until === null ? null : until.toISOString(),
      maxLocks: rule.maxTimedLocks,
    });
    if (row) {
      return {
        kind: "counted",
        pinHash: row.pin_hash,
        pinScheme: row.pin_scheme,
        msisdn: row.msisdn,
        failedAttempts: row.failed_attempts,
        lockedNow: row.locked_now,
        lockedUntil: date(row.locked_until),
        lockCount: row.lock_count,
        attemptSeq: row.attempt_seq,
      };
    }
    // Not matched: either no such subject or a lock in force. A fresh read tells which.
    const current = await this.db.query<{ locked_at: Date | null; locked_until: Date | null; failed_attempts: number; attempt_seq: number; wrong_known: number }>(
      `SELECT locked_at, locked_until, failed_attempts, attempt_seq, wrong_known FROM pin_credentials WHERE subject_id = $1::uuid`,
      [subjectId],
    );
    const locked = current.rows[0];
    if (!locked) return { kind: "unknown" };
    const { failed_attempts: failedAttempts, attempt_seq: attemptSeq, wrong_known: wrongKnown } = locked;
    return { kind: "locked", lockedUntil: date(locked.locked_until), lockedAt: date(locked.locked_at), failedAttempts, attemptSeq, wrongKnown };
  }

  async settleSuccess(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[], rekeyed?: StoredPin): Promise<boolean> {
    // Entries are validated and redacted before anything is queued (auditChainParams throws).
    return this.settles.submit({ subjectId, pinHash, now, rekeyed, outcome: CLEARED_COUNTER, attemptSeq, audit: settleAudit(audit, now) });
  }

  async settleSeen(subjectId: string, seen: SeenCredential, outcome: SeenOutcome, now: Date, audit: AuditEntryInput[]): Promise<boolean> {
    // A seen verify's outcome counts an attempt only when the PIN was wrong (a right one clears).
    return this.settles.submit({ subjectId, pinHash: seen.pinHash, now, seen, outcome, wrong: outcome.failedAttempts > 0, audit: settleAudit(audit, now) });
  }

  async settleWrong(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[]): Promise<boolean> {
    return this.settles.submit({ subjectId, pinHash, now, outcome: CLEARED_COUNTER, attemptSeq, wrong: true, audit: settleAudit(audit, now) });
  }

  async refundAttempt(subjectId: string, pinHash: string, lockedNow: boolean): Promise<void> {
    await this.db.query(
      `UPDATE pin_credentials SET failed_attempts = GREATEST(failed_attempts - 1, 0),
         locked_at = CASE WHEN $3 THEN NULL ELSE locked_at END, locked_until = CASE WHEN $3 THEN NULL ELSE locked_until END,
         lock_count = CASE WHEN $3 THEN GREATEST(lock_count - 1, 0) ELSE lock_count END
       WHERE subject_id = $1::uuid AND pin_hash = $2`,
      [subjectId, pinHash, lockedNow],
    );
  }

  private async settleBatch(batch: PendingSettle[]): Promise<boolean[]> {
    const result = await this.db.query<{ settled: number[] }>(SETTLE_BATCH, settleParams(batch), SETTLE_BATCH_NAME);
    const settled = new Set((result.rows[0]?.settled ?? []).map(Number));
    return batch.map((_, i) => settled.has(i + 1));
  }

  private async countBatch(batch: PendingCount[]): Promise<(CountedRow | null)[]> {
    const result = await this.db.query<CountedRow & { idx: string | number }>(COUNT_BATCH, [
      batch.map((c) => c.subjectId),
      batch.map((c) => c.now),
      batch.map((c) => c.maxAttempts),
      batch.map((c) => c.until),
      batch.map((c) => c.maxLocks),
    ], COUNT_BATCH_NAME);
    const byIndex = new Map(result.rows.map((r) => [Number(r.idx), r]));
    return batch.map((_, i) => byIndex.get(i + 1) ?? null);
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
      if (result.rows.length === 1) await insertOutboxNotices(tx, notices, { subjectId });
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

/** A settle's entries, made ready for SETTLE_BATCH, which chains them all on the PIN attempts' chain. */
function settleAudit(audit: AuditEntryInput[], now: Date): AuditChainParams {
  const stray = audit.find((e) => chainOf(e.action) !== SETTLE_CHAIN);
  if (stray) throw new Error(`a PIN settle cannot chain ${stray.action}: it belongs to audit chain ${chainOf(stray.action)}`);
  return auditChainParams(audit, now);
}

/** SETTLE_BATCH's parameters: the requests, then every request's audit entries tagged with its position and time. */
function settleParams(batch: PendingSettle[]): unknown[] {
  const owners: number[] = [];
  const times: string[] = [];
  batch.forEach((p, i) => {
    for (let e = 0; e < p.audit.prefixes.length; e++) {
      owners.push(i + 1);
      times.push(p.now.toISOString());
    }
  });
  return [
    batch.map((p) => p.subjectId),
    batch.map((p) => p.pinHash),
    batch.map((p) => p.rekeyed?.pinHash ?? null),
    batch.map((p) => p.rekeyed?.scheme ?? null),
    batch.map((p) => p.now.toISOString()),
    owners,
    times,
    ...auditChainValues(...batch.map((p) => p.audit)),
    batch.map((p) => p.seen?.failedAttempts ?? null),
    batch.map((p) => p.seen?.lockCount ?? null),
    batch.map((p) => p.outcome.failedAttempts),
    batch.map((p) => p.outcome.lockedAt?.toISOString() ?? null),
    batch.map((p) => p.outcome.lockedUntil?.toISOString() ?? null),
    batch.map((p) => p.outcome.lockCount),
    batch.map((p) => p.attemptSeq ?? null),
    batch.map((p) => p.seen?.attemptSeq ?? null),
    batch.map((p) => p.wrong ?? false),
  ];
}
