// An in-memory model of the ledger for randomized tests. It states the rules independently of
// src/core/ledger: which codes a transfer may get given the state at the start of a round, and
// what each `ok` does to the balances. Tests drive it with the codes the real ledger returned.
import type { AccountStatus, TransferInput, TransferResultCode } from "../../src/core/ledger/types.js";

export interface ModelAccount {
  id: string;
  currency: string;
  flags: number;
  status: AccountStatus;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface ModelPending {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  expiresAtMs: number | null;
  resolution: "posted" | "voided" | null;
}

/** What an id answers now: `ok` (it exists) or the refusal recorded for it. */
export interface ModelRecord {
  input: TransferInput;
  outcome: TransferResultCode;
}

const WALLET = 1;
const SETTLEMENT = 2;

export class LedgerModel {
  readonly accounts = new Map<string, ModelAccount>();
  readonly pendings = new Map<string, ModelPending>();
  readonly records = new Map<string, ModelRecord>();
  /** Ids that were ever answered `ok`; a second `ok` for one of them is a bug. */
  readonly okIds = new Set<string>();
  transferRows = 0;

  addAccount(id: string, currency: string, flags: number): void {
    this.accounts.set(id, { id, currency, flags, status: "active", debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n });
  }

  /** Codes a new single or pending transfer between known-valid ids may get, in the ledger's precedence. */
  newTransferCodes(t: TransferInput): TransferResultCode[] {
    const debit = this.accounts.get(t.debitAccountId!);
    const credit = this.accounts.get(t.creditAccountId!);
    if (!debit) return ["debit_account_not_found"];
    if (!credit) return ["credit_account_not_found"];
    if (debit.status !== "active") return [`debit_account_${debit.status}` as TransferResultCode];
    if (credit.status !== "active") return [`credit_account_${credit.status}` as TransferResultCode];
    if (debit.currency !== credit.currency) return ["accounts_must_have_the_same_currency"];
    const codes: TransferResultCode[] = ["ok"];
    if (debit.flags & WALLET) codes.push("exceeds_credits");
    if (credit.flags & SETTLEMENT) codes.push("exceeds_debits");
    return codes;
  }

  /**
   * Codes a post or void may get. `contested` means another submission of this round resolves the
   * same pending, so it may find the pending already resolved.
   */
  resolutionCodes(t: TransferInput, nowMs: number, contested: boolean): TransferResultCode[] {
    const p = this.pendings.get(t.pendingId!);
    if (!p) return ["pending_transfer_not_found"];
    if (p.resolution === "posted") return ["pending_transfer_already_posted"];
    if (p.resolution === "voided") return ["pending_transfer_already_voided"];
    const raced: TransferResultCode[] = contested ? ["pending_transfer_already_posted", "pending_transfer_already_voided"] : [];
    if (t.amountMinor !== undefined) {
      if (t.kind === "void" && t.amountMinor !== p.amountMinor) return ["pending_transfer_has_different_amount", ...raced];
      if (t.amountMinor > p.amountMinor) return ["exceeds_pending_transfer_amount", ...raced];
    }
    // An expired pending refuses every resolution but the sweep's, which runs after the round.
    if (p.expiresAtMs !== null && p.expiresAtMs <= nowMs) return ["pending_transfer_expired"];
    if (t.kind === "post") {
      const debit = this.accounts.get(p.debitAccountId)!;
      const credit = this.accounts.get(p.creditAccountId)!;
      if (debit.status !== "active") return [`debit_account_${debit.status}` as TransferResultCode, ...raced];
      if (credit.status !== "active") return [`credit_account_${credit.status}` as TransferResultCode, ...raced];
    }
    return ["ok", ...raced];
  }

  /** The answer to an id seen before, submitted again unchanged. */
  retryCodes(previous: ModelRecord): TransferResultCode[] {
    return [previous.outcome === "ok" ? "exists" : previous.outcome];
  }

  /** Applies one transfer the ledger answered `ok`. Throws on a second `ok` for an id or a pending. */
  applyOk(t: TransferInput, nowMs: number): void {
    if (this.okIds.has(t.id)) throw new Error(`transfer ${t.id} was answered ok twice`);
    this.okIds.add(t.id);
    this.transferRows += 1;
    this.records.set(t.id, { input: t, outcome: "ok" });
    const kind = t.kind ?? "single";
    if (kind === "single" || kind === "pending") {
      const debit = this.accounts.get(t.debitAccountId!)!;
      const credit = this.accounts.get(t.creditAccountId!)!;
      if (kind === "single") {
        debit.debitsPosted += t.amountMinor!;
        credit.creditsPosted += t.amountMinor!;
      } else {
        debit.debitsPending += t.amountMinor!;
        credit.creditsPending += t.amountMinor!;
        this.pendings.set(t.id, {
          id: t.id,
          debitAccountId: debit.id,
          creditAccountId: credit.id,
          amountMinor: t.amountMinor!,
          expiresAtMs: t.timeoutSec === undefined ? null : nowMs + t.timeoutSec * 1000,
          resolution: null,
        });
      }
      return;
    }
    const p = this.pendings.get(t.pendingId!);
    if (!p) throw new Error(`${kind} ${t.id} was answered ok for an unknown pending`);
    if (p.resolution !== null) throw new Error(`pending ${p.id} was resolved twice`);
    const settled = kind === "post" ? (t.amountMinor ?? p.amountMinor) : 0n;
    const debit = this.accounts.get(p.debitAccountId)!;
    const credit = this.accounts.get(p.creditAccountId)!;
    debit.debitsPending -= p.amountMinor;
    credit.creditsPending -= p.amountMinor;
    debit.debitsPosted += settled;
    credit.creditsPosted += settled;
    p.resolution = kind === "post" ? "posted" : "voided";
  }

  /** Remembers a refusal the ledger records, unless the id already has an answer. */
  recordFailure(t: TransferInput, code: TransferResultCode): void {
    if (!this.records.has(t.id)) this.records.set(t.id, { input: t, outcome: code });
  }

  /** Open pendings whose timeout has passed at `nowMs`: what an expiry sweep must void. */
  duePendings(nowMs: number): ModelPending[] {
    return [...this.pendings.values()].filter((p) => p.resolution === null && p.expiresAtMs !== null && p.expiresAtMs <= nowMs);
  }

  openPendings(): ModelPending[] {
    return [...this.pendings.values()].filter((p) => p.resolution === null);
  }

  resolvedPendings(): ModelPending[] {
    return [...this.pendings.values()].filter((p) => p.resolution !== null);
  }
}
