/**
 * The ledger as ensureSystemAccount (src/core/institutions/system-accounts.ts) uses it, remembering
 * the system accounts it found: each payment and each metered session looked its fee-income,
 * telco-payable or bank account up again, when all it uses is the id, which never changes once the
 * account exists (accounts are never deleted). Only for services that read accounts through
 * ensureSystemAccount alone: an Account kept is as it was when first read, balances included.
 */
import type { SystemAccountLedger } from "../../core/institutions/system-accounts.js";
import type { Account, NewAccount } from "../../core/ledger/types.js";

const MAX_KNOWN = 10_000;

export class KnownSystemAccounts implements SystemAccountLedger {
  private readonly known = new Map<string, Account>();

  constructor(private readonly ledger: SystemAccountLedger) {}

  async getAccount(id: string): Promise<Account | null> {
    const hit = this.known.get(id);
    if (hit) return hit;
    const account = await this.ledger.getAccount(id);
    return account ? this.remember(account) : null;
  }

  async createAccount(input: NewAccount): Promise<Account> {
    return this.remember(await this.ledger.createAccount(input));
  }

  private remember(account: Account): Account {
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
    this.known.set(account.id, account);
    return account;
  }
}
