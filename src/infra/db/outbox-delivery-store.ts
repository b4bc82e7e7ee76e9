/**
 * The outbox's delivery bookkeeping in SQL, for the relay, the sender and the receipt matcher in
 * src/sms/outbox. Every statement works on a batch, so the database cost per message stays a
 * fraction of a statement at thousands of messages per second.
 */
import type { SqlDb, SqlExecutor } from "./sql.js";

export type OutboxState = "pending" | "queued" | "submitted" | "delivered" | "failed" | "expired" | "dead" | "suppressed";
export const OUTBOX_STATES: readonly OutboxState[] = ["pending", "queued", "submitted", "delivered", "failed", "expired", "dead", "suppressed"];

/** A pending row as the relay claims it, with the recipient's language when the row has none. */
export interface ClaimedRow {
  id: string;
  seq: bigint;
  msisdn: string;
  template: string;
  params: Record<string, string>;
  language: string | null;
  kind: string;
  /** Set when the row was queued before (a recovered row): a retry must keep them. */
  linkId: string | null;
  concatRef: number | null;
  partCount: number | null;
  /** The text rendered at the first claim (null before it, and for rows queued before it was kept). */
  renderedText: string | null;
  /** The recipient sent STOP (sms_opt_outs). */
  optedOut: boolean;
  /**
   * A command reply's link of origin (preferred while it exists); the sender address (a command
   * reply's from the start, any other row's from its first claim on).
   */
  replyLinkId: string | null;
  sender: string | null;
  /** Parts an SMSC accepted already (a recovered row's): those tie it to its link. */
  partsAccepted: number;
  /**
   * The bank the message is about, whose links alone may carry it: the one its writer stored on
   * the row (outbox_messages.institution_id). A row written before that column has none and the
   * bank is inferred: its transfer's (a transfer never crosses banks), else a command reply's link
   * of origin's (the bank whose short code was texted), else the recipient customer's, else that
   * of the one bank with an agent at the number (a PIN notice to an agent); null when none is known.
   */
  institutionId: string | null;
  /**
   * The concatenation reference taken for this row at this claim (the number's next, see
   * takeConcatRefs); null when the row has one already (a recovered row keeps it).
   */
  nextRef: number | null;
}

/** What the relay decided for a claimed row: queued on a link, or failed (unroutable, unrenderable). */
export type Routed =
  | { id: string; state: "queued"; linkId: string; concatRef: number; partCount: number; text: string; from: string }
  | { id: string; state: "failed" | "suppressed"; error: string };

export interface LeasedRow {
  id: string;
  /** Per part; null where the SMSC has not accepted the part yet. */
  smscMessageIds: Array<string | null>;
  attempts: number;
}

export interface SendOutcome {
  id: string;
  smscMessageIds: Array<string | null>;
  /**
   * queued: try again later; pending: back to the relay, to be routed afresh (its link was
   * removed before any part went); submitted: every part accepted; failed / dead: final.
   */
  state: "queued" | "pending" | "submitted" | "failed" | "dead";
  error: string | null;
}

export interface OutboxMessageView {
  id: string;
  seq: string;
  transferId: string | null;
  /** The bank the row's writer stored (whose links alone carry it); null for a row written before that column. */
  institutionId: string | null;
  msisdn: string;
  template: string;
  kind: string;
  language: string | null;
  state: OutboxState;
  linkId: string | null;
  partCount: number | null;
  smscMessageIds: Array<string | null>;
  receiptStats: Array<string | null>;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  queuedAt: Date | null;
  submittedAt: Date | null;
  doneAt: Date | null;
}

interface ClaimSqlRow {
  id: string;
  seq: string;
  msisdn: string;
  template: string;
  params: Record<string, string> | string;
  language: string | null;
  kind: string;
  link_id: string | null;
  concat_ref: number | null;
  part_count: number | null;
  rendered_text: string | null;
  opted_out: boolean;
  reply_link_id: string | null;
  sender: string | null;
  parts_accepted: number;
  institution_id: string | null;
}

