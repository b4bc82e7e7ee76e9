import {
  AUDIT_CHAINS,
  chainOf,
  genesisHash,
  type ActorType,
  type AuditChain,
  type AuditEntryInput,
  type AuditHead,
  type AuditLog,
  type AuditOutcome,
  type AuditRecord,
  type AuditVerifyResult,
  type Channel,
} from "../../core/audit/audit-entry.js";
import { canonicalContent, MAX_AUDIT_BATCH, prepareEntry, type PreparedEntry } from "../../core/audit/chain.js";
import type { AnchorPoint } from "../../core/audit/anchor.js";
import { ChainVerifier } from "../../core/audit/verify.js";
import type { SqlDb, SqlExecutor } from "./sql.js";

/**
 * An audit batch made ready for the database to chain (auditChainParams): one element per entry
 * in every column, in chain order. `prefixes` and `suffixes` are each entry's canonical content
 * before and after its seq, which only the database knows once it holds the head.
 */
export interface AuditChainParams {
  prefixes: string[];
  suffixes: string[];
  actorTypes: string[];
  actorIds: string[];
  actions: string[];
  channels: string[];
  outcomes: string[];
  subjects: (string | null)[];
  payloads: string[];
}

/** How many parameters auditChainSql takes: the columns of AuditChainParams, in auditChainValues' order. */
export const AUDIT_CHAIN_PARAM_COUNT = 9;

/** The columns of one or more batches, each batch's entries after the previous one's, as query parameters. */
export function auditChainValues(...batches: AuditChainParams[]): unknown[] {
  const column = <T>(pick: (b: AuditChainParams) => T[]): T[] => batches.flatMap(pick);
  return [
    column((b) => b.prefixes),
    column((b) => b.suffixes),
    column((b) => b.actorTypes),
    column((b) => b.actorIds),
    column((b) => b.actions),
    column((b) => b.channels),
    column((b) => b.outcomes),
    column((b) => b.subjects),
    column((b) => b.payloads),
  ];
}

/**
 * The one definition of how the database extends a chain (`chain`, 1 unless given): CTEs audit_head_row, audit_chain,
 * audit_ins and audit_move over `audit_entries`, a CTE the caller defines with columns i (1, 2 …
 * in chain order, no gaps), at (timestamptz), prefix, suffix (from auditChainParams, made with
 * that entry's own time), actor_type, actor_id, action, channel, outcome, subject and payload.
 * It locks the head (FOR UPDATE in READ COMMITTED returns the head's newest committed version,
 * whatever the statement's snapshot) and computes each hash as SHA-256(prev_hash ‖ prefix ‖ seq ‖
 * suffix), the hash chain.ts's canonicalContent gives, so ChainVerifier checks these entries like
 * any other. The hashes come from `audit_chain_hashes` (a loop over the entries, in a migration):
 * a recursive CTE joined every step to every entry, n² probes for n entries. An empty
 * `audit_entries` locks and moves nothing; otherwise the caller checks that audit_move updated
 * one row.
 */
export function auditChainOfEntries(chain: AuditChain): string {
  return `audit_head_row AS (
  SELECT last_seq, last_hash::text AS last_hash FROM audit_head WHERE id = ${chain} AND EXISTS (SELECT 1 FROM audit_entries) FOR UPDATE
), audit_chain(i, seq, prev_hash, hash) AS (
  SELECT f.i, f.seq, f.prev_hash, f.hash FROM audit_head_row h CROSS JOIN LATERAL audit_chain_hashes(h.last_seq, h.last_hash,
    ARRAY(SELECT e.prefix FROM audit_entries e ORDER BY e.i), ARRAY(SELECT e.suffix FROM audit_entries e ORDER BY e.i)) f
), audit_ins AS (
  INSERT INTO audit_log (chain, seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload, prev_hash, hash)
  SELECT ${chain}, c.seq, e.at, e.actor_type, e.actor_id, e.action, e.channel, e.outcome, e.subject, e.payload::jsonb, c.prev_hash, c.hash
  FROM audit_chain c JOIN audit_entries e ON e.i = c.i
  RETURNING 1
), audit_move AS (
  UPDATE audit_head h SET last_seq = c.seq, last_hash = c.hash FROM audit_chain c
  WHERE h.id = ${chain} AND c.i > 0 AND c.i = (SELECT count(*) FROM audit_entries)
  RETURNING 1
)`;
}

