import type { AuditRecord } from "../../core/audit/audit-entry.js";
import type { SimSwapKind } from "../../core/auth/ports.js";
import { date } from "./policy-rows.js";
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

/**
 * The entries an institution sees (`$1`, NULL for the platform), as a condition on the row `a`.
 * An entry about its customer's number written by another bank's key (a SIM-swap report on that
 * bank's agent who holds the same number) is that bank's: its key and its action stay its own.
 */
export function visibleTo(a: string): string {
  return `($1::uuid IS NULL OR ${a}.subject = $1::text
    OR ${a}.actor_id IN (SELECT 'apikey:' || k.id::text FROM api_keys k WHERE k.institution_id = $1::uuid)
    OR ${a}.subject IN (SELECT c.id::text FROM customers c WHERE c.institution_id = $1::uuid)
    OR (${a}.subject IN (SELECT c.msisdn FROM customers c WHERE c.institution_id = $1::uuid)
        AND ${a}.actor_id NOT IN (SELECT 'apikey:' || k.id::text FROM api_keys k WHERE k.institution_id <> $1::uuid)))`;
}

/**
 * The seq of the newest entry on chain `chain` at or before `upTo` that visibleTo shows institution
 * `$1` (a uuid; NULL when none), as a scalar subquery; `keyActors` are parameters holding the
 * actor ids of all its API keys ('apikey:<id>', revoked ones too). visibleTo's four ways, each
 * looked up on its own in the (subject, chain, seq) and (actor_id, chain, seq) indexes: a probe
 * for the institution, each key, customer and customer's number. Filtering a backward walk of the
 * chain by visibleTo read every entry written since the institution's newest, and the whole chain
 * when it had none there. Keep the two in step (audit-anchor-own-entry.test.ts compares them).
 */
export function newestVisibleSeq(chain: string, upTo: string, keyActors: string[]): string {
  const newest = (column: "subject" | "actor_id", value: string, also = "") =>
    `(SELECT a.seq FROM audit_log a WHERE a.${column} = ${value} AND a.chain = ${chain} AND a.seq <= ${upTo}${also} ORDER BY a.seq DESC LIMIT 1)`;
  // Each key's actor id is a value the planner sees: for a value taken from a joined api_keys row
  // it guessed from the column's few distinct actors that a backward walk of the whole chain would
  // soon meet one, and walked it all.
  const byKeys = keyActors.map((actor) => `\n    UNION ALL SELECT ${newest("actor_id", actor)}`).join("");
  return `(SELECT max(v.seq) FROM (
    SELECT ${newest("subject", "$1::uuid::text")} AS seq${byKeys}
    UNION ALL SELECT ${newest("subject", "c.id::text")} FROM customers c WHERE c.institution_id = $1::uuid
    UNION ALL SELECT ${newest("subject", "c.msisdn", `
      AND a.actor_id NOT IN (SELECT 'apikey:' || k.id::text FROM api_keys k WHERE k.institution_id <> $1::uuid)`)}
      FROM customers c WHERE c.institution_id = $1::uuid
  ) v)`;
}

/**
 * A page of the audit log, both chains together, newest first: by the time each entry was
 * appended, then chain and seq (a total order, so pages neither skip nor repeat an entry). With an
 * institution, only its part: entries about the institution itself (its configuration), entries
 * by its API keys, and entries about its customers (by customer id, as the directory and PIN
 * service write them, or by number, as SIM-swap reports do). Without one (the platform
 * operator), all of it. null when `before` names no entry this caller sees: a cursor is never
 * taken for "nothing older", and tells nothing of other banks' entries.
 */