const CLAIM = `
SELECT o.id, o.seq, o.msisdn, o.template, o.params, COALESCE(o.language, c.language) AS language, o.kind,
       o.link_id, o.concat_ref, o.part_count, o.rendered_text, (s.msisdn IS NOT NULL) AS opted_out, o.reply_link_id, o.sender,
       cardinality(array_remove(o.smsc_message_ids, NULL)) AS parts_accepted,
       COALESCE(o.institution_id::text,
                (SELECT a.institution_id::text FROM transfers t JOIN accounts a ON a.id = t.debit_account_id WHERE t.id = o.transfer_id),
                (SELECT l.institution_id::text FROM sms_links l WHERE l.id = o.reply_link_id),
                c.institution_id::text,
                (SELECT CASE WHEN count(DISTINCT g.institution_id) = 1 THEN min(g.institution_id::text) END FROM agents g WHERE g.msisdn = o.msisdn)
       ) AS institution_id
FROM outbox_messages o
  LEFT JOIN customers c ON c.msisdn = o.msisdn
  LEFT JOIN sms_opt_outs s ON s.msisdn = o.msisdn
WHERE o.state = 'pending' AND o.seq > $2
ORDER BY o.seq
LIMIT $1
FOR UPDATE OF o SKIP LOCKED`;

// Takes the next `n` concatenation references of each number at once, atomically across relays:
// the number's counter row stays locked until the claim commits, so a relay claiming at the same
// moment waits for it and continues after its references (reading the previous message's reference
// from outbox_messages, two relays both read the same one and gave it twice). Numbers are upserted
// in msisdn order, so two relays locking several counters cannot deadlock. A number without a
// counter starts after the reference of its latest earlier row that has one (its last 32 rows
// only, by the msisdn/seq index), else so that its first message takes seq mod 256.
const TAKE_CONCAT_REFS = `
INSERT INTO sms_concat_refs AS r (msisdn, last_ref)
SELECT u.msisdn,
       (COALESCE((SELECT q.concat_ref FROM (SELECT p.seq, p.concat_ref FROM outbox_messages p
                   WHERE p.msisdn = u.msisdn AND p.seq < u.first_seq ORDER BY p.seq DESC LIMIT 32) q
                  WHERE q.concat_ref IS NOT NULL ORDER BY q.seq DESC LIMIT 1),
                 (u.first_seq - 1) % 256) + u.n) % 256
FROM jsonb_to_recordset($1::jsonb) AS u(msisdn text, first_seq bigint, n int)
ORDER BY u.msisdn
ON CONFLICT (msisdn) DO UPDATE SET
  last_ref = (r.last_ref + (SELECT (x->>'n')::int FROM jsonb_array_elements($1::jsonb) x WHERE x->>'msisdn' = EXCLUDED.msisdn)) % 256
RETURNING msisdn, last_ref`;

/**
 * Gives each row without a concatenation reference the next of its number's (rows in seq order):
 * one statement per claim, however many numbers. A row the relay then suppresses or fails uses its
 * reference up: a skipped reference costs nothing (they only have to differ between neighbours).
 */
async function takeConcatRefs(tx: SqlExecutor, rows: ClaimedRow[]): Promise<void> {
  const wanting = new Map<string, ClaimedRow[]>();
  for (const row of rows) if (row.concatRef === null) wanting.set(row.msisdn, [...(wanting.get(row.msisdn) ?? []), row]);
  if (wanting.size === 0) return;
  const input = [...wanting].map(([msisdn, list]) => ({ msisdn, first_seq: list[0]!.seq.toString(), n: list.length }));
  const taken = await tx.query<{ msisdn: string; last_ref: number }>(TAKE_CONCAT_REFS, [JSON.stringify(input)]);
  for (const { msisdn, last_ref: last } of taken.rows) {
    const list = wanting.get(msisdn)!;
    list.forEach((row, i) => (row.nextRef = (((last - list.length + 1 + i) % 256) + 256) % 256));
  }
}

