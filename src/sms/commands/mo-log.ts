/**
 * MO messages seen, so that a re-delivered message is recognised. Each message gets an id that
 * transfer ids derive from; a message with the same key on the same link within the window gets
 * the first one's id back (one statement, so two concurrent re-deliveries agree), and a message
 * already handled is not handled again. Running a message takes a lease on it (leaseSec): a
 * re-delivery that arrives while the lease holds is not run alongside (it would check the PIN a
 * second time and answer twice); one that arrives after a run died without finishing runs it again.
 * A run renews its lease while it goes on (renew, mo-heartbeat.ts), for MO_RUN_MAX_SEC at most.
 *
 * A key recognised by content (SMPP has no message id) may also be repeated by the customer: with
 * `repeatAfterSec`, a copy of a handled message that comes once that long has passed since the last
 * copy that ran is a new attempt of it (attempt + 1: its own transfer and reply ids), not a
 * re-delivery. Copies closer together are taken for the network's duplicates and dropped.
 */
import { randomUUID } from "node:crypto";
import type { SqlExecutor } from "../../infra/db/sql.js";

export interface MoClaim {
  /** The message's id: payments it causes derive their ids from it. */
  id: string;
  /** Runs of the key before this one (0 for the first): ids of this run derive from id and attempt. */
  attempt: number;
  /** Seen before within the window. */
  duplicate: boolean;
  /** Already handled to the end (its reply sent): do nothing more. */
  handled: boolean;
  /** Being run under another claim's lease (here or on another instance): do nothing now. */
  running: boolean;
  /**
   * A SEND of this key moved money (or may have) within the SEND window: the attempt whose payment
   * id a repeat replays (the ledger answers without paying again), when, and the seconds left of the window.
   */
  paid: { attempt: number; at: Date; remainingSec: number } | null;
  /** The id-keyed row (HTTP) this content-keyed claim runs for: marked handled with it. */
  alsoHandles?: string;
  /**
   * The token of the lease this claim took (a claim that is to run has one): the run releases the
   * lease only with it, so that a run that fails after its lease lapsed and was taken by another
   * (the pending sweep, a re-delivery) does not clear the lease of the run now holding it.
   */
  runToken?: string;
  /** The lease token of the alsoHandles row, when this claim took that lease too (MoClaims.claim; the sweep does not). */
  alsoHandlesToken?: string;
  /**
   * This attempt's text was already judged a wrong PIN (markPinRefused; reopen carries it to the
   * attempt it opens): the run answers that refusal again without checking the PIN, which would
   * count one more wrong PIN for a PIN the customer typed once.
   */
  pinRefused?: boolean;
}

/**
 * Longer than a run usually takes (a PIN check and a ledger batch), short enough for a resend or the
 * sweep to retry a crashed run soon. A run that goes on longer renews it (mo-heartbeat.ts).
 */
export const MO_LEASE_SEC = 60;

/**
 * How long a run's lease is renewed at most: past this a run is taken for stuck and lets go (its
 * lease lapses within MO_LEASE_SEC more), so the sweep or a copy runs the message again. Two
 * leases: a stuck run is taken over by about 3 minutes after its attempt began (lapse, then the
 * next 15-second sweep), which leaves the sweep close to 2 minutes of the 5-minute SEND window
 * (after which it drops the message unanswered) to run it and answer the customer.
 */
export const MO_RUN_MAX_SEC = 2 * MO_LEASE_SEC;

export interface MoRecord {
  linkId: string;
  /** The aggregator's message id, or a keyed digest of the PDU's content. Never the text. */
  moKey: string;
  msisdn: string;
  /** The command word only. */
  command: string | null;
}

export interface MoWindows {
  /** A key not seen for this long (and with no payment in it) is a new message (a new id). */
  windowSec: number;
  /** Repeats of a handled key run again as a new attempt once this long has passed; null: never. */
  repeatAfterSec?: number | null;
  /** A payment of this key stops a repeat from paying again for this long (default windowSec). */
  paidWindowSec?: number;
}

