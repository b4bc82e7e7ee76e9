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