export async function auditPage(db: SqlExecutor, institutionId: string | null, q: AuditQuery): Promise<AuditRecord[] | null> {
  let after: { at: string; chain: number; seq: string } | null = null;
  if (q.before) {
    const found = await db.query<{ at: string }>(
      `SELECT a.occurred_at::text AS at FROM audit_log a WHERE a.chain = $2::smallint AND a.seq = $3::bigint AND ${visibleTo("a")}`,
      [institutionId, q.before.chain, q.before.seq.toString()],
    );
    if (!found.rows[0]) return null;
    after = { at: found.rows[0].at, chain: q.before.chain, seq: q.before.seq.toString() };
  }
  const result = await db.query<AuditRow>(
    `SELECT a.chain, a.seq::text AS seq, a.occurred_at, a.actor_type, a.actor_id, a.action, a.channel, a.outcome, a.subject, a.payload,
       a.prev_hash, a.hash
     FROM audit_log a
     WHERE ($2::timestamptz IS NULL OR (a.occurred_at, a.chain, a.seq) < ($2::timestamptz, $5::smallint, $6::bigint))
       AND ($4::text IS NULL OR a.action = $4 OR starts_with(a.action, $4 || '.'))
       AND ${visibleTo("a")}
     ORDER BY a.occurred_at DESC, a.chain DESC, a.seq DESC LIMIT $3`,
    [institutionId, after?.at ?? null, q.limit, q.action ?? null, after?.chain ?? null, after?.seq ?? null],
  );
  return result.rows.map(toRecord);
}

export interface SimSwapReport {
  id: string;
  /** The institution's customer at the number (null: the number is only an agent's). */
  customerId: string | null;
  /** The institution's agent at the number (null: the number is only a customer's). */
  agentId: string | null;
  msisdn: string;
  kind: SimSwapKind;
  occurredAt: Date;
  reportedAt: Date;
  reporterType: string;
}

// The reports on numbers of the institution's customers or agents (a number may be both).
const INSTITUTION_SWAPS = `SELECT e.id FROM sim_swap_events e JOIN customers c ON c.msisdn = e.msisdn WHERE c.institution_id = $1::uuid
  UNION SELECT e.id FROM sim_swap_events e JOIN agents a ON a.msisdn = e.msisdn WHERE a.institution_id = $1::uuid`;

/**
 * SIM swaps and recycled numbers reported for the institution's customers and agents, newest first
 * (then by id, so a page boundary between reports of one instant is exact), after the report
 * `before` (a page's last id) when given. Null when `before` names no report of this institution.
 */
export async function institutionSimSwaps(
  db: SqlExecutor,
  institutionId: string,
  page: { since: Date | null; limit: number; before?: string },
): Promise<SimSwapReport[] | null> {
  const before = page.before ?? null;
  const result = await db.query<{
    id: string; customer_id: string | null; agent_id: string | null; msisdn: string; kind: string; occurred_at: Date; reported_at: Date; reporter_type: string;
  }>(
    `WITH mine AS (${INSTITUTION_SWAPS}),
     cursor AS (SELECT e.occurred_at, e.id FROM sim_swap_events e WHERE e.id = $4::uuid AND e.id IN (SELECT id FROM mine))
     SELECT e.id, c.id AS customer_id, a.id AS agent_id, e.msisdn, e.kind, e.occurred_at, e.reported_at, e.reporter_type
     FROM sim_swap_events e
     LEFT JOIN customers c ON c.msisdn = e.msisdn AND c.institution_id = $1::uuid
     LEFT JOIN agents a ON a.msisdn = e.msisdn AND a.institution_id = $1::uuid
     WHERE e.id IN (SELECT id FROM mine) AND ($2::timestamptz IS NULL OR e.occurred_at >= $2::timestamptz)
       AND ($4::uuid IS NULL OR (e.occurred_at, e.id) < (SELECT occurred_at, id FROM cursor))
     ORDER BY e.occurred_at DESC, e.id DESC LIMIT $3`,
    [institutionId, page.since?.toISOString() ?? null, page.limit, before],
  );
  if (before !== null && result.rows.length === 0) {
    const known = await db.query(`WITH mine AS (${INSTITUTION_SWAPS}) SELECT 1 FROM mine WHERE id = $2::uuid`, [institutionId, before]);
    if (known.rowCount === 0) return null;
  }
  return result.rows.map((r) => ({
    id: r.id,
    customerId: r.customer_id,
    agentId: r.agent_id,
    msisdn: r.msisdn,
    kind: r.kind as SimSwapKind,
    occurredAt: date(r.occurred_at),
    reportedAt: date(r.reported_at),
    reporterType: r.reporter_type,
  }));
}
