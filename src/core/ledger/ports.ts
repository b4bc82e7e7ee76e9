import type { BatchDecision, BatchKeys, LedgerSnapshot } from "./snapshot.js";
import type { Account, Transfer, TransferFailure } from "./types.js";

/** Thrown by a store when a concurrent writer got there first; the batch is decided again. */
export class LedgerConflict extends Error {
  constructor(message = "a concurrent batch wrote the same transfer id") {
    super(message);
    this.name = "LedgerConflict";
  }
}

export interface TransferPage {
  limit: number;
  /** Only transfers older than this sequence number (the `seq` of the last one seen). */
  beforeSeq?: bigint;
}

/** Persistence for the ledger, implemented in src/infra. */
export interface LedgerStore {
  /**
   * In one transaction: lock the accounts in keys (and those of the pendings they name) in id
   * order, load the snapshot, call decide, write its transfers, failures and balances. Throws
   * LedgerConflict when a concurrent writer inserted one of the same ids meanwhile.
   */
  applyBatch(keys: BatchKeys, decide: (snapshot: LedgerSnapshot) => BatchDecision): Promise<BatchDecision>;
  createAccounts(accounts: Account[]): Promise<void>;
  getAccounts(ids: string[]): Promise<Account[]>;
  getTransfer(id: string): Promise<Transfer | null>;
  /** The recorded failures (refused transfers) among these ids; a read only, it settles nothing. */
  getFailures(ids: string[]): Promise<TransferFailure[]>;
  listAccountTransfers(accountId: string, page: TransferPage): Promise<Transfer[]>;
  /** Pending transfers whose timeout has passed and that nobody posted or voided yet. */
  findExpiredPendings(now: Date, limit: number): Promise<Transfer[]>;
}
