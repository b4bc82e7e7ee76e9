import type {
  ActorType,
  AuditEntryInput,
  AuditHead,
  AuditLog,
  AuditOutcome,
  AuditRecord,
  AuditVerifyResult,
  Channel,
} from "../../core/audit/audit-entry.js";
import { canonicalContent, chainEntries, MAX_AUDIT_BATCH, prepareEntry } from "../../core/audit/chain.js";
import { ChainVerifier } from "../../core/audit/verify.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

// Every appender locks this one row first, so appends form a single line whatever the number of
// processes; it is released at COMMIT, together with the rows it now points at.
const LOCK_HEAD = `SELECT last_seq::text AS last_seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE`;

// One statement writes the whole batch and moves the head.
const WRITE_BATCH = `
WITH ins AS (
  INSERT INTO audit_log (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
  SELECT t.seq, $1::timestamptz, t.actor_type, t.actor_id, t.action, t.channel, t.outcome, t.subject, t.payload::jsonb,
    t.prev_hash, t.hash
  FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[]) AS t(seq, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
  RETURNING 1
)
UPDATE audit_head SET last_seq = $12::bigint, last_hash = $13
WHERE id = 1 AND (SELECT count(*) FROM ins) = $14::int
RETURNING 1`;

/**
 * Appends entries to the chain inside the caller's open transaction, so that they commit or roll
 * back with the change they describe. Take this lock last in a transaction (after account or PIN
 * rows), as every caller does, so that lock order never cycles. All entries get the time now.
 */
export async function appendAuditEntries(tx: SqlExecutor, entries: AuditEntryInput[], now: Date): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length > MAX_AUDIT_BATCH) throw new RangeError(`at most ${MAX_AUDIT_BATCH} audit entries per append`);
  // Validation, redaction and normalization happen before the lock is taken, to keep it short.
  const prepared = entries.map(prepareEntry);
  const locked = await tx.query<{ last_seq: string; last_hash: string }>(LOCK_HEAD);
  const head = locked.rows[0];
  if (!head) throw new Error("audit_head has no row: the auth_audit migration has not run");
  const { records, head: next } = chainEntries({ lastSeq: BigInt(head.last_seq), lastHash: head.last_hash }, prepared, now);
  const written = await tx.query(WRITE_BATCH, [
    now.toISOString(),
    records.map((r) => r.seq.toString()),
    records.map((r) => r.actorType),
    records.map((r) => r.actorId),
    records.map((r) => r.action),
    records.map((r) => r.channel),
    records.map((r) => r.outcome),
    records.map((r) => r.subject),
    records.map((r) => r.payloadJson),
    records.map((r) => r.prevHash),
    records.map((r) => r.hash),
    next.lastSeq.toString(),
    next.lastHash,
    records.length,
  ]);
  if (written.rows.length !== 1) throw new Error("audit head did not advance: the chain would fork");
}

/**
 * The same append as appendAuditEntries, as CTEs (audit_head_row, audit_chain, audit_ins,
 * audit_move) for the caller to put into its own statement, saving the two round trips of the
 * head lock and the insert. The database links the entries: it locks the head (FOR UPDATE in READ
 * COMMITTED returns the head's newest committed version, whatever the statement's snapshot) and
 * computes each hash as SHA-256(prev_hash ‖ prefix ‖ seq ‖ suffix), where prefix and suffix are
 * the canonical content around the seq, built here by chain.ts's canonicalContent, so the chain
 * is the one that ChainVerifier checks. `$first` … `$first+9` are the parameters of
 * auditChainParams; `occurredAt` names the caller's timestamptz parameter (the `now` it passes).
 * The caller checks that audit_move updated one row whenever there were entries.
 */
