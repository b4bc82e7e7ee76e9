import type { Account, AccountKind, AccountStatus, Transfer, TransferFailure, TransferKind, TransferResultCode } from "../../core/ledger/types.js";

// BIGINT columns are selected as text: PGlite returns int8 as a JS number, which loses precision
// above 2^53, and pg returns a string; text then BigInt() is exact on both.

export const ACCOUNT_COLUMNS = `id, institution_id, currency, kind, owner_ref, status, flags,
  debits_pending::text AS dp, debits_posted::text AS dpo, credits_pending::text AS cp, credits_posted::text AS cpo`;

export const TRANSFER_COLUMNS = `seq::text AS seq, id, debit_account_id, credit_account_id, amount::text AS amount,
  currency, kind, pending_id, timeout_sec, expires_at, code, reference, created_at`;

export interface AccountRow {
  id: string;
  institution_id: string;
  currency: string;
  kind: string;
  owner_ref: string | null;
  status: string;
  flags: number;
  dp: string;
  dpo: string;
  cp: string;
  cpo: string;
}

export interface TransferRow {
  seq: string | null;
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  currency: string;
  kind: string;
  pending_id: string | null;
  timeout_sec: number | null;
  expires_at: Date | null;
  code: string;
  reference: string | null;
  created_at: Date;
}

export interface FailureRow {
  id: string;
  result: string;
  kind: string;
  debit_account_id: string | null;
  credit_account_id: string | null;
  amount: string | null;
  pending_id: string | null;
  created_at: Date;
  limit_party: string | null;
}

export function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    institutionId: r.institution_id,
    currency: r.currency,
    kind: r.kind as AccountKind,
    ownerRef: r.owner_ref,
    status: r.status as AccountStatus,
    flags: r.flags,
    debitsPending: BigInt(r.dp),
    debitsPosted: BigInt(r.dpo),
    creditsPending: BigInt(r.cp),
    creditsPosted: BigInt(r.cpo),
  };
}

export function toTransfer(r: TransferRow): Transfer {
  return {
    seq: r.seq === null ? undefined : BigInt(r.seq),
    id: r.id,
    kind: r.kind as TransferKind,
    debitAccountId: r.debit_account_id,
    creditAccountId: r.credit_account_id,
    amountMinor: BigInt(r.amount),
    currency: r.currency,
    pendingId: r.pending_id,
    timeoutSec: r.timeout_sec,
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
    code: r.code,
    reference: r.reference,
    createdAt: new Date(r.created_at),
  };
}

export function toFailure(r: FailureRow): TransferFailure {
  return {
    id: r.id,
    result: r.result as TransferResultCode,
    kind: r.kind as TransferKind,
    debitAccountId: r.debit_account_id,
    creditAccountId: r.credit_account_id,
    amountMinor: r.amount === null ? null : BigInt(r.amount),
    pendingId: r.pending_id,
    createdAt: new Date(r.created_at),
    limitParty: r.limit_party as TransferFailure["limitParty"],
  };
}

// Array parameters written as PostgreSQL array literals here, in one pass per column: pg's own
// conversion of a JS array inspects and escapes every element, a measurable share of the ledger
// writer's CPU. Used only for values the ledger has validated or produced itself.

/** UUIDs (validated) or null, e.g. `{0190…,NULL}`. */
export function uuidArray<T>(rows: readonly T[], value: (row: T) => string | null): string {
  return `{${rows.map((r) => value(r) ?? "NULL").join(",")}}`;
}

/** Integers, bigint or number, or null. */
export function intArray<T>(rows: readonly T[], value: (row: T) => bigint | number | null): string {
  return `{${rows.map((r) => { const v = value(r); return v === null ? "NULL" : v.toString(); }).join(",")}}`;
}

/** Timestamps (toISOString: no character that needs quoting) or null. */
export function timeArray<T>(rows: readonly T[], value: (row: T) => Date | null): string {
  return `{${rows.map((r) => value(r)?.toISOString() ?? "NULL").join(",")}}`;
}

