/** Ledger vocabulary. Amounts are bigint minor units of the account's ISO 4217 currency. */
import type { Notice } from "../notices/types.js";
import type { LimitCode, LimitPolicy, LimitRefusal } from "../limits/types.js";

export const MAX_AMOUNT_MINOR = (1n << 63n) - 1n; // BIGINT's ceiling in PostgreSQL

export const AccountFlags = {
  /** The account's debits may never exceed its posted credits: a wallet cannot go negative. */
  debitsMustNotExceedCredits: 1,
  /** The account's credits may never exceed its posted debits. */
  creditsMustNotExceedDebits: 2,
} as const;

export const ACCOUNT_KINDS = [
  "customer_wallet",
  "bank",
  "agent_float",
  "commission",
  "fee_income",
  "settlement",
  "suspense",
  "telco_payable",
  "merchant",
  "instrument",
] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
export type AccountStatus = "active" | "frozen" | "closed";

export interface Balances {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Account extends Balances {
  id: string;
  institutionId: string;
  currency: string;
  kind: AccountKind;
  ownerRef: string | null;
  status: AccountStatus;
  flags: number;
}

export interface NewAccount {
  id?: string;
  institutionId: string;
  currency: string;
  kind: AccountKind;
  ownerRef?: string | null;
  flags?: number;
}

/** single: moves money now. pending: reserves it. post/void: settles or releases a pending. */
export type TransferKind = "single" | "pending" | "post" | "void";

export interface TransferInput {
  /** Chosen by the client; submitting the same id again never moves money twice. */
  id: string;
  kind?: TransferKind;
  debitAccountId?: string;
  creditAccountId?: string;
  amountMinor?: bigint;
  /** For post and void: the pending transfer they settle. */
  pendingId?: string;
  /** For pending: seconds until the reservation lapses. */
  timeoutSec?: number;
  /** Business type, e.g. "p2p", "fee", "cash_in". */
  code: string;
  reference?: string;
  /** Bank limits to enforce with the accounts locked (single and pending transfers only). */
  limits?: TransferLimits;
  /**
   * Messages (receipts, prompts) the ledger writes to the outbox in the batch's transaction when,
   * and only when, it accepts this transfer: a retry answered `exists` writes nothing again.
   */
  notices?: Notice[];
  /** Set only by the ledger's own expiry sweep: voids a pending whose timeout has passed. */
  expiry?: boolean;
  /** The sweep's clock, for an expiry void: expiry is judged as of this time rather than now. */
  expiryAsOf?: Date;
  /**
   * Set only by Ledger.abandon: no transfer, but the id recorded as refused (transfer_abandoned)
   * unless it is already in the ledger. Alone in its submission; every other field is ignored.
   */
  abandon?: true;
}

/**
 * Limits a transfer carries from the payments service: the payer's policy for the channel and
 * KYC tier, the payee wallet's balance cap, and the institution's time zone for days and months.
 * The ledger checks them inside the batch's transaction, with both accounts locked, so two
 * concurrent transfers cannot both slip under a daily limit.
 */
export interface TransferLimits {
  timeZone: string;
  payer?: LimitPolicy;
  /**
   * The account whose usage rows count the payer's sending, when it is not the debit account: a
   * customer paying from a second wallet is counted on their primary one, so the payer's limits
   * are the customer's, not each wallet's. Locked with the transfer's accounts.
   */
  payerUsageAccountId?: string;
  /** The credit account's policy: its balance cap, and with payeeInbound its inbound limits too. */
  payee?: LimitPolicy;
  /**
   * The payee customer's other wallets (accounts that hold money here), besides the credit
   * account. A tier's balance cap is the customer's, not each wallet's: without these a customer
   * with several wallets could hold the cap in each. The cap then binds what the credit account
   * and these together could come to hold (accounts that mirror money held elsewhere count
   * nothing). Locked with the transfer's accounts, so two payments into two wallets of one
   * customer are checked one after the other. Only with payee; at most MAX_PAYEE_HOLDING_ACCOUNTS.
   */
  payeeHoldingAccountIds?: string[];
  /**
   * When true (and payee is set), the payee policy's per-transaction, daily amount and count and
   * monthly amount also bound what the credit account receives, counted like a payer's sending in
   * its own usage rows ("2026-11-25:in", "2026-11:in"). Off by default: a customer wallet's policy
   * describes what it may send, not what it may be sent.
   */
  payeeInbound?: boolean;
  /**
   * What the whole group debits from the debit account (a payment and its fee), when more than
   * this transfer: a payee's limit refusal is answered as the payer's shortfall when the payer
   * cannot fund the group, so that the payee's room stays unknown to a payer who cannot pay.
   */
  payerDebitMinor?: bigint;
  /**
   * The payee is the one asking (an agent requesting a cash-out from a customer's wallet): its
   * own limits answer before the payer's funds, which are not the asker's business.
   */
  payeeFirst?: boolean;
}

export interface Transfer {
  id: string;
  kind: TransferKind;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  currency: string;
  pendingId: string | null;
  timeoutSec: number | null;
  expiresAt: Date | null;
  code: string;
  reference: string | null;
  createdAt: Date;
  /** Assigned by the store; orders an account's history. */
  seq?: bigint;
}

/** A refused transfer, remembered by id so a retry gets the same answer. */
export interface TransferFailure {
  id: string;
  result: TransferResultCode;
  kind: TransferKind;
  debitAccountId: string | null;
  creditAccountId: string | null;
  amountMinor: bigint | null;
  pendingId: string | null;
  createdAt: Date;
  /** For a limit refusal that refused this transfer itself: whose limit it was; null for any other. */
  limitParty: LimitRefusal["party"] | null;
}

export type TransferResultCode =
  | "ok"
  | "exists"
  | "exists_with_different_kind"
  | "exists_with_different_debit_account_id"
  | "exists_with_different_credit_account_id"
  | "exists_with_different_amount"
  | "exists_with_different_pending_id"
  | "exists_with_different_timeout"
  | "exists_with_different_code"
  | "exists_with_different_reference"
  /** Linked groups: some members exist and others are new, so the group is not the one written. */
  | "exists_with_different_group"
  | "linked_event_failed"
  | "linked_group_too_large"
  | "invalid_id"
  | "invalid_kind"
  | "invalid_code"
  | "invalid_reference"
  | "invalid_account_id"
  | "amount_must_be_positive"
  | "amount_too_large"
  | "accounts_must_be_different"
  | "timeout_reserved_for_pending_transfer"
  | "invalid_timeout"
  | "pending_id_required"
  | "pending_id_must_not_be_set"
  | "pending_id_must_be_different"
  | "debit_account_not_found"
  | "credit_account_not_found"
  | "debit_account_frozen"
  | "credit_account_frozen"
  | "debit_account_closed"
  | "credit_account_closed"
  | "accounts_must_have_the_same_currency"
  | "pending_transfer_not_found"
  | "pending_transfer_not_pending"
  | "pending_transfer_has_different_debit_account_id"
  | "pending_transfer_has_different_credit_account_id"
  | "pending_transfer_has_different_amount"
  | "exceeds_pending_transfer_amount"
  | "pending_transfer_already_posted"
  | "pending_transfer_already_voided"
  | "pending_transfer_expired"
  | "overflows_debits"
  | "overflows_credits"
  | "exceeds_credits"
  | "exceeds_debits"
  | "invalid_limits"
  | "invalid_notices"
  /** The id was given up by a caller that could not tell whether it posted (Ledger.abandon): it never will. */
  | "transfer_abandoned"
  | LimitCode;

export interface TransferResult {
  id: string;
  result: TransferResultCode;
  /**
   * For a limit refusal: which limit and whose, and on the first answer what may still be sent. A
   * retry of the same id is answered from the recorded failure without the amounts (RecordedLimit).
   */
  limit?: LimitRefusal | RecordedLimit;
}

/**
 * Whether a refusal is the payee's limit (a balance cap is always the payee's; a failure recorded
 * before parties were, carries none). What it leaves is the payee's business: no amount is told.
 */
export function refusedByPayeeLimit(result: TransferResult): boolean {
  return result.limit?.party === "payee" || result.result === "balance_limit_exceeded";
}

/**
 * A limit refusal as a retry of its transfer id gets it again: the code and whose limit it was,
 * but no amounts. Those were true when the transfer was refused and may be wrong by the retry,
 * so callers fall back to the wording without an amount.
 */
export interface RecordedLimit {
  ok: false;
  code: LimitCode;
  party: LimitRefusal["party"];
  limit?: undefined;
  remainingMinor?: undefined;
  availableMinor?: undefined;
}

/** Outcomes that leave the id free to be used again as if never seen: bad input is not remembered. */
export const SUCCESS_CODES: ReadonlySet<TransferResultCode> = new Set(["ok", "exists"]);

/**
 * Refusals that depend on balances or account state at the moment of the attempt. They are
 * recorded, so that a retry of the same id is refused the same way instead of moving money later.
 */
export const RECORDED_FAILURES: ReadonlySet<TransferResultCode> = new Set([
  "exceeds_credits",
  "exceeds_debits",
  "overflows_debits",
  "overflows_credits",
  "debit_account_frozen",
  "credit_account_frozen",
  "debit_account_closed",
  "credit_account_closed",
  "pending_transfer_expired",
  "per_transaction_exceeded",
  "daily_count_exceeded",
  "daily_amount_exceeded",
  "monthly_amount_exceeded",
  "balance_limit_exceeded",
  "transfer_abandoned",
]);

export const MAX_LINKED_GROUP = 16;
/** TransferLimits.payeeHoldingAccountIds at most: a customer has at most 10 instruments. */
export const MAX_PAYEE_HOLDING_ACCOUNTS = 10;
export const MAX_TIMEOUT_SEC = 30 * 24 * 3600;