/** The row on record is older than the window, with no payment within it: a new message that reuses the key. */
const STALE = "(m.last_seen_at < CURRENT_TIMESTAMP - make_interval(secs => $6) AND (m.paid_at IS NULL OR m.paid_at < CURRENT_TIMESTAMP - make_interval(secs => $10)))";
/** Not handled, and no run holds a live lease on it. */
const FREE = "(m.handled_at IS NULL AND (m.running_until IS NULL OR m.running_until < CURRENT_TIMESTAMP))";
/** Handled, and its last run's copy came longer ago than the re-delivery window: a repeat, run again. */
const REPEAT = "($9::int IS NOT NULL AND m.handled_at IS NOT NULL AND m.last_seen_at < CURRENT_TIMESTAMP - make_interval(secs => $9::int))";
const NEW_RUN = `(${STALE} OR ${REPEAT})`;
/**
 * A payment of the key within the paid window as of the start of the attempt (last_seen_at: set by
 * the copy that began it), not as of now: a run of the attempt that comes later (a re-delivery
 * after a dead run, the pending sweep) must decide as its first run did. Measured from now, a
 * repeat that came within the SEND window of a payment (a replay: nothing moves) and whose run
 * died was run after the window had passed as a new payment under its own attempt's id: paid twice.
 */
const paidAtStart = (paidWindowParam: string) => `(m.paid_at >= m.last_seen_at - make_interval(secs => ${paidWindowParam}))`;
const PAID_AT_START = paidAtStart("$10");

/**
 * For reopen (in its WHERE, where m is the row before the update): the new attempt starts now, and
 * its runs (the pending sweep's included) decide by a payment within the paid window ($6) of now.
 * It may reopen only if that decides as the attempt it re-runs did, by its own start: a payment
 * that attempt replayed but that lies outside the window from now (a repeat at 4m50s replayed it,
 * its copy came at 5m10s) would otherwise be paid again under the new attempt's id. Such a copy
 * is dropped, as any copy within the re-delivery window was before reopen existed.
 */
const KEEPS_PAID_DECISION = `(m.paid_at IS NULL OR NOT ${paidAtStart("$6")} OR m.paid_at >= CURRENT_TIMESTAMP - make_interval(secs => $6))`;

interface ClaimRow {
  id: string;
  attempt: number;
  handled: boolean;
  leased: boolean;
  paid_attempt: number | null;
  paid_at: Date | null;
  paid_remaining: number | null;
  pin_refused: boolean;
}

/** A message waiting to be answered, as lapsedPending reads it. */
export interface PendingRow {
  id: string;
  linkId: string;
  moKey: string;
  /** The message, sealed for the place linkId + moKey. */
  sealed: string;
}

/** For RETURNING: whether the row's attempt (as updated) is one already refused for a wrong PIN. */
const PIN_REFUSED = "COALESCE(pin_refused_attempt = attempt, false) AS pin_refused";

/** The claim's pinRefused, only when set (claims compare as they did without it). */
function pinRefusedOf(row: ClaimRow): Pick<MoClaim, "pinRefused"> {
  return row.pin_refused ? { pinRefused: true } : {};
}

function paidOf(row: ClaimRow): MoClaim["paid"] {
  return row.paid_attempt === null ? null : { attempt: row.paid_attempt, at: new Date(row.paid_at!), remainingSec: Math.max(1, row.paid_remaining ?? 1) };
}

