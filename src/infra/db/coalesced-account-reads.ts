/**
 * Ledger account reads of hops in flight together, coalesced where account reads are made (the
 * ledger's store, composed in src/main.ts): the ids asked for in one turn of the event loop are
 * read with one `getAccounts` (one statement) instead of one each, whoever asks (a balance, a
 * session's wallet currency, a system account). A read is never served from an earlier one: each
 * call waits for a read issued after it was made, so a balance shown after a payment is as fresh
 * as before. Everything else goes straight to the store.
 */
import type { LedgerStore } from "../../core/ledger/ports.js";
import type { Account } from "../../core/ledger/types.js";

interface Waiter {
  ids: string[];
  resolve(accounts: Account[]): void;
  reject(error: unknown): void;
}

/** Accounts read per statement at most. */
const MAX_IDS = 500;

export class CoalescedAccountReads implements LedgerStore {
  private waiting: Waiter[] = [];

  constructor(private readonly store: LedgerStore) {}

  applyBatch: LedgerStore["applyBatch"] = (keys, decide) => this.store.applyBatch(keys, decide);
  createAccounts: LedgerStore["createAccounts"] = (accounts) => this.store.createAccounts(accounts);
  getTransfer: LedgerStore["getTransfer"] = (id) => this.store.getTransfer(id);
  getFailures: LedgerStore["getFailures"] = (ids) => this.store.getFailures(ids);
  listAccountTransfers: LedgerStore["listAccountTransfers"] = (accountId, page) => this.store.listAccountTransfers(accountId, page);
  findExpiredPendings: LedgerStore["findExpiredPendings"] = (now, limit) => this.store.findExpiredPendings(now, limit);

  getAccounts(ids: string[]): Promise<Account[]> {
    // A large read goes alone: coalescing is for the many one-account reads of hops.
    if (ids.length === 0 || ids.length >= MAX_IDS) return this.store.getAccounts(ids);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ ids, resolve, reject });
    });
  }

  private flush(): void {
    const waiters = this.waiting;
    this.waiting = [];
    let batch: Waiter[] = [];
    let size = 0;
    for (const w of waiters) {
      if (size + w.ids.length > MAX_IDS) {
        void this.read(batch);
        batch = [];
        size = 0;
      }
      batch.push(w);
      size += w.ids.length;
    }
    void this.read(batch);
  }

  private async read(waiters: Waiter[]): Promise<void> {
    if (waiters.length === 1) return this.store.getAccounts(waiters[0]!.ids).then(waiters[0]!.resolve, waiters[0]!.reject);
    try {
      const accounts = await this.store.getAccounts([...new Set(waiters.flatMap((w) => w.ids))]);
      const byId = new Map(accounts.map((a) => [a.id, a]));
      // Each caller gets the accounts its own read would have returned: those of its ids that exist, once each.
      for (const w of waiters) w.resolve([...new Set(w.ids)].flatMap((id) => byId.get(id) ?? []));
    } catch (error) {
      for (const w of waiters) w.reject(error);
    }
  }
}
