/**
 * The menu ports over the core services: Directory, PinService, SimSwapGuard and Ledger. The
 * composition root builds these once and passes them in every MenuContext.
 */
import type { PinService } from "../../core/auth/pin-service.js";
import type { SimSwapGuard } from "../../core/auth/sim-swap.js";
import type { Directory } from "../../core/directory/directory.js";
import { canPay } from "../../core/directory/instruments.js";
import type { ActionContext, Customer } from "../../core/directory/types.js";
import { feeTransferId, isFeeCode } from "../../core/fees/linked.js";
import { transferReference } from "../../core/ledger/ids.js";
import type { Ledger } from "../../core/ledger/ledger.js";
import type { Account, Transfer } from "../../core/ledger/types.js";
import type { AccountsPort, CustomerRef, DirectoryPort, Holdings, PayeeRef, PinPort, Result, SimSwapPort, StatementLine, WalletBalance } from "../ports.js";

const SELF_REGISTRATION: ActionContext = { actorType: "customer", actorId: "self-registration", channel: "ussd" };
const asCustomer = (c: CustomerRef): ActionContext => ({ actorType: "customer", actorId: c.id, channel: "ussd" });
const OK: Result<null> = { ok: true, value: null };

// Wallet currencies seen: an account's currency never changes, so a session's first screen need not
// read the account again. Bounded; the oldest entry goes first.
const MAX_KNOWN_CURRENCIES = 100_000;

export class CoreDirectoryPort implements DirectoryPort {
  private readonly currencies = new Map<string, string>();

  constructor(
    private readonly directory: Directory,
    private readonly ledger: Ledger,
  ) {}

  async findByMsisdn(msisdn: string, institutionId: string): Promise<CustomerRef | null> {
    const found = await this.directory.findCustomerByMsisdn(msisdn, institutionId);
    if (!found.ok) return null;
    return this.toRef(found.value);
  }

  async register(input: { institutionId: string; msisdn: string; displayName: string; language: CustomerRef["language"] }): Promise<Result<CustomerRef>> {
    const registered = await this.directory.register(SELF_REGISTRATION, input);
    if (!registered.ok) return registered;
    return { ok: true, value: await this.toRef(registered.value) };
  }

  async lookupPayee(query: string, institutionId: string, asker?: { actorType: "customer" | "agent"; id: string }): Promise<Result<PayeeRef>> {
    const audited = asker ? { asker: { actorType: asker.actorType, actorId: asker.id, channel: "ussd" } as const } : {};
    const found = await this.directory.resolvePayee(query, { institutionId, ...audited });
    // Blocked, closed or unknown: one answer before the PIN (the directory audited which it was).
    if (!found.ok) return { ok: false, code: found.code === "payee_unavailable" ? "payee_not_found" : found.code };
    const { payee, customer } = found.value;
    return { ok: true, value: { customerId: payee.customerId, accountId: payee.accountId, maskedName: payee.maskedName, msisdn: customer.msisdn } };
  }

  async setLanguage(customer: CustomerRef, language: CustomerRef["language"]): Promise<Result<null>> {
    const set = await this.directory.setLanguage(asCustomer(customer), customer.id, language);
    return set.ok ? OK : set;
  }

  async holdings(customer: CustomerRef): Promise<Holdings> {
    const profile = await this.directory.getProfile(customer.id);
    if (!profile) return { aliases: [], instruments: [] };
    return {
      aliases: profile.aliases.map((a) => a.alias),
      instruments: profile.instruments.map((i) => ({ id: i.id, alias: i.alias, isDefault: i.isDefault })),
    };
  }

  async payingInstruments(customer: CustomerRef): Promise<Holdings["instruments"]> {
    const instruments = await this.directory.listInstruments(customer.id);
    return instruments.filter(canPay).map((i) => ({ id: i.id, alias: i.alias, isDefault: i.isDefault }));
  }

  async claimAlias(customer: CustomerRef, alias: string): Promise<Result<string>> {
    const claimed = await this.directory.claimAlias(asCustomer(customer), customer.id, alias);
    return claimed.ok ? { ok: true, value: claimed.value.alias } : claimed;
  }