export class SqlMoLog {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * Records the message, or finds it within the window. Older rows with the same key are taken
   * over by the new message (a customer may send the same text again tomorrow).
   */
  async claim(record: MoRecord, windows: MoWindows | number, leaseSec = MO_LEASE_SEC, pending: string | null = null): Promise<MoClaim> {
    const w = typeof windows === "number" ? { windowSec: windows } : windows;
    const id = randomUUID();
    const runToken = randomUUID();
    // $7 is this claim's run token: it holds the lease when the row comes back with it. The row's
    // old values are read in each CASE (ON CONFLICT's SET sees the row as it was).
    const { rows } = await this.db.query<ClaimRow>(
      `INSERT INTO sms_mo_messages AS m (id, link_id, mo_key, msisdn, command, run_token, running_until, pending_sms)
       VALUES ($1, $2, $3, $4, $5, $7, CURRENT_TIMESTAMP + make_interval(secs => $8), $11)
       ON CONFLICT (link_id, mo_key) DO UPDATE SET
         id = CASE WHEN ${STALE} THEN EXCLUDED.id ELSE m.id END,
         attempt = CASE WHEN ${STALE} THEN 0 WHEN ${REPEAT} THEN m.attempt + 1 ELSE m.attempt END,
         handled_at = CASE WHEN ${NEW_RUN} THEN NULL ELSE m.handled_at END,
         received_at = CASE WHEN ${STALE} THEN CURRENT_TIMESTAMP ELSE m.received_at END,
         last_seen_at = CASE WHEN ${NEW_RUN} THEN CURRENT_TIMESTAMP ELSE m.last_seen_at END,
         paid_attempt = CASE WHEN ${STALE} THEN NULL ELSE m.paid_attempt END,
         paid_at = CASE WHEN ${STALE} THEN NULL ELSE m.paid_at END,
         pin_refused_attempt = CASE WHEN ${STALE} THEN NULL ELSE m.pin_refused_attempt END,
         run_token = CASE WHEN ${NEW_RUN} OR ${FREE} THEN EXCLUDED.run_token ELSE m.run_token END,
         running_until = CASE WHEN ${NEW_RUN} OR ${FREE} THEN EXCLUDED.running_until ELSE m.running_until END,
         pending_sms = CASE WHEN ${NEW_RUN} OR ${FREE} THEN EXCLUDED.pending_sms ELSE m.pending_sms END
       RETURNING id, attempt, handled_at IS NOT NULL AS handled, run_token = $7 AS leased,
         CASE WHEN ${PAID_AT_START} THEN paid_attempt END AS paid_attempt, paid_at,
         CEIL(EXTRACT(EPOCH FROM paid_at + make_interval(secs => $10) - CURRENT_TIMESTAMP))::int AS paid_remaining, ${PIN_REFUSED}`,
      [id, record.linkId, record.moKey, record.msisdn, record.command, w.windowSec, runToken, leaseSec, w.repeatAfterSec ?? null, w.paidWindowSec ?? w.windowSec, pending],
    );
    const row = rows[0]!;
    const claim: MoClaim = { id: row.id, attempt: row.attempt, duplicate: row.id !== id, handled: row.handled, running: !row.handled && !row.leased, paid: paidOf(row), ...pinRefusedOf(row) };
    if (!row.handled && row.leased) claim.runToken = runToken;
    return claim;
  }

  /**
   * Messages acknowledged and not answered whose run has ended without answering them (the
   * process died, or the run failed), whose attempt began within `maxAgeSec`: the oldest first.
   * The attempt's start is last_seen_at (the copy that began it), not received_at: a customer's
   * repeat of a SEND is a new attempt of the same row, whose received_at is the first copy's.
   */
  async lapsedPending(maxAgeSec: number, limit: number): Promise<PendingRow[]> {
    const { rows } = await this.db.query<PendingRow>(
      `SELECT m.id, m.link_id AS "linkId", m.mo_key AS "moKey", m.pending_sms AS sealed FROM sms_mo_messages m
       WHERE m.pending_sms IS NOT NULL AND m.last_seen_at >= CURRENT_TIMESTAMP - make_interval(secs => $1) AND ${FREE}
       ORDER BY m.last_seen_at LIMIT $2`,
      [maxAgeSec, limit],
    );
    return rows;
  }

  /**
   * Takes the lease of a waiting message as its first run held it: the same id and attempt, so
   * the run pays (or finds paid) the same transfer. null when another run holds it or it is answered.
   */
  async leasePending(id: string, paidWindowSec: number, leaseSec = MO_LEASE_SEC): Promise<MoClaim | null> {
    const runToken = randomUUID();
    const { rows } = await this.db.query<ClaimRow>(
      `UPDATE sms_mo_messages m SET run_token = $2, running_until = CURRENT_TIMESTAMP + make_interval(secs => $3)
       WHERE m.id = $1 AND m.pending_sms IS NOT NULL AND ${FREE}
       RETURNING id, attempt, false AS handled, true AS leased,
         CASE WHEN ${paidAtStart("$4")} THEN paid_attempt END AS paid_attempt, paid_at,
         CEIL(EXTRACT(EPOCH FROM paid_at + make_interval(secs => $4) - CURRENT_TIMESTAMP))::int AS paid_remaining, ${PIN_REFUSED}`,
      [id, runToken, leaseSec, paidWindowSec],
    );
    const row = rows[0];
    return row ? { id: row.id, attempt: row.attempt, duplicate: true, handled: false, running: false, paid: paidOf(row), runToken, ...pinRefusedOf(row) } : null;
  }

