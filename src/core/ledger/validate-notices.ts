import { storableText } from "./storable-text.js";
import { MAX_NOTICES_PER_TRANSFER, type Notice, type NoticeKind } from "../notices/types.js";

// The outbox's CHECK constraint says the same: a leading +, no leading zero, 7 to 15 digits.
const E164_RE = /^\+[1-9][0-9]{6,14}$/;
const LANGUAGE_RE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
const KINDS: ReadonlySet<string> = new Set<NoticeKind>(["receipt", "notice", "prompt"]);
const MAX_TEMPLATE_LENGTH = 64;
const MAX_PARAMS = 16;
const MAX_PARAM_KEY_LENGTH = 64;
/** Characters of all keys and values of one transfer's notices together: an SMS is short. */
export const MAX_NOTICE_PARAM_CHARS = 2_048;

function validParams(params: unknown): number | null {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return null;
  const entries = Object.entries(params);
  if (entries.length > MAX_PARAMS) return null;
  let chars = 0;
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > MAX_PARAM_KEY_LENGTH || typeof value !== "string" || !storableText(key) || !storableText(value)) return null;
    chars += key.length + value.length;
  }
  return chars;
}

function noticeChars(n: Notice): number | null {
  if (typeof n !== "object" || n === null) return null;
  if (typeof n.msisdn !== "string" || !E164_RE.test(n.msisdn)) return null;
  if (typeof n.template !== "string" || n.template.length === 0 || n.template.length > MAX_TEMPLATE_LENGTH || !storableText(n.template)) return null;
  if (n.language !== undefined && (typeof n.language !== "string" || !LANGUAGE_RE.test(n.language))) return null;
  if (typeof n.kind !== "string" || !KINDS.has(n.kind)) return null;
  return validParams(n.params);
}

/**
 * The notices a transfer carries come from our own services, but they end up in an SMS to a
 * subscriber: a malformed list is refused with the transfer (`invalid_notices`) rather than
 * written and failing later in the SMS channel, after the money has moved.
 */
export function validNotices(notices: unknown): boolean {
  if (!Array.isArray(notices) || notices.length === 0 || notices.length > MAX_NOTICES_PER_TRANSFER) return false;
  let total = 0;
  for (const n of notices as Notice[]) {
    const chars = noticeChars(n);
    if (chars === null) return false;
    total += chars;
  }
  return total <= MAX_NOTICE_PARAM_CHARS;
}
