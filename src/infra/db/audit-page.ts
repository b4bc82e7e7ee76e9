import type { AuditRecord } from "../../core/audit/audit-entry.js";
import { institutionKeyActors, notByOtherBanksKey, visibleRow, visibleTo } from "./admin-queries.js";
import { toRecord, type AuditRow } from "./audit-store.js";
import type { SqlExecutor } from "./sql.js";

/** An entry's place in the log: its chain and its seq there. */
export interface AuditPosition {
  chain: number;
  seq: bigint;
}

export interface AuditQuery {
  /** Entries listed after this one (older): the last entry of the previous page. */
  before?: AuditPosition;
  limit: number;
  /** An action ("limits.policy.set") or a prefix of whole words ("limits" matches "limits.policy.set"). */
  action?: string;
}

/** The cursor: the time, chain and seq of the entry the page starts after. */
export interface PageStart {
  at: string;
  chain: number;
  seq: string;
}

const COLUMNS = `a.chain, a.seq::text AS seq, a.occurred_at, a.actor_type, a.actor_id, a.action, a.channel, a.outcome, a.subject, a.payload,
       a.prev_hash, a.hash`;
const ORDER = `ORDER BY a.occurred_at DESC, a.chain DESC, a.seq DESC`;

// The whole log (the platform's, `$1` NULL), newest first by the (occurred_at, chain, seq) index.
const EVERY_ENTRY = `SELECT ${COLUMNS}
     FROM audit_log a
     WHERE ($2::timestamptz IS NULL OR (a.occurred_at, a.chain, a.seq) < ($2::timestamptz, $5::smallint, $6::bigint))
       AND ($4::text IS NULL OR a.action = $4 OR starts_with(a.action, $4 || '.'))
       AND ${visibleTo("a")}
     ${ORDER} LIMIT $3`;

/**
 * The lookups of an institution's page (`$1`) below its window (ownPage): visibleTo's entries, found as the audit anchor's
 * lookup finds them (newestVisibleSeq), one index scan per way an entry is the bank's: about the
 * institution, by each of its keys (a parameter from `$7` on: a value the planner sees), about each
 * customer, about each customer's number (unless another bank's key wrote it). Each scan reads the
 * (subject, occurred_at, chain, seq) or (actor_id, occurred_at, chain, seq) index from the cursor
 * down, in the page's order, and stops at the page's size; the union (an entry may be the bank's in
 * two ways) is sorted and cut to the page. So a page reads at most the page's size of entries per
 * way (more only when `action` filters the bank's own entries out), whatever other banks wrote:
 * filtering the whole log's newest-first scan by visibleTo read every entry written since the
 * bank's, the whole table for a bank with none lately. Keep in step with visibleTo
 * (audit-page.test.ts compares the two).
 */
export async function ownPageStatement(db: SqlExecutor, institutionId: string, q: Omit<AuditQuery, "before">, after: PageStart | null): Promise<{ text: string; params: unknown[] }> {
  const params: unknown[] = [institutionId, q.limit, q.action ?? null];
  const $ = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const cursor = after ? `${$(after.at, "timestamptz")}, ${$(after.chain, "smallint")}, ${$(after.seq, "bigint")}` : null;
  // The cursor's condition names the key's column first: a condition on the index's columns from
  // its first, so the scan starts at the cursor in the key's index. Given as (occurred_at, chain,
  // seq) < cursor, it is also one on the occurred_at index, which the planner then took for the
  // customers' scans (the few entries older than a near-oldest cursor), filtering them by customer
  // once per customer. Without a cursor it is left out (not "$n IS NULL OR …", which no index uses).
  const scan = (column: "subject" | "actor_id", value: string, also = "") => `SELECT a.occurred_at, a.chain, a.seq FROM audit_log a
      WHERE a.${column} = ${value}${cursor ? ` AND (a.${column}, a.occurred_at, a.chain, a.seq) < (${value}, ${cursor})` : ""} AND ($3::text IS NULL OR a.action = $3 OR starts_with(a.action, $3 || '.'))${also}
      ${ORDER} LIMIT $2`;
  // Each key's actor id is a parameter (a value the planner sees, as in newestVisibleSeq); the LIKE
  // is the actor index's predicate (only keys' entries are in it), true of every key's actor id.
  const byKeys = (await institutionKeyActors(db, institutionId))
    .map((actor) => `\n    UNION (${scan("actor_id", $(actor, "text"), " AND a.actor_id LIKE 'apikey:%'")})`).join("");
  const text = `WITH own AS (
    (${scan("subject", "$1::uuid::text")})${byKeys}
    UNION SELECT s.* FROM customers c CROSS JOIN LATERAL (${scan("subject", "c.id::text")}) s WHERE c.institution_id = $1::uuid
    UNION SELECT s.* FROM customers c CROSS JOIN LATERAL (${scan("subject", "c.msisdn", `
      AND ${notByOtherBanksKey("a")}`)}) s
      WHERE c.institution_id = $1::uuid
  ), page AS (SELECT a.chain, a.seq FROM own a ${ORDER} LIMIT $2)
  SELECT ${COLUMNS} FROM page p JOIN audit_log a ON a.chain = p.chain AND a.seq = p.seq
  ${ORDER}`;
  return { text, params };
}

/** The most entries a bank's page walks back over before it looks the rest up by index. */
export const PAGE_WINDOW_MAX = 20_000;
// Customers counted to size the window: enough to tell a bank whose probes cost more than the
// largest window from one whose probes are cheap, without reading all of a large bank's.
const CUSTOMERS_COUNTED = PAGE_WINDOW_MAX / 2;

/**
 * How many entries from the cursor down the page walks (visibleRow on each) before the index
 * lookups: about what those lookups cost (two probes a customer), so a bank whose entries are
 * near gets them for the page's reading, and one whose are not pays about twice the lookups at most.
 */