export function auditChainSql(first: number, occurredAt: string): string {
  const $ = (i: number) => `$${first + i}`;
  const n = `${$(9)}::int`;
  return `audit_head_row AS (
  SELECT last_seq, last_hash::text AS last_hash FROM audit_head WHERE id = 1 AND ${n} > 0 FOR UPDATE
), audit_chain(i, seq, prev_hash, hash) AS (
  SELECT 0, last_seq, NULL::text, last_hash FROM audit_head_row
  UNION ALL
  SELECT c.i + 1, c.seq + 1, c.hash, encode(sha256(convert_to(c.hash || (${$(0)}::text[])[c.i + 1] || (c.seq + 1)::text
    || (${$(1)}::text[])[c.i + 1], 'UTF8')), 'hex')
  FROM audit_chain c WHERE c.i < ${n}
), audit_ins AS (
  INSERT INTO audit_log (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
  SELECT c.seq, ${occurredAt}, (${$(2)}::text[])[c.i], (${$(3)}::text[])[c.i], (${$(4)}::text[])[c.i], (${$(5)}::text[])[c.i],
    (${$(6)}::text[])[c.i], (${$(7)}::text[])[c.i], (${$(8)}::text[])[c.i]::jsonb, c.prev_hash, c.hash
  FROM audit_chain c WHERE c.i > 0
  RETURNING 1
), audit_move AS (
  UPDATE audit_head h SET last_seq = c.seq, last_hash = c.hash FROM audit_chain c WHERE h.id = 1 AND c.i = ${n} AND c.i > 0
  RETURNING 1
)`;
}

// Any seq: canonicalContent writes `,"seq":"<seq>","subject":` after the payload, and nothing
// after it can contain that text (the subject is a JSON string, its quotes escaped), so the last
// occurrence splits the content into the part before the seq and the part after.
const SEQ_PROBE = 1n;
const SEQ_MARK = `,"seq":"${SEQ_PROBE}","subject":`;

/** Validates, redacts and normalizes the entries (before any lock) into auditChainSql's parameters. */
export function auditChainParams(entries: AuditEntryInput[], now: Date): unknown[] {
  if (entries.length > MAX_AUDIT_BATCH) throw new RangeError(`at most ${MAX_AUDIT_BATCH} audit entries per append`);
  const prepared = entries.map(prepareEntry);
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  for (const e of prepared) {
    const content = canonicalContent({ ...e, seq: SEQ_PROBE, occurredAt: now }, e.payloadJson);
    const at = content.lastIndexOf(SEQ_MARK);
    const seqAt = at + ',"seq":"'.length;
    prefixes.push(content.slice(0, seqAt));
    suffixes.push(content.slice(seqAt + SEQ_PROBE.toString().length));
  }
  return [
    prefixes,
    suffixes,
    prepared.map((e) => e.actorType),
    prepared.map((e) => e.actorId),
    prepared.map((e) => e.action),
    prepared.map((e) => e.channel),
    prepared.map((e) => e.outcome),
    prepared.map((e) => e.subject),
    prepared.map((e) => e.payloadJson),
    prepared.length,
  ];
}

/**
 * An SQL expression that aborts the statement (and so everything it wrote) with `message` when
 * `failed` holds: plain SQL has no RAISE, but a failing cast does the same.
 */
export function sqlAbortWhen(failed: string, message: string): string {
  if (!/^[\w :,.-]+$/.test(message)) throw new Error("sqlAbortWhen: message must be plain text");
  // The cast stays outside the CASE: a constant cast inside it would be folded (and fail) at planning.
  return `(CASE WHEN ${failed} THEN '${message}' END)::int`;
}

/**
 * Audit entries of several appenders chained in one statement: CTEs audit_head_row, audit_chain,
 * audit_ins and audit_move (as in auditChainSql) over `entries`, a CTE the caller defines with
 * columns i (1, 2 … in chain order, no gaps), at (timestamptz), prefix, suffix (from
 * auditChainParams, made with that entry's own time), actor_type, actor_id, action, channel,
 * outcome, subject and payload. An empty `entries` locks and moves nothing. The hash is computed
 * exactly as in auditChainSql, so ChainVerifier checks these entries like any other.
 */
export const AUDIT_CHAIN_OF_ENTRIES = `audit_head_row AS (
  SELECT last_seq, last_hash::text AS last_hash FROM audit_head WHERE id = 1 AND EXISTS (SELECT 1 FROM entries) FOR UPDATE
), audit_chain(i, seq, prev_hash, hash) AS (
  SELECT 0::bigint, last_seq, NULL::text, last_hash FROM audit_head_row
  UNION ALL
  SELECT c.i + 1, c.seq + 1, c.hash, encode(sha256(convert_to(c.hash || e.prefix || (c.seq + 1)::text || e.suffix, 'UTF8')), 'hex')
  FROM audit_chain c JOIN entries e ON e.i = c.i + 1
), audit_ins AS (
  INSERT INTO audit_log (seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
  SELECT c.seq, e.at, e.actor_type, e.actor_id, e.action, e.channel, e.outcome, e.subject, e.payload::jsonb, c.prev_hash, c.hash
  FROM audit_chain c JOIN entries e ON e.i = c.i
  RETURNING 1
), audit_move AS (
  UPDATE audit_head h SET last_seq = c.seq, last_hash = c.hash FROM audit_chain c
  WHERE h.id = 1 AND c.i > 0 AND c.i = (SELECT count(*) FROM entries)
  RETURNING 1
)`;