  /**
   * Runs an answered message again as a new attempt (attempt + 1, leased to this claim), as a
   * customer's repeat after the re-delivery window is: for a copy within that window whose answer
   * never reached the customer (SmsCommands.receive). Only from `attempt`, still answered: of two
   * copies at once one reopens it, the other finds it running (null). An attempt refused for a
   * wrong PIN opens one that is too (pin_refused_attempt), decided here and kept on the row so that
   * every run of the new attempt (the sweep's after a dead run) answers the refusal unchecked: the
   * copy is the same text, so the same PIN, and checking it again counted a wrong PIN per copy.
   */
  async reopen(id: string, attempt: number, paidWindowSec: number, pending: string | null, leaseSec = MO_LEASE_SEC): Promise<MoClaim | null> {
    const runToken = randomUUID();
    const { rows } = await this.db.query<ClaimRow>(
      `UPDATE sms_mo_messages m SET attempt = m.attempt + 1, handled_at = NULL, last_seen_at = CURRENT_TIMESTAMP,
         run_token = $3, running_until = CURRENT_TIMESTAMP + make_interval(secs => $4), pending_sms = $5,
         pin_refused_attempt = CASE WHEN m.pin_refused_attempt = m.attempt THEN m.attempt + 1 ELSE m.pin_refused_attempt END
       WHERE m.id = $1 AND m.attempt = $2 AND m.handled_at IS NOT NULL AND ${KEEPS_PAID_DECISION}
       RETURNING id, attempt, false AS handled, true AS leased,
         CASE WHEN ${paidAtStart("$6")} THEN paid_attempt END AS paid_attempt, paid_at,
         CEIL(EXTRACT(EPOCH FROM paid_at + make_interval(secs => $6) - CURRENT_TIMESTAMP))::int AS paid_remaining, ${PIN_REFUSED}`,
      [id, attempt, runToken, leaseSec, pending, paidWindowSec],
    );
    const row = rows[0];
    return row ? { id: row.id, attempt: row.attempt, duplicate: true, handled: false, running: false, paid: paidOf(row), runToken, ...pinRefusedOf(row) } : null;
  }

  /** Forgets the sealed text of messages whose attempt began longer than `maxAgeSec` ago: they will not be run. */
  async dropPendingOlderThan(maxAgeSec: number): Promise<{ id: string; command: string | null }[]> {
    const { rows } = await this.db.query<{ id: string; command: string | null }>(
      `UPDATE sms_mo_messages m SET pending_sms = NULL
       WHERE m.pending_sms IS NOT NULL AND m.last_seen_at < CURRENT_TIMESTAMP - make_interval(secs => $1) AND ${FREE}
       RETURNING m.id, m.command`,
      [maxAgeSec],
    );
    return rows;
  }

  /** The id of the record of (linkId, moKey), if there is one. */
  async idOf(linkId: string, moKey: string): Promise<string | null> {
    const { rows } = await this.db.query<{ id: string }>("SELECT id FROM sms_mo_messages WHERE link_id = $1 AND mo_key = $2", [linkId, moKey]);
    return rows[0]?.id ?? null;
  }

