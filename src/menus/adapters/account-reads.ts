/**
 * Ledger account reads of hops in flight together, coalesced: the ids asked for in one turn of the
 * event loop are read with one `getAccounts` (one statement) instead of one each. A read is never
 * served from an earlier one: each call waits for a read issued after it was made, so a balance
 * shown after a payment is as fresh as before.
 */
import type { Ledger } from "../../core/ledger/ledger.js";
import type { Account } from "../../core/ledger/types.js";

interface Waiter {
  id: string;
  resolve(account: Account | null): void;
  reject(error: unknown): void;
}

/** Accounts read at most per statement. */
const MAX_IDS = 500;

export class CoalescedAccountReads {
  private waiting: Waiter[] = [];

  constructor(private readonly ledger: Pick<Ledger, "getAccount" | "getAccounts">) {}

  getAccount(id: string): Promise<Account | null> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ id, resolve, reject });
    });
  }

  private flush(): void {
    const waiters = this.waiting;
    this.waiting = [];
    for (let i = 0; i < waiters.length; i += MAX_IDS) void this.read(waiters.slice(i, i + MAX_IDS));
  }

  private async read(waiters: Waiter[]): Promise<void> {
    if (waiters.length === 1) {
      const [w] = waiters;
      return this.ledger.getAccount(w!.id).then(w!.resolve, w!.reject);
    }
    try {
      const accounts = await this.ledger.getAccounts([...new Set(waiters.map((w) => w.id))]);
      const byId = new Map(accounts.map((a) => [a.id, a]));
      for (const w of waiters) w.resolve(byId.get(w.id) ?? null);
    } catch (error) {
      for (const w of waiters) w.reject(error);
    }
  }
}
