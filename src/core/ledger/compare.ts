import { isFailure } from "./snapshot.js";
import type { Transfer, TransferFailure, TransferInput, TransferResultCode } from "./types.js";

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
