import { isFailure } from "./snapshot.js";
import type { LimitCode } from "../limits/types.js";
import type { RecordedLimit, Transfer, TransferFailure, TransferInput, TransferResult, TransferResultCode } from "./types.js";

/**
 * The answer to a transfer whose id was seen before: `exists` when it is the same request, the
 * first refusal when that one was refused, or which field differs. Fields a post or void may
 * omit (accounts, amount) count as the same when omitted.
 */
export function compareWithExisting(input: TransferInput, existing: Transfer | TransferFailure): TransferResultCode {
  // An abandoned id is refused whatever is submitted under it (its row records no fields to compare).
  if (isFailure(existing) && existing.result === "transfer_abandoned") return existing.result;
  const kind = input.kind ?? "single";
  if (kind !== existing.kind) return "exists_with_different_kind";
  const resolution = kind === "post" || kind === "void";
  if (input.debitAccountId !== undefined || !resolution) {
    if (input.debitAccountId !== existing.debitAccountId) return "exists_with_different_debit_account_id";
  }
  if (input.creditAccountId !== undefined || !resolution) {
    if (input.creditAccountId !== existing.creditAccountId) return "exists_with_different_credit_account_id";
  }
  if (input.amountMinor !== undefined || !resolution) {
    if (input.amountMinor !== existing.amountMinor) return "exists_with_different_amount";
  }
  if ((input.pendingId ?? null) !== existing.pendingId) return "exists_with_different_pending_id";
  if (isFailure(existing)) return existing.result;
  if ((input.timeoutSec ?? null) !== existing.timeoutSec) return "exists_with_different_timeout";
  if (input.code !== existing.code) return "exists_with_different_code";
  // Stored content like the rest (receipts, statements, the audit digest): another reference is
  // another request reusing the id. Failures do not store one, so a refused id is not compared.
  if ((input.reference ?? null) !== existing.reference) return "exists_with_different_reference";
  return "exists";
}

/**
 * A recorded failure as its id answers again (as the group's cause, or a member refused with it):
 * its result and, for a limit, whose limit it was.
 */
export function recordedResult(failure: TransferFailure): TransferResult {
  const limit = recordedLimit(failure);
  return limit ? { id: failure.id, result: failure.result, limit } : { id: failure.id, result: failure.result };
}

/** A party is recorded only with a limit code (the cause's own result; the database checks it too). */
export function recordedLimit(failure: TransferFailure): RecordedLimit | undefined {
  if (failure.limitParty === null) return undefined;
  return { ok: false, code: failure.result as LimitCode, party: failure.limitParty };
}
