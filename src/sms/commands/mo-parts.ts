/**
 * Parts of concatenated MO messages, kept in `sms_mo_parts` until the last one arrives, so that
 * any instance, and a restart, can complete a message whose parts came to different places. A
 * message is one row keyed by (link, subscriber, reference, part count), holding each part's key
 * (a keyed digest of its PDU) and its text, sealed with AES-256-GCM: an MO text may hold a PIN and
 * is never stored in clear.
 *
 * - A part fills its slot; the row's lock (taken by the upsert) makes concurrent parts of one
 *   message take turns, so the part that completes it sees every other.
 * - The same part again (same key) changes nothing. Once the message is complete, that part (a
 *   re-delivery, or the last part again after a crash before the whole was recorded) brings the
 *   whole message back: the MO log, keyed by the parts' keys, recognises it.
 * - A part whose slot holds another key, or a row older than the TTL, starts the row afresh: a
 *   new message that reuses the reference. So an incomplete message expires after the TTL and
 *   never runs; the sweep deletes such rows.
 */
import { PlaceSealer } from "../links/secrets.js";
import type { SqlDb } from "../../infra/db/sql.js";

/** Long enough for the parts of one message to arrive (seconds apart, minutes under an SMSC's retries). */
export const MO_PARTS_TTL_SEC = 300;
/** Concatenated commands are short; more parts than this is not a command (and would be a large row). */
export const MAX_MO_PARTS = 16;
const SWEEP_EVERY_MS = 60_000;

export interface MoPart {
  linkId: string;
  /** E.164 with "+". */
  msisdn: string;
  ref: number;
  total: number;
  /** 1-based. */
  seq: number;
  /** A keyed digest of the part's PDU (never its text). */
  key: string;
  text: string;
}

export interface WholeMessage {
  /** The parts' texts joined in order. */
  text: string;
  /** The parts' keys in order: the whole message's key derives from them. */
  keys: string[];
}

interface PartsRow {
  part_keys: Array<string | null>;
  bodies: Array<string | null>;
  stale: boolean;
}

const ROW = "link_id = $1 AND msisdn = $2 AND ref = $3 AND total = $4";

// The no-op update takes the row's lock (and returns the row) when it exists already.
const UPSERT = `
INSERT INTO sms_mo_parts AS p (link_id, msisdn, ref, total, part_keys, bodies)
VALUES ($1, $2, $3, $4, array_fill(NULL::text, ARRAY[$4::int]), array_fill(NULL::text, ARRAY[$4::int]))
ON CONFLICT (link_id, msisdn, ref, total) DO UPDATE SET total = p.total
RETURNING p.part_keys, p.bodies, p.first_at < CURRENT_TIMESTAMP - make_interval(secs => $5) AS stale`;

const WRITE = `
UPDATE sms_mo_parts SET
  part_keys = ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),
  bodies = ARRAY(SELECT jsonb_array_elements_text($6::jsonb)),
  first_at = CASE WHEN $7::boolean THEN CURRENT_TIMESTAMP ELSE first_at END
WHERE ${ROW}`;

/** An MO part's text, bound to the part's place (its row and slot). */
export class MoPartSealer extends PlaceSealer {
  constructor(key: Uint8Array) {
    super(key, "fingate:sms-mo-part");
  }
}

export class SqlMoParts {
  private lastSweepMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: SqlDb,
    private readonly sealer: MoPartSealer,
    readonly ttlSec = MO_PARTS_TTL_SEC,
  ) {}

  /**
   * Stores a part durably (it may be acknowledged once this resolves); resolves with the whole
   * message when every part is there, else null.
   */
  async add(part: MoPart): Promise<WholeMessage | null> {
    if (!Number.isInteger(part.total) || part.total < 2 || part.total > MAX_MO_PARTS) throw new RangeError(`a concatenated message has 2–${MAX_MO_PARTS} parts`);
    if (!Number.isInteger(part.seq) || part.seq < 1 || part.seq > part.total) throw new RangeError("part number out of range");
    this.sweepSoon();
    const id = [part.linkId, part.msisdn, part.ref, part.total];
    const place = (seq: number) => `${id.join(":")}:${seq}`;
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<PartsRow>(UPSERT, [...id, this.ttlSec]);
      const row = rows[0]!;
      const slot = part.seq - 1;
      const held = row.part_keys[slot] ?? null;
      // Another message under this reference (or the old one expired): this part starts it afresh.
      const fresh = row.stale || (held !== null && held !== part.key);
      const keys = fresh ? new Array<string | null>(part.total).fill(null) : [...row.part_keys];
      const bodies = fresh ? new Array<string | null>(part.total).fill(null) : [...row.bodies];
      if (keys[slot] !== part.key) {
        keys[slot] = part.key;
        bodies[slot] = this.sealer.seal(part.text, place(part.seq));
        await tx.query(WRITE, [...id, JSON.stringify(keys), JSON.stringify(bodies), fresh]);
      }
      if (keys.some((k) => k === null)) return null;
      const texts = bodies.map((body, i) => (body === null ? null : this.sealer.open(body, place(i + 1))));
      // Sealed under a key this process does not have (FINGATE_SMS_SECRET_KEY differs between
      // instances): the message cannot be read, so it is left to expire.
      if (texts.some((t) => t === null)) throw new Error("a part of this message cannot be opened (FINGATE_SMS_SECRET_KEY differs between instances?)");
      return { text: texts.join(""), keys: keys as string[] };
    });
  }

  /** Deletes expired rows: incomplete messages and completed ones past the TTL. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.db.query("DELETE FROM sms_mo_parts WHERE first_at < CURRENT_TIMESTAMP - make_interval(secs => $1)", [this.ttlSec]);
    return rowCount;
  }

  /**
   * Sweeps on a timer too, not only when a part arrives: with no concatenated message coming after
   * it, an incomplete one (its parts sealed, a PIN among them maybe) stayed in the table until the
   * next one came, days later maybe, where it should be gone once past the TTL.
   */
  startSweeping(everyMs = SWEEP_EVERY_MS): void {
    this.timer ??= setInterval(() => {
      this.sweep().catch(() => undefined); // the next tick, or the next part, tries again
    }, everyMs).unref();
  }

  stopSweeping(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sweepSoon(): void {
    const now = Date.now();
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    this.sweep().catch(() => (this.lastSweepMs = 0));
  }
}