const NEEDS_ESCAPE = /["\\]/;

/** Text of any content, each element double-quoted with `"` and `\` escaped; null as NULL. */
export function textArray<T>(rows: readonly T[], value: (row: T) => string | null): string {
  return `{${rows
    .map((r) => {
      const v = value(r);
      if (v === null) return "NULL";
      return NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, "\\$&")}"` : `"${v}"`;
    })
    .join(",")}}`;
}

// The same arrays in PostgreSQL's binary format, for the PostgreSQL driver (pg sends a Buffer
// parameter as binary): the server then copies elements instead of parsing text, which took a
// tenth of its CPU per transfer in array_in, uuid_in and int8in. Layout (array_recv): ndim,
// has-nulls flag, element type OID, then per dimension its length and lower bound, then each
// element as a length (-1 for NULL) and its bytes. An empty array has no dimension.

const OID = { uuid: 2950, int8: 20, int4: 23, text: 25, timestamptz: 1184, tid: 27 } as const;
type ElementType = keyof typeof OID;

/** Bytes of the header: an empty array has no dimension. */
const headerBytes = (count: number) => (count === 0 ? 12 : 20);

/** Writes the header and returns the offset of the first element. */
function arrayHeader(buf: Buffer, count: number, nulls: boolean, type: ElementType): number {
  buf.writeInt32BE(count === 0 ? 0 : 1, 0);
  buf.writeInt32BE(nulls ? 1 : 0, 4);
  buf.writeInt32BE(OID[type], 8);
  if (count === 0) return 12;
  buf.writeInt32BE(count, 12);
  buf.writeInt32BE(1, 16);
  return 20;
}

// Hex digit values by char code, 255 for anything else.
const HEX_VALUE = new Uint8Array(128).fill(255);
for (let i = 0; i < 16; i += 1) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}
const hexValue = (c: number) => (c < 128 ? HEX_VALUE[c]! : 255);
/** Where each byte's two hex digits start in the canonical 36-character form. */
const UUID_BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const DASH = 45;

/**
 * Writes a UUID in canonical form (36 characters, dashes at 8, 13, 18 and 23) as its 16 bytes,
 * checking every digit on the way: the ledger validated or read each id it writes, but a wrong
 * character here would not fail as a text literal does, it would write another id.
 */
function writeUuid(buf: Buffer, at: number, v: string): void {
  if (v.length !== 36 || v.charCodeAt(8) !== DASH || v.charCodeAt(13) !== DASH || v.charCodeAt(18) !== DASH || v.charCodeAt(23) !== DASH) {
    throw new Error(`not a UUID: ${JSON.stringify(v)}`);
  }
  for (let k = 0; k < 16; k += 1) {
    const i = UUID_BYTE_AT[k]!;
    const high = hexValue(v.charCodeAt(i));
    const low = hexValue(v.charCodeAt(i + 1));
    if ((high | low) > 15) throw new Error(`not a UUID: ${JSON.stringify(v)}`);
    buf[at + k] = (high << 4) | low;
  }
}

/** UUIDs in canonical form or null. */
export function uuidArrayBinary<T>(rows: readonly T[], value: (row: T) => string | null): Buffer {
  let nulls = 0;
  const values = rows.map((r) => {
    const v = value(r);
    if (v === null) nulls += 1;
    return v;
  });
  const buf = Buffer.allocUnsafe(headerBytes(values.length) + values.length * 4 + (values.length - nulls) * 16);
  let at = arrayHeader(buf, values.length, nulls > 0, "uuid");
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
      continue;
    }
    at = buf.writeInt32BE(16, at);
    writeUuid(buf, at, v);
    at += 16;
  }
  return buf;
}

const TWO_32 = 2 ** 32;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * writeBigInt64BE without its BigInt arithmetic (it shifts and masks, allocating a BigInt at each
 * step) for values within ±2^53, which all but the rarest balances are: as two 32-bit halves.
 */
function writeInt64(buf: Buffer, v: bigint, at: number): number {
  if (v > MAX_SAFE || v < -MAX_SAFE) return buf.writeBigInt64BE(v, at);
  const n = Number(v);
  const high = Math.floor(n / TWO_32);
  buf.writeInt32BE(high, at);
  return buf.writeUInt32BE(n - high * TWO_32, at + 4);
}

/** 64-bit integers (bigint minor units) or null. */
export function int8ArrayBinary<T>(rows: readonly T[], value: (row: T) => bigint | null): Buffer {
  return fixedArray(rows, value, "int8", 8, writeInt64);
}

/** 32-bit integers or null. */
export function int4ArrayBinary<T>(rows: readonly T[], value: (row: T) => number | null): Buffer {
  return fixedArray(rows, value, "int4", 4, (buf, v, at) => buf.writeInt32BE(v, at));
}

// PostgreSQL's timestamps count microseconds from 2000-01-01 UTC.
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Timestamps or null. */
export function timeArrayBinary<T>(rows: readonly T[], value: (row: T) => Date | null): Buffer {
  return fixedArray(rows, value, "timestamptz", 8, (buf, v, at) => buf.writeBigInt64BE(BigInt(v.getTime() - PG_EPOCH_MS) * 1000n, at));
}

function fixedArray<T, V>(rows: readonly T[], value: (row: T) => V | null, type: ElementType, size: number, write: (buf: Buffer, v: V, at: number) => number): Buffer {
  let nulls = 0;
  const values = rows.map((r) => {
    const v = value(r);
    if (v === null) nulls += 1;
    return v;
  });
  const buf = Buffer.allocUnsafe(headerBytes(values.length) + values.length * 4 + (values.length - nulls) * size);
  let at = arrayHeader(buf, values.length, nulls > 0, type);
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
      continue;
    }
    at = buf.writeInt32BE(size, at);
    at = write(buf, v, at);
  }
  return buf;
}

/** Text of any content (UTF-8) or null. */
export function textArrayBinary<T>(rows: readonly T[], value: (row: T) => string | null): Buffer {
  let bytes = 0;
  let nulls = 0;
  const values = rows.map((r) => {
    const v = value(r);
    if (v === null) nulls += 1;
    else bytes += Buffer.byteLength(v);
    return v;
  });
  const buf = Buffer.allocUnsafe(headerBytes(values.length) + values.length * 4 + bytes);
  let at = arrayHeader(buf, values.length, nulls > 0, "text");
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
      continue;
    }
    const length = buf.write(v, at + 4);
    buf.writeInt32BE(length, at);
    at += 4 + length;
  }
  return buf;
}

/** Row versions ("block:offset", as ledger_lock_and_read gives them): a 4-byte block, a 2-byte offset. */
export function tidArrayBinary<T>(rows: readonly T[], value: (row: T) => string): Buffer {
  const buf = Buffer.allocUnsafe(headerBytes(rows.length) + rows.length * 10);
  let at = arrayHeader(buf, rows.length, false, "tid");
  for (const r of rows) {
    const tid = value(r);
    const colon = tid.indexOf(":");
    const block = Number(tid.slice(0, colon));
    const offset = Number(tid.slice(colon + 1));
    if (colon < 1 || !Number.isInteger(block) || block < 0 || block > 0xffffffff || !Number.isInteger(offset) || offset < 1 || offset > 0xffff) {
      throw new Error(`not a row version: ${JSON.stringify(tid)}`);
    }
    at = buf.writeInt32BE(6, at);
    at = buf.writeUInt32BE(block, at);
    at = buf.writeUInt16BE(offset, at);
  }
  return buf;
}