  async setDefaultInstrument(customer: CustomerRef, instrumentId: string): Promise<Result<string>> {
    const set = await this.directory.setDefaultInstrument(asCustomer(customer), customer.id, instrumentId);
    return set.ok ? { ok: true, value: set.value.alias } : set;
  }

  private async toRef(customer: Customer): Promise<CustomerRef> {
    return {
      id: customer.id,
      institutionId: customer.institutionId,
      msisdn: customer.msisdn,
      walletAccountId: customer.walletAccountId,
      currency: await this.walletCurrency(customer.walletAccountId),
      language: customer.language,
      displayName: customer.displayName,
      active: customer.status === "active",
      ...(customer.awaitingFirstPin === true ? { awaitingFirstPin: true } : {}),
    };
  }

  private async walletCurrency(accountId: string): Promise<string> {
    const known = this.currencies.get(accountId);
    if (known) return known;
    const wallet = await this.ledger.getAccount(accountId);
    if (!wallet) throw new Error("directory: a customer's wallet account is missing");
    this.currencies.set(accountId, wallet.currency);
    if (this.currencies.size > MAX_KNOWN_CURRENCIES) this.currencies.delete(this.currencies.keys().next().value!);
    return wallet.currency;
  }
}

export class CorePinPort implements PinPort {
  constructor(private readonly pins: PinService) {}

  async setPin(c: CustomerRef, pin: string): Promise<Result<null>> {
    const r = await this.pins.setPin({ actor: { type: "customer", id: c.id }, channel: "ussd", subjectId: c.id, msisdn: c.msisdn, pin });
    return r.ok ? OK : { ok: false, code: r.code };
  }

  async verifyPin(c: CustomerRef, pin: string): Promise<Result<null>> {
    const r = await this.pins.verifyPin({ actor: { type: "customer", id: c.id }, channel: "ussd", subjectId: c.id, pin });
    if (r.ok) return OK;
    return r.code === "pin_locked" ? { ok: false, code: r.code, until: r.lockedUntil } : { ok: false, code: r.code };
  }

  async changePin(c: CustomerRef, oldPin: string, newPin: string): Promise<Result<null>> {
    const r = await this.pins.changePin({ actor: { type: "customer", id: c.id }, channel: "ussd", subjectId: c.id, oldPin, newPin });
    if (r.ok) return OK;
    if (r.code === "sim_swap_cooling") return { ok: false, code: "pin_change_cooling", until: r.endsAt };
    return r.code === "pin_locked" ? { ok: false, code: r.code, until: r.lockedUntil } : { ok: false, code: r.code };
  }
}

export class CoreSimSwapPort implements SimSwapPort {
  constructor(private readonly guard: SimSwapGuard) {}

  async checkOutgoing(msisdn: string, amountMinor: bigint): Promise<Result<null>> {
    const r = await this.guard.checkOutgoing(msisdn, amountMinor);
    if (r.ok) return OK;
    return r.code === "sim_swap_cooling" ? { ok: false, code: r.code, until: r.endsAt } : { ok: false, code: r.code };
  }
}

/** Pages of history a mini-statement reads at most, looking past reservations for its lines. */
const STATEMENT_PAGES = 3;

/** A fee leg's own id (a posted one's: its reservation's), which `feeTransferId` derives from its payment's. */
function feeKey(t: Transfer): string | null {
  return t.kind === "post" ? t.pendingId : t.id;
}

export class LedgerAccountsPort implements AccountsPort {
  /**
   * Without the directory (a caller that knows no instruments) only the wallet opened at
   * registration is read; with it, every wallet the customer holds: a customer who pays from a
   * second wallet, or made it the default that receives their money, must see it on the balance
   * and the mini-statement.
   */
  constructor(
    private readonly ledger: Pick<Ledger, "getAccount" | "getAccounts" | "listAccountTransfers">,
    private readonly directory?: Pick<Directory, "listInstruments">,
  ) {}

