/**
 * Writing notices to the outbox inside the caller's transaction: a business event outside the
 * ledger (a PIN change) passes its own transaction, so the event and its message commit together
 * or not at all. (The ledger writes transfer notices itself, in its batch transaction.)
 */
import { uuidv7 } from "../../core/ledger/ids.js";
import type { Notice, NoticeKind } from "../../core/notices/types.js";
import type { SqlExecutor } from "./sql.js";

const KINDS: readonly NoticeKind[] = ["receipt", "notice", "prompt"];
const MSISDN = /^\+[1-9][0-9]{6,14}$/;
const TEMPLATE = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
/** A PIN must never reach an SMS: no template parameter may even be named like one. */
export const PIN_LIKE_PARAM = /pin|otp|password|secret/i;
const MAX_PARAMS = 16;
const MAX_PARAM_LENGTH = 1_000;
/** Bounded so that one event cannot flood a subscriber or the queue. */
export const MAX_NOTICES_PER_WRITE = 1_000;

export class InvalidNoticeError extends Error {
  constructor(reason: string) {
    super(`invalid outbox notice: ${reason}`);
    this.name = "InvalidNoticeError";
  }
}

export function checkNotice(notice: Notice): void {
  if (!MSISDN.test(notice.msisdn)) throw new InvalidNoticeError("msisdn must be E.164 with +");
  if (!TEMPLATE.test(notice.template)) throw new InvalidNoticeError(`template key "${notice.template}" is malformed`);
  if (!KINDS.includes(notice.kind)) throw new InvalidNoticeError(`kind "${String(notice.kind)}" is unknown`);
  if (notice.language !== undefined && !/^[a-z]{2}$/.test(notice.language)) throw new InvalidNoticeError("language must be a 2-letter code");
  const entries = Object.entries(notice.params);
  if (entries.length > MAX_PARAMS) throw new InvalidNoticeError(`more than ${MAX_PARAMS} params`);
  for (const [name, value] of entries) {
    if (PIN_LIKE_PARAM.test(name)) throw new InvalidNoticeError(`param "${name}" looks like a secret; messages never carry one`);
    if (typeof value !== "string" || value.length > MAX_PARAM_LENGTH) throw new InvalidNoticeError(`param "${name}" must be a string ≤ ${MAX_PARAM_LENGTH}`);
  }
}

/**
 * The bank notices are about, which the relay routes them by (only its links may carry them):
 * `institutionId` when the caller knows it; else the bank of `transferId`'s debit account; else
 * that of `subjectId`, the customer or agent the notice is about (a PIN subject: the agent's own
 * bank, though its number is an agent's at another bank too, or a customer's there).
 */
export interface OutboxNoticeOptions {
  transferId?: string;
  institutionId?: string;
  subjectId?: string;
}

/** Inserts the notices as pending outbox rows in `tx`; returns their ids in order. */
export async function insertOutboxNotices(tx: SqlExecutor, notices: Notice[], options: OutboxNoticeOptions = {}): Promise<string[]> {
  if (notices.length === 0) return [];
  if (notices.length > MAX_NOTICES_PER_WRITE) throw new InvalidNoticeError(`more than ${MAX_NOTICES_PER_WRITE} notices in one write`);
  for (const notice of notices) checkNotice(notice);
  const ids = notices.map(() => uuidv7());
  await tx.query(
    `INSERT INTO outbox_messages (id, transfer_id, msisdn, template, params, language, kind, institution_id)
     SELECT u.id, $2::uuid, u.msisdn, u.template, u.params, u.language, u.kind,
            COALESCE($8::uuid,
                     (SELECT a.institution_id FROM transfers t JOIN accounts a ON a.id = t.debit_account_id WHERE t.id = $2::uuid),
                     (SELECT c.institution_id FROM customers c WHERE c.id = $9::uuid),
                     (SELECT g.institution_id FROM agents g WHERE g.id = $9::uuid))
     FROM unnest($1::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[]) AS u(id, msisdn, template, params, language, kind)`,
    [
      ids,
      options.transferId ?? null,
      notices.map((n) => n.msisdn),
      notices.map((n) => n.template),
      notices.map((n) => JSON.stringify(n.params)),
      notices.map((n) => n.language ?? null),
      notices.map((n) => n.kind),
      options.institutionId ?? null,
      options.subjectId ?? null,
    ],
  );
  return ids;
}

/**
 * The template of a command reply (src/sms/commands/outbox-replies.ts). Its text was rendered by
 * the SMS command handler from sms-commands.json in the customer's language, so the relay sends
 * `params.text` as it is instead of rendering a template from sms.json.
 */
export const REPLY_TEMPLATE = "reply.text";
/** Longer than any command's reply (a 5-row mini-statement), bounded so one row cannot flood a link. */
export const MAX_REPLY_LENGTH = 1_600;

export interface OutboxReply {
  /** Derived from the MO message it answers: the same message run again writes the same id. */
  id: string;
  msisdn: string;
  text: string;
  /** The link the command came in on: preferred for the reply while that link exists. */
  replyLinkId: string | null;
  /** Our address the command was sent to: the reply's sender. */
  sender: string | null;
  /** The MO message it answers (sms_mo_messages.id). */
  inReplyTo: string;
  /**
   * The bank whose link or HTTP aggregator the command came in on: the reply goes over its links
   * only (absent: the bank of replyLinkId, else the claim infers it).
   */
  institutionId?: string | null;
}

/**
 * Writes a command reply as a pending outbox row. A row with this id already there (the same MO
 * message run again after a crash or a re-delivery) is left as it is: false, nothing written.
 */
export async function insertOutboxReply(db: SqlExecutor, reply: OutboxReply): Promise<boolean> {
  if (!MSISDN.test(reply.msisdn)) throw new InvalidNoticeError("msisdn must be E.164 with +");
  if (reply.text.length === 0 || reply.text.length > MAX_REPLY_LENGTH) throw new InvalidNoticeError(`reply text must be 1–${MAX_REPLY_LENGTH} characters`);
  const { rowCount } = await db.query(
    `INSERT INTO outbox_messages (id, msisdn, template, params, kind, reply_link_id, sender, in_reply_to, institution_id)
     VALUES ($1, $2, $3, $4::jsonb, 'notice', $5, $6, $7, COALESCE($8::uuid, (SELECT l.institution_id FROM sms_links l WHERE l.id = $5)))
     ON CONFLICT (id) DO NOTHING`,
    [reply.id, reply.msisdn, REPLY_TEMPLATE, JSON.stringify({ text: reply.text }), reply.replyLinkId, reply.sender, reply.inReplyTo, reply.institutionId ?? null],
  );
  return rowCount === 1;
}
