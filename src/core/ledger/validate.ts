import { isValidTimeZone } from "../limits/periods.js";
import { storableText } from "./storable-text.js";
import { validNotices } from "./validate-notices.js";
import type { LimitPolicy } from "../limits/types.js";
import { isUuid } from "./ids.js";
import {
  MAX_AMOUNT_MINOR,
  MAX_PAYEE_HOLDING_ACCOUNTS,
  MAX_TIMEOUT_SEC,
  type TransferInput,
  type TransferKind,
  type TransferLimits,
  type TransferResultCode,
} from "./types.js";

const KINDS: ReadonlySet<string> = new Set<TransferKind>(["single", "pending", "post", "void"]);
const CODE_RE = /^[a-z][a-z0-9_]{0,31}$/;
const MAX_REFERENCE_LENGTH = 128;

function validAmount(amount: unknown): TransferResultCode | null {
  if (typeof amount !== "bigint") return "amount_must_be_positive";
  if (amount <= 0n) return "amount_must_be_positive";
  if (amount > MAX_AMOUNT_MINOR) return "amount_too_large";
  return null;
}

const LIMIT_AMOUNTS = ["maxPerTransactionMinor", "maxDailyAmountMinor", "maxMonthlyAmountMinor", "maxBalanceMinor"] as const;

function validPolicy(policy: LimitPolicy | undefined): boolean {
  if (policy === undefined) return true;
  return LIMIT_AMOUNTS.every((k) => typeof policy[k] === "bigint" && policy[k] >= 0n) && Number.isSafeInteger(policy.maxDailyCount);
}

/**
 * The payee's other wallets: UUIDs, each once, at most MAX_PAYEE_HOLDING_ACCOUNTS, and only beside
 * a payee policy (they are counted for its cap, nothing else). Neither of the transfer's own
 * accounts: the credit account is counted anyway, and a move between two wallets of one customer
 * changes nothing of their total (its caller sends no list; the credit account's own cap holds).
 */
function validHoldings(t: TransferInput, limits: TransferLimits): boolean {
  const ids: unknown = limits.payeeHoldingAccountIds;
  if (ids === undefined) return true;
  if (!Array.isArray(ids) || limits.payee === undefined || ids.length > MAX_PAYEE_HOLDING_ACCOUNTS) return false;
  const seen = new Set<string>();
  for (const id of ids) {
    if (!isUuid(id) || seen.has(id) || id === t.creditAccountId || id === t.debitAccountId) return false;
    seen.add(id);
  }
  return true;
}

/** Limits come from our own payments service; malformed ones are a bug, refused before any state. */
function validLimits(limits: TransferLimits | undefined): boolean {
  if (limits === undefined) return true;
  const inbound = limits.payeeInbound === undefined || limits.payeeInbound === false || (limits.payeeInbound === true && limits.payee !== undefined);
  const usage = limits.payerUsageAccountId === undefined || isUuid(limits.payerUsageAccountId);
  const debit = limits.payerDebitMinor === undefined || (typeof limits.payerDebitMinor === "bigint" && limits.payerDebitMinor > 0n);
  const order = limits.payeeFirst === undefined || typeof limits.payeeFirst === "boolean";
  return isValidTimeZone(limits.timeZone) && validPolicy(limits.payer) && validPolicy(limits.payee) && inbound && usage && debit && order;
}

function validateNew(t: TransferInput, kind: TransferKind): TransferResultCode | null {
  if (!isUuid(t.debitAccountId) || !isUuid(t.creditAccountId)) return "invalid_account_id";
  if (t.debitAccountId === t.creditAccountId) return "accounts_must_be_different";
  const amount = validAmount(t.amountMinor);
  if (amount) return amount;
  if (t.pendingId !== undefined) return "pending_id_must_not_be_set";
  if (!validLimits(t.limits) || (t.limits !== undefined && !validHoldings(t, t.limits))) return "invalid_limits";
  if (t.timeoutSec !== undefined) {
    if (kind !== "pending") return "timeout_reserved_for_pending_transfer";
    if (!Number.isSafeInteger(t.timeoutSec) || t.timeoutSec <= 0 || t.timeoutSec > MAX_TIMEOUT_SEC) {
      return "invalid_timeout";
    }
  }
  return null;
}

function validateResolution(t: TransferInput): TransferResultCode | null {
  if (t.pendingId === undefined) return "pending_id_required";
  if (!isUuid(t.pendingId)) return "pending_id_required";
  if (t.pendingId === t.id) return "pending_id_must_be_different";
  if (t.debitAccountId !== undefined && !isUuid(t.debitAccountId)) return "invalid_account_id";
  if (t.creditAccountId !== undefined && !isUuid(t.creditAccountId)) return "invalid_account_id";
  if (t.amountMinor !== undefined) {
    const amount = validAmount(t.amountMinor);
    if (amount) return amount;
  }
  if (t.timeoutSec !== undefined) return "timeout_reserved_for_pending_transfer";
  if (t.limits !== undefined) return "invalid_limits";
  return null;
}

/**
 * Checks what can be checked without the database. A transfer refused here changes nothing and
 * is not remembered: it is bad input, not a business outcome.
 */
export function validateTransfer(t: TransferInput): TransferResultCode | null {
  if (!isUuid(t.id)) return "invalid_id";
  // Ledger.abandon's input is decided alone (BatchDecider.abandonOne), never as a member of a group.
  if (t.abandon !== undefined) return "invalid_kind";
  const kind = t.kind ?? "single";
  if (!KINDS.has(kind)) return "invalid_kind";
  if (typeof t.code !== "string" || !CODE_RE.test(t.code)) return "invalid_code";
  if (t.reference !== undefined && (typeof t.reference !== "string" || t.reference.length > MAX_REFERENCE_LENGTH || !storableText(t.reference))) {
    return "invalid_reference";
  }
  if (t.notices !== undefined && !validNotices(t.notices)) return "invalid_notices";
  return kind === "post" || kind === "void" ? validateResolution(t) : validateNew(t, kind);
}