  async balance(c: CustomerRef): Promise<{ availableMinor: bigint; currency: string; wallets?: WalletBalance[] }> {
    // The wallets are listed beside the primary's read: a customer with one wallet waits for no extra round trip.
    const [account, wallets] = await Promise.all([this.ledger.getAccount(c.walletAccountId), this.walletsOf(c)]);
    if (!account) throw new Error("ledger: wallet account not found");
    const primary = { availableMinor: available(account), currency: account.currency };
    if (wallets.length <= 1) return primary;
    const others = await this.ledger.getAccounts(wallets.map((w) => w.accountId).filter((id) => id !== account.id));
    const byId = new Map([account, ...others].map((a) => [a.id, a]));
    const listed: WalletBalance[] = [];
    for (const w of wallets) {
      const a = byId.get(w.accountId);
      if (a) listed.push({ name: w.alias, availableMinor: available(a), currency: a.currency });
    }
    return { ...primary, wallets: listed };
  }

  /**
   * The last `limit` payments of all the customer's wallets together, newest first: each wallet's
   * own last `limit` (below), merged by time.
   */
  async recent(c: CustomerRef, limit: number): Promise<StatementLine[]> {
    const [primary, wallets] = await Promise.all([this.recentOf(c.walletAccountId, limit), this.walletsOf(c)]);
    const others = wallets.filter((w) => w.accountId !== c.walletAccountId);
    if (others.length === 0) return primary;
    const more = await Promise.all(others.map((w) => this.recentOf(w.accountId, limit)));
    return [primary, ...more]
      .flat()
      .sort((a, b) => b.at.getTime() - a.at.getTime())
      .slice(0, limit);
  }

  /** The customer's wallets (the instruments that hold money here), or none without the directory. */
  private async walletsOf(c: CustomerRef): Promise<Array<{ alias: string; accountId: string }>> {
    if (!this.directory) return [];
    return (await this.directory.listInstruments(c.id)).filter(canPay);
  }

  /**
   * One wallet's last `limit` payments in and out. Reservations and their voids are left out (a declined
   * cash-out leaves two of each, one per leg), so the history is read a page at a time, at most
   * STATEMENT_PAGES pages. A fee is not a payment of its own: it goes with the payment it was
   * charged for, so a line is what the payment did to the wallet (sent with its fee, or received
   * less a fee the wallet paid, as on a cash-in). A posted reservation (a cash-out) is
   * named by the reservation's reference, the one on its receipt.
   */
  private async recentOf(walletAccountId: string, limit: number): Promise<StatementLine[]> {
    const lines: StatementLine[] = [];
    const fees = new Map<string, bigint>();
    const pageSize = Math.max(1, limit) * 4;
    let beforeSeq: bigint | undefined;
    for (let page = 0; page < STATEMENT_PAGES && lines.length < limit; page++) {
      const transfers = await this.ledger.listAccountTransfers(walletAccountId, { limit: pageSize, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
      for (const t of transfers) {
        if (lines.length >= limit) break;
        if (t.kind !== "single" && t.kind !== "post") continue;
        const out = t.debitAccountId === walletAccountId;
        // Newest first: a fee is met before its payment (written after it, in one linked group).
        const feeOf = out && isFeeCode(t.code) ? feeKey(t) : null;
        if (feeOf !== null) {
          fees.set(feeOf, (fees.get(feeOf) ?? 0n) + t.amountMinor);
          continue;
        }
        const named = t.kind === "post" && t.pendingId ? t.pendingId : t.id;
        // The line is the payment's net effect on the wallet: a cash-in's fee, paid from the
        // wallet it credits, comes off what was received.
        const fee = fees.get(feeTransferId(named)) ?? 0n;
        const net = out ? -(t.amountMinor + fee) : t.amountMinor - fee;
        lines.push({ direction: net < 0n ? "out" : "in", amountMinor: net < 0n ? -net : net, at: t.createdAt, reference: transferReference(named) });
      }
      const last = transfers.at(-1);
      if (transfers.length < pageSize || last?.seq === undefined) break;
      beforeSeq = last.seq;
    }
    return lines;
  }
}

function available(account: Pick<Account, "creditsPosted" | "debitsPosted" | "debitsPending">): bigint {
  const amount = account.creditsPosted - account.debitsPosted - account.debitsPending;
  return amount > 0n ? amount : 0n;
}