  /** Forgets a waiting message's sealed text (it can no longer be opened). */
  async dropPending(id: string): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET pending_sms = NULL WHERE id = $1", [id]);
  }

  /**
   * Gives up the lease of a run that failed, so that the next re-delivery (or sweep) runs the
   * message again at once; only while the run still holds it (runToken). A run that outlived its
   * lease (past MO_RUN_MAX_SEC, or its renewals failed) may have lost it to the sweep or a re-delivery, which runs the message
   * meanwhile: clearing that run's lease let a third run start alongside it (the same payment id,
   * so nothing paid twice, but the PIN checked and counted once more, and the answer sent twice).
   * The lease is renewed while a run goes on (renew), up to MO_RUN_MAX_SEC: a stuck run lets go.
   */
  async release(id: string, runToken: string): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET run_token = NULL, running_until = NULL WHERE id = $1 AND run_token = $2 AND handled_at IS NULL", [id, runToken]);
  }

  /**
   * Extends the lease of a run still going on, for `leaseSec` from now: only while that run holds
   * it (runToken; one another run took is never extended) and the message is not answered. false
   * when the run no longer holds it: there is nothing more to renew.
   */
  async renew(id: string, runToken: string, leaseSec = MO_LEASE_SEC): Promise<boolean> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE sms_mo_messages SET running_until = CURRENT_TIMESTAMP + make_interval(secs => $3)
       WHERE id = $1 AND run_token = $2 AND handled_at IS NULL RETURNING id`,
      [id, runToken, leaseSec],
    );
    return rows.length > 0;
  }

  /**
   * Records that `attempt`'s payment moved money (or may have: its outcome is unknown), as soon as
   * the payment answers and before the reply is sent. Only markHandled recorded it, and a run that
   * paid but could never answer (its reply or markHandled failing on every run for the SEND window)
   * was dropped by the sweep with no payment on record: a copy after it found the row stale (no
   * payment within the window) and paid again under a new id. Whoever holds the lease: money moved.
   * The time of an attempt already on record (a re-run of it, a repeat that replays it) is kept.
   */
  async markPaid(id: string, attempt: number): Promise<void> {
    await this.db.query(
      `UPDATE sms_mo_messages SET paid_at = CASE WHEN paid_attempt IS NOT DISTINCT FROM $2::int THEN COALESCE(paid_at, CURRENT_TIMESTAMP) ELSE CURRENT_TIMESTAMP END,
         paid_attempt = $2::int
       WHERE id = $1`,
      [id, attempt],
    );
  }

  /**
   * Whether a run that may have outlived its lease (`runToken`, of `attempt`) has been superseded:
   * its message answered, run again as a later attempt, taken by another run (the pending sweep, a
   * re-delivery: another token), or replaced by a new message under its key (the id is gone). Such
   * a run, waking, must not answer: the other run answers, or did, maybe otherwise (a receipt where
   * it would say "could not confirm"). A lease that merely lapsed, still under this run's token (no
   * one took it), or given back by a run that failed (no token), is still this run's to answer.
   */
  async superseded(id: string, runToken: string, attempt: number): Promise<boolean> {
    const { rows } = await this.db.query<{ superseded: boolean }>(
      `SELECT (handled_at IS NOT NULL OR attempt <> $3::int OR (run_token IS NOT NULL AND run_token <> $2::uuid)) AS superseded
       FROM sms_mo_messages WHERE id = $1`,
      [id, runToken, attempt],
    );
    return rows[0]?.superseded ?? true;
  }

  /**
   * Records that `attempt` was refused for a wrong PIN, before its reply is sent (as markPaid): a
   * run of that attempt again (the sweep's, after the reply failed) or a reopened copy of it
   * (reopen) answers the same refusal without checking the PIN, which its text already failed.
   * Only while the row is at that attempt: a stuck run finishing late never marks a later one.
   */
  async markPinRefused(id: string, attempt: number): Promise<void> {
    await this.db.query("UPDATE sms_mo_messages SET pin_refused_attempt = $2::int WHERE id = $1 AND attempt = $2::int", [id, attempt]);
  }

  /**
   * Marks the message answered, whichever run holds its lease (its answer has been sent); `movedAttempt` names the attempt whose payment moved money (or may
   * have): repeats within the SEND window from now replay its payment id instead of paying again.
   * With `runAttempt` (the run's own attempt), only while the row is still at that attempt: a run
   * stuck past its lease that finishes after a copy reopened the message as the next attempt
   * (reopen) must not mark that attempt answered while it runs (its lease would no longer be
   * renewed, and should it fail, the sweep would take it for answered and never answer it). Its
   * payment, if any, was recorded by markPaid before its reply, whatever the attempt.
   */
  async markHandled(id: string, movedAttempt: number | null = null, runAttempt: number | null = null): Promise<void> {
    await this.db.query(
      `UPDATE sms_mo_messages SET handled_at = CURRENT_TIMESTAMP, pending_sms = NULL,
         paid_at = CASE WHEN $2::int IS NULL THEN paid_at WHEN paid_attempt IS NOT DISTINCT FROM $2::int THEN COALESCE(paid_at, CURRENT_TIMESTAMP) ELSE CURRENT_TIMESTAMP END,
         paid_attempt = COALESCE($2::int, paid_attempt)
       WHERE id = $1 AND ($3::int IS NULL OR attempt = $3::int)`,
      [id, movedAttempt, runAttempt],
    );
  }
}