/**
 * auditChainOfEntries over one batch of auditChainParams, for the caller to put into its own
 * statement, saving the round trips of a separate head lock and insert. `$first` …
 * `$first+8` take auditChainValues; `occurredAt` names the caller's timestamptz parameter (the
 * `now` the params were made with).
 */
export function auditChainSql(first: number, occurredAt: string, chain: AuditChain = 1): string {
  const $ = (i: number) => `$${first + i}::text[]`;
  return `audit_entries AS (
  SELECT e.i, ${occurredAt} AS at, e.prefix, e.suffix, e.actor_type, e.actor_id, e.action, e.channel, e.outcome, e.subject, e.payload
  FROM unnest(${$(0)}, ${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)}, ${$(8)})
    WITH ORDINALITY AS e(prefix, suffix, actor_type, actor_id, action, channel, outcome, subject, payload, i)
), ${auditChainOfEntries(chain)}`;
}

// Any seq: canonicalContent writes `,"seq":"<seq>","subject":` after the payload, and nothing
// after it can contain that text (the subject is a JSON string, its quotes escaped), so the last
// occurrence splits the content into the part before the seq and the part after.
const SEQ_PROBE = 1n;
const SEQ_MARK = `,"seq":"${SEQ_PROBE}","subject":`;

/** Validates, redacts and normalizes the entries (before any lock) into auditChainSql's parameters. */
export function auditChainParams(entries: AuditEntryInput[], now: Date): AuditChainParams {
  return preparedChainParams(entries.map(prepareEntry), now);
}

/** auditChainParams of entries already prepared (prepareEntry, or the ledger's own equivalent). */
export function preparedChainParams(prepared: PreparedEntry[], now: Date): AuditChainParams {
  if (prepared.length > MAX_AUDIT_BATCH) throw new RangeError(`at most ${MAX_AUDIT_BATCH} audit entries per append`);
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  for (const e of prepared) {
    const content = canonicalContent({ ...e, seq: SEQ_PROBE, occurredAt: now }, e.payloadJson);
    const at = content.lastIndexOf(SEQ_MARK);
    const seqAt = at + ',"seq":"'.length;
    prefixes.push(content.slice(0, seqAt));
    suffixes.push(content.slice(seqAt + SEQ_PROBE.toString().length));
  }
  return {
    prefixes,
    suffixes,
    actorTypes: prepared.map((e) => e.actorType),
    actorIds: prepared.map((e) => e.actorId),
    actions: prepared.map((e) => e.action),
    channels: prepared.map((e) => e.channel),
    outcomes: prepared.map((e) => e.outcome),
    subjects: prepared.map((e) => e.subject),
    payloads: prepared.map((e) => e.payloadJson),
  };
}

/**
 * An SQL expression that aborts the statement (and so everything it wrote) with `message` when
 * `failed` holds: plain SQL has no RAISE, but a failing cast does the same.
 */
export function sqlAbortWhen(failed: string, message: string): string {
  // "fingate " first: isBadValueSqlError tells these aborts (a failed cast, SQLSTATE 22P02) from a value's fault by it.
  if (!/^fingate [\w :,.-]+$/.test(message)) throw new Error("sqlAbortWhen: message must be plain text starting with 'fingate '");
  // The cast stays outside the CASE: a constant cast inside it would be folded (and fail) at planning.
  return `(CASE WHEN ${failed} THEN '${message}' END)::int`;
}

// One statement appends a chain's entries (head lock, chain, rows, head move): one round trip, and
// the head is held for that statement and its commit only.
const APPEND = new Map(AUDIT_CHAINS.map((chain) => [chain, `WITH RECURSIVE ${auditChainSql(2, "$1::timestamptz", chain)}
SELECT (SELECT count(*) FROM audit_move)::int AS moved`]));

/**
 * Appends entries to the chain with `db`: on a pool, as a transaction of its own; inside a
 * caller's open transaction, so that they commit or roll back with the change they describe.
 * There, take this lock last (after account or PIN rows), as every caller does, so that lock order
 * never cycles. All entries get the time `now`.
 */