// A recovered row keeps its reference, part count, text and sender address: parts already
// accepted stay valid (a handset joins the parts of a message by sender and reference). Its link
// is the one the relay gives (the same, unless that link was removed before any part went).
const MARK_ROUTED = `
UPDATE outbox_messages o SET
  state = u.state,
  link_id = COALESCE(u.link_id, o.link_id),
  concat_ref = COALESCE(o.concat_ref, u.concat_ref),
  part_count = COALESCE(o.part_count, u.part_count),
  rendered_text = COALESCE(o.rendered_text, u.text),
  sender = COALESCE(o.sender, u.sender),
  last_error = u.err,
  queued_at = $2::timestamptz,
  done_at = CASE WHEN u.state IN ('failed', 'suppressed') THEN $2::timestamptz ELSE NULL END
FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, state text, link_id text, concat_ref int, part_count int, text text, sender text, err text)
WHERE o.id = u.id`;

const LEASE = `
UPDATE outbox_messages SET lease_until = now() + $2::int * interval '1 millisecond', attempts = attempts + 1
WHERE id = ANY($1::uuid[]) AND state = 'queued' AND (lease_until IS NULL OR lease_until < now())
RETURNING id, smsc_message_ids, attempts`;

const LEASED_ELSEWHERE = `SELECT id FROM outbox_messages WHERE id = ANY($1::uuid[]) AND state = 'queued' AND lease_until >= now()`;

// Only rows this sender leased (state still queued) change; the lease ends with the record.
const RECORD = `
UPDATE outbox_messages o SET
  smsc_message_ids = u.ids,
  state = u.state,
  last_error = u.err,
  lease_until = NULL,
  submitted_at = CASE WHEN u.state = 'submitted' THEN $2::timestamptz ELSE o.submitted_at END,
  done_at = CASE WHEN u.state IN ('failed', 'dead') THEN $2::timestamptz ELSE o.done_at END
FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, ids text[], state text, err text)
WHERE o.id = u.id AND o.state = 'queued'`;

const REQUEUE_STALE = `
UPDATE outbox_messages SET state = 'pending', lease_until = NULL
WHERE state = 'queued' AND queued_at < $1::timestamptz AND (lease_until IS NULL OR lease_until < now())`;

const VIEW_COLUMNS = `id, seq, transfer_id, institution_id, msisdn, template, kind, language, state, link_id, part_count, smsc_message_ids,
  receipt_stats, attempts, last_error, created_at, queued_at, submitted_at, done_at`;

function toClaimed(r: ClaimSqlRow): ClaimedRow {
  return {
    id: r.id,
    seq: BigInt(r.seq),
    msisdn: r.msisdn,
    template: r.template,
    params: typeof r.params === "string" ? (JSON.parse(r.params) as Record<string, string>) : r.params,
    language: r.language,
    kind: r.kind,
    linkId: r.link_id,
    concatRef: r.concat_ref,
    partCount: r.part_count,
    renderedText: r.rendered_text,
    optedOut: r.opted_out,
    replyLinkId: r.reply_link_id,
    sender: r.sender,
    partsAccepted: Number(r.parts_accepted),
    institutionId: r.institution_id,
    nextRef: null,
  };
}

const date = (d: unknown): Date | null => (d === null || d === undefined ? null : new Date(d as string));

function toView(r: Record<string, unknown>): OutboxMessageView {
  return {
    id: r.id as string,
    seq: String(r.seq),
    transferId: (r.transfer_id as string | null) ?? null,
    institutionId: (r.institution_id as string | null) ?? null,
    msisdn: r.msisdn as string,
    template: r.template as string,
    kind: r.kind as string,
    language: (r.language as string | null) ?? null,
    state: r.state as OutboxState,
    linkId: (r.link_id as string | null) ?? null,
    partCount: (r.part_count as number | null) ?? null,
    smscMessageIds: (r.smsc_message_ids as Array<string | null>) ?? [],
    receiptStats: (r.receipt_stats as Array<string | null>) ?? [],
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: new Date(r.created_at as string),
    queuedAt: date(r.queued_at),
    submittedAt: date(r.submitted_at),
    doneAt: date(r.done_at),
  };
}