// One statement appends the entries (head lock, chain, rows, head move): one round trip, and the
// head is held for that statement and its commit only.
const APPEND = `WITH RECURSIVE ${auditChainSql(2, "$1::timestamptz")}
SELECT (SELECT count(*) FROM audit_move)::int AS moved`;

/** The AuditLog port on PostgreSQL or PGlite: one statement (its own transaction) per append call. */
export class SqlAuditLog implements AuditLog {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async append(entries: AuditEntryInput[]): Promise<void> {
    if (entries.length === 0) return;
    const now = this.clock();
    const result = await this.db.query<{ moved: number }>(APPEND, [now.toISOString(), ...auditChainParams(entries, now)]);
    if (result.rows[0]?.moved !== 1) {
      const head = await this.db.query(`SELECT 1 FROM audit_head WHERE id = 1`);
      throw new Error(head.rows.length === 0 ? "audit_head has no row: the auth_audit migration has not run" : "audit head did not advance: the chain would fork");
    }
  }
}

export interface AuditRow {
  seq: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string;
  action: string;
  channel: string;
  outcome: string;
  subject: string | null;
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const PAGE = `SELECT seq::text AS seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload,
  prev_hash, hash FROM audit_log WHERE seq > $1::bigint AND ($2::bigint IS NULL OR seq <= $2::bigint)
  ORDER BY audit_log.seq LIMIT $3`;

export function toRecord(r: AuditRow): AuditRecord {
  return {
    seq: BigInt(r.seq),
    occurredAt: new Date(r.occurred_at),
    actorType: r.actor_type as ActorType,
    actorId: r.actor_id,
    action: r.action,
    channel: r.channel as Channel,
    outcome: r.outcome as AuditOutcome,
    subject: r.subject,
    payload: r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface VerifyOptions {
  /** Rows read per query; memory use is bounded by this, not by the size of the log. */
  pageSize?: number;
  /** Called after each page, e.g. for a progress line in the CLI. */
  onProgress?: (checked: number) => void;
}

/**
 * Walks the whole chain in seq order, a page at a time, and reports the first broken link.
 * Appends may continue meanwhile: rows are walked to the end, then the head is read, then the
 * rows appended in between are walked up to that head. Since the head and its rows commit
 * together, any row the head points at is visible by then, and a row seen beyond it is forged.
 */
export async function verifyAuditChain(db: SqlExecutor, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const pageSize = Math.min(Math.max(1, Math.trunc(options.pageSize ?? 1_000)), 10_000);
  const verifier = new ChainVerifier();
  let last = await walk(db, verifier, 0n, null, pageSize, options.onProgress);
  const head = await readHead(db);
  if (!verifier.done && last < head.lastSeq) last = await walk(db, verifier, last, head.lastSeq, pageSize, options.onProgress);
  return verifier.finish(head);
}

/** Feeds rows after `after` (up to `until`) to the verifier; returns the last seq read. */
async function walk(
  db: SqlExecutor,
  verifier: ChainVerifier,
  after: bigint,
  until: bigint | null,
  pageSize: number,
  onProgress?: (checked: number) => void,
): Promise<bigint> {
  let last = after;
  for (;;) {
    const page = await db.query<AuditRow>(PAGE, [last.toString(), until === null ? null : until.toString(), pageSize]);
    for (const row of page.rows) {
      const record = toRecord(row);
      if (verifier.check(record)) return record.seq;
      last = record.seq;
    }
    onProgress?.(verifier.checked);
    if (page.rows.length < pageSize) return last;
  }
}

export async function readHead(db: SqlExecutor): Promise<AuditHead> {
  const result = await db.query<{ last_seq: string; last_hash: string }>(`SELECT last_seq::text AS last_seq, last_hash FROM audit_head WHERE id = 1`);
  const row = result.rows[0];
  if (!row) throw new Error("audit_head has no row: the auth_audit migration has not run");
  return { lastSeq: BigInt(row.last_seq), lastHash: row.last_hash };
}