async function windowFor(db: SqlExecutor, institutionId: string, limit: number): Promise<number> {
  const counted = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM customers c WHERE c.institution_id = $1::uuid LIMIT ${CUSTOMERS_COUNTED}) c`,
    [institutionId],
  );
  return Math.min(PAGE_WINDOW_MAX, Math.max(limit, 2 * counted.rows[0]!.n));
}

/** The cursor's condition on row `a` in the (occurred_at, chain, seq) index, from parameter `$first`; none without a cursor. */
const belowCursor = (after: PageStart | null, first: number) =>
  after ? `AND (a.occurred_at, a.chain, a.seq) < ($${first}::timestamptz, $${first + 1}::smallint, $${first + 2}::bigint)` : "";
const cursorParams = (after: PageStart | null) => (after ? [after.at, after.chain, after.seq] : []);

/**
 * The institution's (`$1`) entries among the `$4` entries from the cursor down (visibleRow, a few
 * probes an entry), newest first, at most `$2`; then, when the window is full (the log goes on
 * below it), its last entry, marked `window_end`. A walk bounded by the window: filtering the whole
 * log's scan read every entry written since the bank's (the whole table for a bank quiet lately).
 * The window's end comes from the same statement (one snapshot) as the entries walked: read by a
 * second statement, entries appended in between (or older ones, by another host's clock) moved it
 * up, and the lookups below it listed the window's last entries again (audit-page.test.ts).
 */
const windowStatement = (after: PageStart | null) => `WITH walked AS (
    SELECT a.occurred_at, a.chain, a.seq, a.subject, a.actor_id, a.action FROM audit_log a WHERE true ${belowCursor(after, 5)} ${ORDER} LIMIT $4),
  near AS (SELECT a.chain, a.seq FROM walked a
    WHERE ($3::text IS NULL OR a.action = $3 OR starts_with(a.action, $3 || '.')) AND ${visibleRow("a")}
    ${ORDER} LIMIT $2),
  ended AS (SELECT a.chain, a.seq FROM walked a WHERE (SELECT count(*) FROM walked) = $4
    ORDER BY a.occurred_at, a.chain, a.seq LIMIT 1),
  marked AS (SELECT n.chain, n.seq, false AS window_end FROM near n UNION ALL SELECT e.chain, e.seq, true FROM ended e)
  SELECT ${COLUMNS}, a.occurred_at::text AS at, m.window_end FROM marked m JOIN audit_log a ON a.chain = m.chain AND a.seq = m.seq
  ORDER BY m.window_end, a.occurred_at DESC, a.chain DESC, a.seq DESC`;

/** A row of windowStatement: an entry of the page, or (window_end) the window's last entry, where the lookups go on from. */
type WindowRow = AuditRow & { at: string; window_end: boolean };

/**
 * An institution's page: its entries among the window's entries from the cursor down, then, when
 * those do not fill the page and the log goes on, the rest from the window's end by index
 * (ownPageStatement). Its cost follows the entries read for the page where the bank's entries are
 * near (and is bounded by the window otherwise): the lookups by index alone probe every customer
 * and number of the bank, 1–20 s a page for a bank of 300 000 (docs/architecture.md).
 */
async function ownPage(db: SqlExecutor, institutionId: string, q: AuditQuery, after: PageStart | null, window?: number): Promise<AuditRow[]> {
  const size = window ?? (await windowFor(db, institutionId, q.limit));
  const action = q.action ?? null;
  const rows = (await db.query<WindowRow>(windowStatement(after), [institutionId, q.limit, action, size, ...cursorParams(after)])).rows;
  const near = rows.filter((r) => !r.window_end);
  const last = rows.find((r) => r.window_end);
  if (near.length === q.limit || !last) return near;
  const end: PageStart = { at: last.at, chain: last.chain, seq: last.seq };
  const { text, params } = await ownPageStatement(db, institutionId, { limit: q.limit - near.length, action: q.action }, end);
  return [...near, ...(await db.query<AuditRow>(text, params)).rows];
}

/**
 * A page of the audit log, both chains together, newest first: by the time each entry was
 * appended, then chain and seq (a total order, so pages neither skip nor repeat an entry). With an
 * institution, only its part (visibleTo): entries about the institution itself (its
 * configuration), entries by its API keys, and entries about its customers (by customer id, as the
 * directory and PIN service write them, or by number, as SIM-swap reports do). Without one (the
 * platform operator), all of it. null when `before` names no entry this caller sees: a cursor is
 * never taken for "nothing older", and tells nothing of other banks' entries. `window` (tests)
 * sets how many entries a bank's page walks before its lookups by index.
 */
export async function auditPage(db: SqlExecutor, institutionId: string | null, q: AuditQuery, window?: number): Promise<AuditRecord[] | null> {
  let after: PageStart | null = null;
  if (q.before) {
    const found = await db.query<{ at: string }>(
      `SELECT a.occurred_at::text AS at FROM audit_log a WHERE a.chain = $2::smallint AND a.seq = $3::bigint
         AND ${institutionId === null ? "$1::uuid IS NULL" : visibleRow("a")}`,
      [institutionId, q.before.chain, q.before.seq.toString()],
    );
    if (!found.rows[0]) return null;
    after = { at: found.rows[0].at, chain: q.before.chain, seq: q.before.seq.toString() };
  }
  if (institutionId !== null) return (await ownPage(db, institutionId, q, after, window)).map(toRecord);
  const params = [null, after?.at ?? null, q.limit, q.action ?? null, after?.chain ?? null, after?.seq ?? null];
  return (await db.query<AuditRow>(EVERY_ENTRY, params)).rows.map(toRecord);
}
