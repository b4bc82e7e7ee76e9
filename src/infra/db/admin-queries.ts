import type { SimSwapKind } from "../../core/auth/ports.js";
import { date } from "./policy-rows.js";
import type { SqlExecutor } from "./sql.js";

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
        AND ${notByOtherBanksKey(a)}))`;
}

// A uuid as PostgreSQL prints it (lower case, hyphens): the subjects that can equal a c.id::text.
const UUID_TEXT = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/**
 * visibleTo for institution `$1` (not NULL), written to be checked one row at a time: each customer
 * test is a primary-key or msisdn probe of customers, where visibleTo's `IN (SELECT … customers)`
 * may hash every customer of the bank first. For a walk over a few entries (the bank's audit page,
 * audit-page.ts), whose cost must follow the entries read, not the customers. The id probe casts
 * the subject only when it is a uuid's text form (c.id::text's), so it matches exactly the subjects
 * visibleTo's `c.id::text` does. The OFFSET 0 keeps the planner from turning an EXISTS into a
 * hash of all the bank's customers (it did for a bank of 2 000), which costs the customers again.
 * Keep in step with visibleTo (audit-page.test.ts compares them).
 */
export function visibleRow(a: string): string {
  return `(${a}.subject = $1::text
    OR ${a}.actor_id IN (SELECT 'apikey:' || k.id::text FROM api_keys k WHERE k.institution_id = $1::uuid)
    OR EXISTS (SELECT 1 FROM customers c WHERE c.institution_id = $1::uuid
      AND c.id = CASE WHEN ${a}.subject ~ '${UUID_TEXT}' THEN ${a}.subject::uuid END OFFSET 0)
    OR (EXISTS (SELECT 1 FROM customers c WHERE c.institution_id = $1::uuid AND c.msisdn = ${a}.subject OFFSET 0)
        AND ${notByOtherBanksKey(a)}))`;
}

/**
 * The condition on row `a` that another bank's key did not write it: an entry about a customer's
 * number is the institution's (`$1`) only then (visibleTo). One text for every query that applies
 * the rule (visibleTo, newestVisibleSeq, the bank's audit page), so they cannot drift apart.
 */
export function notByOtherBanksKey(a: string): string {
  return `${a}.actor_id NOT IN (SELECT 'apikey:' || k.id::text FROM api_keys k WHERE k.institution_id <> $1::uuid)`;
}

const KEY_ACTORS = `SELECT 'apikey:' || k.id::text AS actor FROM api_keys k WHERE k.institution_id = $1::uuid ORDER BY k.id`;

/**
 * The actor ids of all the institution's API keys ('apikey:<id>', revoked ones too), as visibleTo
 * matches them: the index lookups pass each as a parameter the planner sees (newestVisibleSeq).
 */
export async function institutionKeyActors(db: SqlExecutor, institutionId: string): Promise<string[]> {
  return (await db.query<{ actor: string }>(KEY_ACTORS, [institutionId])).rows.map((r) => r.actor);
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
      AND ${notByOtherBanksKey("a")}`)}
      FROM customers c WHERE c.institution_id = $1::uuid
  ) v)`;
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