export async function appendAuditEntries(db: SqlExecutor, entries: AuditEntryInput[], now: Date): Promise<void> {
  if (entries.length === 0) return;
  const chains = AUDIT_CHAINS.map((chain) => ({ chain, entries: entries.filter((e) => chainOf(e.action) === chain) })).filter((c) => c.entries.length > 0);
  // Validation, redaction and normalization happen before the lock is taken, to keep it short.
  const appends = chains.map((c) => ({ chain: c.chain, params: auditChainParams(c.entries, now) }));
  const run = async (tx: SqlExecutor) => {
    // Heads are taken in chain order (1, then 2), as every other writer takes at most one of them.
    // A transaction that appends to both chains in two calls must keep that order: chain 1 first.
    for (const a of appends) await appendToChain(tx, a.chain, a.params, now);
  };
  // Entries for both chains (no caller mixes them today) commit together or not at all.
  if (appends.length > 1 && isPool(db)) await db.transaction(run);
  else await run(db);
}

async function appendToChain(db: SqlExecutor, chain: AuditChain, params: AuditChainParams, now: Date): Promise<void> {
  const result = await db.query<{ moved: number }>(APPEND.get(chain)!, [now.toISOString(), ...auditChainValues(params)]);
  if (result.rows[0]?.moved !== 1) {
    const head = await db.query(`SELECT 1 FROM audit_head WHERE id = $1`, [chain]);
    throw new Error(head.rows.length === 0 ? `audit_head has no row for chain ${chain}: the audit migrations have not run` : "audit head did not advance: the chain would fork");
  }
}

function isPool(db: SqlExecutor): db is SqlDb {
  return typeof (db as Partial<SqlDb>).transaction === "function";
}

/** The AuditLog port on PostgreSQL or PGlite: one statement (its own transaction) per append call. */
export class SqlAuditLog implements AuditLog {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async append(entries: AuditEntryInput[]): Promise<void> {
    if (entries.length > 0) await appendAuditEntries(this.db, entries, this.clock());
  }
}