export class SqlOutboxDeliveryStore {
  constructor(
    private readonly db: SqlDb,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Claims up to `limit` pending rows after `afterSeq` in seq order, lets `route` decide each one,
   * and stores the decisions, all in one transaction: SKIP LOCKED lets several gateway processes
   * relay at once without taking the same row.
   */
  async claim(limit: number, afterSeq: bigint, route: (rows: ClaimedRow[]) => Routed[]): Promise<{ rows: ClaimedRow[]; routed: Routed[] }> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query<ClaimSqlRow>(CLAIM, [limit, afterSeq.toString()]);
      if (result.rows.length === 0) return { rows: [], routed: [] };
      const rows = result.rows.map(toClaimed);
      await takeConcatRefs(tx, rows);
      const routed = route(rows);
      const records = routed.map((r) =>
        r.state === "queued"
          ? { id: r.id, state: r.state, link_id: r.linkId, concat_ref: r.concatRef, part_count: r.partCount, text: r.text, sender: r.from, err: null }
          : { id: r.id, state: r.state, link_id: null, concat_ref: null, part_count: null, text: null, sender: null, err: r.error },
      );
      await tx.query(MARK_ROUTED, [JSON.stringify(records), this.clock().toISOString()]);
      return { rows, routed };
    });
  }

  /** Takes the lease on those of `ids` still queued and not leased; `busy` are leased by another sender. */
  async lease(ids: string[], leaseMs: number): Promise<{ leased: LeasedRow[]; busy: string[] }> {
    const result = await this.db.query<{ id: string; smsc_message_ids: Array<string | null>; attempts: number }>(LEASE, [ids, leaseMs]);
    const leased = result.rows.map((r) => ({ id: r.id, smscMessageIds: r.smsc_message_ids, attempts: r.attempts }));
    if (leased.length === ids.length) return { leased, busy: [] };
    const busy = await this.db.query<{ id: string }>(LEASED_ELSEWHERE, [ids.filter((id) => !leased.some((l) => l.id === id))]);
    return { leased, busy: busy.rows.map((r) => r.id) };
  }

  /**
   * Extends leases this sender holds (rows still queued and leased: a renewal that runs after the
   * row's record, which ended the lease, does not take it again).
   */
  async renew(ids: string[], leaseMs: number): Promise<void> {
    await this.db.query(
      `UPDATE outbox_messages SET lease_until = now() + $2::int * interval '1 millisecond' WHERE id = ANY($1::uuid[]) AND state = 'queued' AND lease_until IS NOT NULL`,
      [ids, leaseMs],
    );
  }

  /** Records what happened to leased rows and ends their leases. */
  async record(outcomes: SendOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const records = outcomes.map((o) => ({ id: o.id, ids: o.smscMessageIds, state: o.state, err: o.error }));
    await this.db.query(RECORD, [JSON.stringify(records), this.clock().toISOString()]);
  }

  /** Rows queued longer ago than `olderThan` without a live lease lost their job: back to pending. */
  async requeueStale(olderThan: Date): Promise<number> {
    return (await this.db.query(REQUEUE_STALE, [olderThan.toISOString()])).rowCount;
  }

  async get(id: string): Promise<OutboxMessageView | null> {
    const result = await this.db.query(`SELECT ${VIEW_COLUMNS} FROM outbox_messages WHERE id = $1::uuid`, [id]);
    return result.rows[0] ? toView(result.rows[0]) : null;
  }

  /** Newest first; `beforeSeq` pages back. */
  async list(filter: { msisdn?: string; state?: OutboxState; beforeSeq?: bigint; limit: number }): Promise<OutboxMessageView[]> {
    const result = await this.db.query(
      `SELECT ${VIEW_COLUMNS} FROM outbox_messages
       WHERE ($1::text IS NULL OR msisdn = $1) AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR seq < $3::bigint)
       ORDER BY seq DESC LIMIT $4`,
      [filter.msisdn ?? null, filter.state ?? null, filter.beforeSeq?.toString() ?? null, filter.limit],
    );
    return result.rows.map(toView);
  }

  /** The ids of the configured SMS links (sms_links), for finding links to hear receipts from. */
  async configuredLinkIds(): Promise<string[]> {
    return (await this.db.query<{ id: string }>("SELECT id FROM sms_links")).rows.map((r) => r.id);
  }

  /** Count per state, for the link state endpoint and the bench. */
  async countByState(): Promise<Record<string, number>> {
    const result = await this.db.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM outbox_messages GROUP BY state`);
    return Object.fromEntries(result.rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Runs fn in a transaction (the receipt matcher's read-modify-write). */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }
}
