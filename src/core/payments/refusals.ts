import { refusedByPayeeLimit, type TransferResult } from "../ledger/types.js";
import { LIMIT_CODES, type LimitCode } from "../limits/types.js";
import type { PaymentRefusal } from "./types.js";

/**
 * The one table from ledger outcomes to payment refusals. Only the cause of a failed group
 * matters: its other members say linked_event_failed. Anything not listed is a bug or an outage
 * and is thrown, never shown to a customer as a reason.
 */
export function refusalFor(results: TransferResult[]): PaymentRefusal | null {
  const cause = results.find((r) => r.result !== "ok" && r.result !== "exists" && r.result !== "linked_event_failed");
  if (!cause) {
    if (results.every((r) => r.result === "ok" || r.result === "exists")) return null;
    throw new Error("linked group failed without a cause");
  }
  if ((LIMIT_CODES as readonly string[]).includes(cause.result)) {
    // What the payee's limits leave is the payee's business (their cap less their balance): the
    // payer hears only that this amount cannot be received.
    if (refusedByPayeeLimit(cause)) return { ok: false, code: cause.result as LimitCode };
    return { ok: false, code: cause.result as LimitCode, availableMinor: cause.limit?.availableMinor };
  }
  switch (cause.result) {
    case "exceeds_credits":
      return { ok: false, code: "insufficient_funds" };
    case "debit_account_frozen":
    case "debit_account_closed":
      return { ok: false, code: "payer_unavailable" };
    case "credit_account_frozen":
    case "credit_account_closed":
      return { ok: false, code: "payee_unavailable" };
    case "accounts_must_have_the_same_currency":
      return { ok: false, code: "currency_mismatch" };
    case "transfer_abandoned":
      // The id was given up after a write of it threw (Ledger.abandon): it never posts, and a
      // retry of it is refused so. Nothing moved; a new payment (a new id) may go.
      return { ok: false, code: "payment_abandoned" };
    default:
      if (cause.result.startsWith("exists_with_different")) return { ok: false, code: "payment_id_reused" };
      throw new Error(`unexpected ledger outcome for a payment: ${cause.result}`);
  }
}
