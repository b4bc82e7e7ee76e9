import type { Notice } from "../notices/types.js";
import type { UsageKey, UsageRow } from "./limits-check.js";
import type { Account, Transfer, TransferFailure, TransferResult } from "./types.js";

/** What a batch needs to know to decide, loaded inside its transaction with the accounts locked. */
export interface LedgerSnapshot {
  accounts: Map<string, Account>;
  /** Earlier transfers and recorded failures with an id that this batch submits again. */
  existing: Map<string, Transfer | TransferFailure>;
  /** Pending transfers referenced by post/void in the batch, and how each was resolved. */
  pendings: Map<string, PendingState>;
  /** Limit usage of the payers in the batch, keyed by usageKey(accountId, periodKey). */
  usage?: Map<string, UsageRow>;
}

export interface PendingState {
  transfer: Transfer;
  resolution: "posted" | "voided" | null;
  /**
   * The usage rows the pending counted when it was made (none when it carried no limits): a void,
   * an expiry or a post for less gives back to these same rows, whatever day it happens on.
   */
  counted?: UsageKey[];
}

/** One usage row a pending counted, as the store records it with the pending. */
export interface CountedUsage extends UsageKey {
  transferId: string;
}

/** The ids a batch touches, so the store knows what to lock and load. */
export interface BatchKeys {
  transferIds: string[];
  accountIds: string[];
  pendingIds: string[];
  /**
   * Limit usage rows to load: each limited transfer's day and month. The store adds the rows that
   * the pendings settled by the batch counted (PendingState.counted), which only it can read.
   */
  usageKeys?: UsageKey[];
}

export interface BatchDecision {
  transfers: Transfer[];
  failures: TransferFailure[];
  /** Accounts whose balances changed, with their new balances. */
  accounts: Account[];
  /** Limit usage rows with their new totals. */
  usage?: UsageRow[];
  /** The usage rows each pending accepted in this batch counted, to keep with the pending. */
  counted?: CountedUsage[];
  /** Outbox rows of the transfers accepted in this batch (never of a retry answered `exists`). */
  notices?: OutboxNotice[];
  /** One list per submitted group, in submission order. */
  results: TransferResult[][];
}

export function isFailure(record: Transfer | TransferFailure): record is TransferFailure {
  return "result" in record;
}

/** A notice as the outbox stores it: its id is derived from the transfer's, so it is written once. */
export interface OutboxNotice extends Notice {
  id: string;
  transferId: string;
  /** The bank of the transfer's debit account: the relay sends the notice over its links only. */
  institutionId: string | null;
}