export interface AuditRow {
  chain: number;
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

// A page is a range of seqs, not "the next n rows": with `chain = $3` in the condition, a table
// never analyzed (no autovacuum: PGlite, a fresh database) was estimated at a handful of rows, and
// PostgreSQL sorted the whole rest of the chain for every page (verify ran at a third of its speed).
const PAGE = `SELECT chain, seq::text AS seq, occurred_at, actor_type, actor_id, action, channel, outcome, subject, payload,
  prev_hash, hash FROM audit_log WHERE chain = $3 AND seq > $1::bigint AND seq <= $2::bigint ORDER BY audit_log.seq`;
/** An entry no chain walk would read: an unknown chain, or a seq below 1. */
const STRAY = `SELECT chain, seq::text AS seq FROM audit_log WHERE NOT (chain = ANY($1::smallint[])) OR seq < 1 LIMIT 1`;
/** Where rows resume after an empty range (deleted rows, or a seq forged far beyond the rest). */
const NEXT_SEQ = `SELECT min(seq)::text AS seq FROM audit_log WHERE chain = $2 AND seq > $1::bigint`;

export function toRecord(r: AuditRow): AuditRecord {
  return {
    chain: r.chain as AuditChain,
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
 * Walks both chains, each in seq order a page at a time, and reports the first broken link (in
 * chain 1 first). The entries checked are both chains' together.
 */
export async function verifyAuditChain(db: SqlExecutor, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const { heads: _heads, ...result } = await walkAuditChains(db, options);
  return result;
}

/** A walk's verdict, with the head each chain was found intact up to (all of them only when ok). */
export interface WalkedChains extends AuditVerifyResult {
  heads: AnchorPoint[];
}

/** verifyAuditChain, also naming the entries it verified each chain up to: points an anchor may name. */
export async function walkAuditChains(db: SqlExecutor, options: VerifyOptions = {}): Promise<WalkedChains> {
  // Rows no chain walk reads (their CHECKs dropped by a superuser) would otherwise pass unseen.
  const stray = await db.query<{ chain: number; seq: string }>(STRAY, [AUDIT_CHAINS]);
  if (stray.rows[0]) {
    const { chain, seq } = stray.rows[0];
    return { ok: false, checked: 0, heads: [], firstBroken: { chain: chain as AuditChain, seq: BigInt(seq), reason: "an entry lies outside both chains (forged)" } };
  }
  let checked = 0;
  const heads: AnchorPoint[] = [];
  for (const chain of AUDIT_CHAINS) {
    const progress = options.onProgress && ((n: number) => options.onProgress!(checked + n));
    const { result, head } = await verifyOneChain(db, chain, { ...options, onProgress: progress });
    checked += result.checked;
    if (!result.ok) return { ok: false, checked, heads, firstBroken: { chain, ...result.firstBroken! } };
    heads.push({ chain, seq: head.lastSeq, hash: head.lastHash });
  }
  return { ok: true, checked, heads };
}

/**
 * Walks one chain in seq order, a page at a time, and reports its first broken link. Appends may
 * continue meanwhile: rows are walked to the end, then the head is read, then the rows appended
 * in between are walked up to that head. Since the head and its rows commit together, any row the
 * head points at is visible by then, and a row seen beyond it is forged.
 */
async function verifyOneChain(db: SqlExecutor, chain: AuditChain, options: VerifyOptions): Promise<{ result: AuditVerifyResult; head: AuditHead }> {
  const pageSize = pageSizeOf(options);
  const verifier = new ChainVerifier(genesisHash(chain));
  let last = await walk(db, chain, verifier, 0n, null, pageSize, options.onProgress);
  const head = await readHead(db, chain);
  if (!verifier.done && last < head.lastSeq) last = await walk(db, chain, verifier, last, head.lastSeq, pageSize, options.onProgress);
  return { result: verifier.finish(head), head };
}

/**
 * Verifies the entries of one chain after `from` (trusted: checked earlier, e.g. the last anchor
 * taken) through `to`, and that `to`'s hash is the one the last of them has: only the rows in
 * between are read, so anchoring every few minutes costs what was appended since, not the chain.
 * `from` at seq 0 with the chain's genesis hash walks from the start. Rows after `to` are not
 * read (a full walk names rows forged beyond the head).
 */
export async function verifyChainSegment(db: SqlExecutor, from: AnchorPoint, to: AnchorPoint, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  if (from.chain !== to.chain) throw new Error("verifyChainSegment: both ends must be of one chain");
  const verifier = new ChainVerifier(from.hash, from.seq);
  if (to.seq > from.seq) await walk(db, to.chain, verifier, from.seq, to.seq, pageSizeOf(options), options.onProgress);
  const result = verifier.finish({ lastSeq: to.seq, lastHash: to.hash });
  if (result.firstBroken) result.firstBroken.chain = to.chain;
  return result;
}

const pageSizeOf = (options: VerifyOptions) => Math.min(Math.max(1, Math.trunc(options.pageSize ?? 1_000)), 10_000);

/** Feeds a chain's rows after `after` (up to `until`) to the verifier; returns the last seq read. */
async function walk(
  db: SqlExecutor,
  chain: AuditChain,
  verifier: ChainVerifier,
  after: bigint,
  until: bigint | null,
  pageSize: number,
  onProgress?: (checked: number) => void,
): Promise<bigint> {
  let last = after;
  // The next range starts after the last row read, not after the last range: rows committed
  // between two reads (a live log) land in the stretch a range had found empty.
  let from = after;
  while (until === null || from < until) {
    const to = minSeq(from + BigInt(pageSize), until ?? MAX_SEQ);
    const page = await db.query<AuditRow>(PAGE, [from.toString(), to.toString(), chain]);
    for (const row of page.rows) {
      const record = toRecord(row);
      if (verifier.check(record)) return record.seq;
      last = record.seq;
    }
    onProgress?.(verifier.checked);
    if (page.rows.length > 0) {
      from = last;
      continue;
    }
    const next = (await db.query<{ seq: string | null }>(NEXT_SEQ, [from.toString(), chain])).rows[0]?.seq ?? null;
    if (next === null || (until !== null && BigInt(next) > until)) return last;
    // Past an empty stretch (deleted rows, or a seq forged far ahead): the verifier names what is missing.
    from = BigInt(next) - 1n;
  }
  return last;
}

/** PostgreSQL's bigint: no range may reach past it (a seq forged near it). */
const MAX_SEQ = 2n ** 63n - 1n;
const minSeq = (a: bigint, b: bigint) => (a < b ? a : b);

export async function readHead(db: SqlExecutor, chain: AuditChain = 1): Promise<AuditHead> {
  const result = await db.query<{ last_seq: string; last_hash: string }>(`SELECT last_seq::text AS last_seq, last_hash FROM audit_head WHERE id = $1`, [chain]);
  const row = result.rows[0];
  if (!row) throw new Error(`audit_head has no row for chain ${chain}: the audit migrations have not run`);
  return { lastSeq: BigInt(row.last_seq), lastHash: row.last_hash };
}
