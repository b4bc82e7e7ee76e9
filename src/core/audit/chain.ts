import { hash } from "node:crypto";
import {
  ACTOR_TYPES,
  AUDIT_OUTCOMES,
  CHANNELS,
  type AuditEntryInput,
  type AuditHead,
  type AuditRecord,
} from "./audit-entry.js";
import { cleanString, normalizeJson, serializeJson, type JsonValue } from "./canonical.js";
import { redactPayload } from "./redact.js";

/**
 * The hash chain, defined once:
 *
 *   content = { seq, occurredAt, actorType, actorId, action, channel, outcome, subject, payload }
 *   hash    = lowercase hex SHA-256( UTF-8( prevHash ‖ canonicalJson(content) ) )
 *
 * where seq is a decimal string, occurredAt an ISO-8601 UTC string with milliseconds, subject a
 * string or null, payload the redacted, normalized object ({} when absent), prevHash the previous
 * entry's hash as 64 lowercase hex characters (GENESIS_HASH for the first entry), and
 * canonicalJson the form defined in canonical.ts.
 */

export const MAX_ACTOR_ID_CHARS = 128;
export const MAX_SUBJECT_CHARS = 256;
/** A payload's canonical JSON may not exceed this: an audit entry summarizes an action. */
export const MAX_PAYLOAD_CHARS = 16_384;
/** Entries per append: the ledger appends one per transfer, in batches of a few thousand. */
export const MAX_AUDIT_BATCH = 100_000;

const ACTION_RE = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/;
const HASH_RE = /^[0-9a-f]{64}$/;

/** Thrown for an entry the code built wrongly: a bug to fix, not a refusal to show anyone. */
export class InvalidAuditEntry extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidAuditEntry";
  }
}

/** An entry validated, redacted and normalized, waiting only for its place in the chain. */
export interface PreparedEntry extends Omit<AuditRecord, "seq" | "occurredAt" | "prevHash" | "hash"> {
  payload: Record<string, JsonValue>;
  /** serializeJson(payload), computed once: hashed, and stored as the jsonb text. */
  payloadJson: string;
}

function oneOf<T extends string>(list: readonly T[], value: unknown, field: string): T {
  if (!list.includes(value as T)) throw new InvalidAuditEntry(`${field} must be one of ${list.join(", ")}`);
  return value as T;
}

export function prepareEntry(input: AuditEntryInput): PreparedEntry {
  if (typeof input.action !== "string" || !ACTION_RE.test(input.action)) {
    throw new InvalidAuditEntry("action must look like 'pin.verify' (lower case words joined by dots)");
  }
  if (typeof input.actorId !== "string" || input.actorId.length === 0) throw new InvalidAuditEntry("actorId is required");
  const payload = normalizeJson(redactPayload(input.payload ?? {})) as Record<string, JsonValue>;
  const payloadJson = serializeJson(payload);
  if (payloadJson.length > MAX_PAYLOAD_CHARS) {
    throw new InvalidAuditEntry(`payload exceeds ${MAX_PAYLOAD_CHARS} characters of canonical JSON`);
  }
  return {
    actorType: oneOf(ACTOR_TYPES, input.actorType, "actorType"),
    actorId: cleanString(input.actorId, MAX_ACTOR_ID_CHARS),
    action: input.action,
    channel: oneOf(CHANNELS, input.channel, "channel"),
    outcome: oneOf(AUDIT_OUTCOMES, input.outcome, "outcome"),
    subject: input.subject === undefined || input.subject === null ? null : cleanString(String(input.subject), MAX_SUBJECT_CHARS),
    payload,
    payloadJson,
  };
}

/**
 * The canonical content of a record: every stored column except prev_hash and hash. The keys are
 * written in their sorted order by hand (the same text serializeJson would give) because this
 * runs once per entry on the ledger's hot path; a unit test holds the two equal.
 */
export function canonicalContent(record: Omit<AuditRecord, "prevHash" | "hash">, payloadJson?: string): string {
  const q = JSON.stringify;
  return (
    `{"action":${q(record.action)},"actorId":${q(record.actorId)},"actorType":${q(record.actorType)},` +
    `"channel":${q(record.channel)},"occurredAt":${q(record.occurredAt.toISOString())},"outcome":${q(record.outcome)},` +
    `"payload":${payloadJson ?? serializeJson(record.payload as JsonValue)},"seq":"${record.seq}",` +
    `"subject":${record.subject === null ? "null" : q(record.subject)}}`
  );
}

export function hashRecord(record: Omit<AuditRecord, "hash">, payloadJson?: string): string {
  return hash("sha256", record.prevHash + canonicalContent(record, payloadJson), "hex");
}

/** A record as chained, with the payload text the store writes so it need not serialize again. */
export type ChainedRecord = AuditRecord & { payloadJson: string };

/** Links prepared entries after head: consecutive seqs, each hash over the previous one. */
export function chainEntries(head: AuditHead, entries: PreparedEntry[], now: Date): { records: ChainedRecord[]; head: AuditHead } {
  // A malformed head (someone edited audit_head) would otherwise be chained into every entry.
  if (!HASH_RE.test(head.lastHash)) throw new Error("audit head hash is not 64 lowercase hex characters");
  if (Number.isNaN(now.getTime())) throw new InvalidAuditEntry("now is an invalid Date");
  const records: ChainedRecord[] = [];
  let { lastSeq: seq, lastHash: prevHash } = head;
  // Objects are built field by field: spreading them cost more than hashing, on the ledger's hot path.
  for (const e of entries) {
    seq += 1n;
    const record: ChainedRecord = {
      seq,
      occurredAt: now,
      actorType: e.actorType,
      actorId: e.actorId,
      action: e.action,
      channel: e.channel,
      outcome: e.outcome,
      subject: e.subject,
      payload: e.payload,
      prevHash,
      hash: "",
      payloadJson: e.payloadJson,
    };
    record.hash = hashRecord(record, e.payloadJson);
    records.push(record);
    prevHash = record.hash;
  }
  return { records, head: { lastSeq: seq, lastHash: prevHash } };
}
