import type { Account, Transfer, TransferFailure, TransferResult } from "./types.js";

/** What a batch needs to know to decide, loaded inside its transaction with the accounts locked. */
export interface LedgerSnapshot {
  accounts: Map<string, Account>;
  /** Earlier transfers and recorded failures with an id that this batch submits again. */
  existing: Map<string, Transfer | TransferFailure>;
  /** Pending transfers referenced by post/void in the batch, and how each was resolved. */
  pendings: Map<string, PendingState>;
}

export interface PendingState {
  transfer: Transfer;
  resolution: "posted" | "voided" | null;
}

/** The ids a batch touches, so the store knows what to lock and load. */
export interface BatchKeys {
  transferIds: string[];
  accountIds: string[];
  pendingIds: string[];
}

export interface BatchDecision {
  transfers: Transfer[];
  failures: TransferFailure[];
  /** Accounts whose balances changed, with their new balances. */
  accounts: Account[];
  /** One list per submitted group, in submission order. */
  results: TransferResult[][];
}

export function isFailure(record: Transfer | TransferFailure): record is TransferFailure {
  return "result" in record;
}
