import { compareWithExisting, recordedLimit, recordedResult } from "./compare.js";
import { derivedUuid, isUuid } from "./ids.js";
import { checkLimits, givenBack, usageKey, type UsageKey, type UsageRow } from "./limits-check.js";
import { isFailure, type BatchDecision, type CountedUsage, type LedgerSnapshot, type OutboxNotice, type PendingState } from "./snapshot.js";
import {
  AccountFlags,
  MAX_AMOUNT_MINOR,
  MAX_LINKED_GROUP,
  RECORDED_FAILURES,
  type Account,
  type Balances,
  type Transfer,
  type TransferFailure,
  type TransferInput,
  type TransferResult,
  type TransferLimits,
  type TransferResultCode,
} from "./types.js";
import { validateTransfer } from "./validate.js";

/**
 * What a group changed, to restore if it fails; the maps are made on first use. A group of one
 * transfer records nothing (`record` false): its only changes come after every check has passed,
 * so it never has anything to restore, and most groups are one transfer.
 */
interface Undo {
  record: boolean;
  balances?: Map<Account, Balances>;
  resolutions?: Map<PendingState, PendingState["resolution"]>;
  usage?: Map<string, UsageRow | undefined>;
}

type Outcome = { code: TransferResultCode; transfer?: Transfer; limit?: TransferResult["limit"] };

/** The undo of a group of one: records nothing (see Undo). Never written to, since `record` is false. */
const NO_UNDO: Undo = { record: false };

/**
 * Decides a whole batch against a snapshot: pure, no I/O. Groups are applied in order; each group
 * is all-or-nothing (a payment and its fee). The snapshot's accounts are updated in place, so the
 * caller must pass a snapshot that belongs to this attempt alone.
 */
export function decideBatch(snapshot: LedgerSnapshot, groups: TransferInput[][], now: Date): BatchDecision {
  const decider = new BatchDecider(snapshot, now);
  const results = groups.map((group) => decider.applyGroup(group));
  return { ...decider.output(), results };
}

class BatchDecider {
  private readonly transfers: Transfer[] = [];
  private readonly failures: TransferFailure[] = [];
  private readonly notices: OutboxNotice[] = [];
  private readonly touched = new Set<Account>();
  private readonly usageTouched = new Set<string>();
  private readonly staged = new Map<string, Transfer | TransferFailure>();
  /** Transfers made by the group being applied; they join `staged` only if the group succeeds. */
  private readonly groupMade = new Map<string, Transfer>();
  /** Pendings of the group being applied that its own post or void looked up: forgotten if it fails. */
  private readonly groupPendings = new Set<string>();
  /** The usage rows each pending made in this batch counted, by transfer id. */
  private readonly countedBy = new Map<string, UsageKey[]>();

  constructor(
    private readonly snapshot: LedgerSnapshot,
    private readonly now: Date,
  ) {}

  output(): Omit<BatchDecision, "results"> {
    const usage = this.snapshot.usage;
    const rows = usage ? [...this.usageTouched].flatMap((k) => usage.get(k) ?? []) : [];
    const counted: CountedUsage[] = [];
    if (this.countedBy.size > 0) {
      for (const t of this.transfers) for (const k of this.countedBy.get(t.id) ?? []) counted.push({ transferId: t.id, ...k });
    }
    return { transfers: this.transfers, failures: this.failures, accounts: [...this.touched], usage: rows, counted, notices: this.notices };
  }

  applyGroup(group: TransferInput[]): TransferResult[] {
    if (group.length === 1) return this.applySingle(group);
    if (group.length === 0) return [];
    if (group.length > MAX_LINKED_GROUP) return group.map((t) => ({ id: t.id, result: "linked_group_too_large" }));
    const undo: Undo = { record: group.length > 1 };
    const codes: TransferResultCode[] = [];
    let limit: TransferResult["limit"];
    this.groupMade.clear();
    this.groupPendings.clear();
    for (const input of group) {
      const outcome = this.applyOne(input, undo);
      codes.push(outcome.code);
      limit = outcome.limit;
      if (outcome.transfer) this.groupMade.set(outcome.transfer.id, outcome.transfer);
      if (outcome.code !== "ok" && outcome.code !== "exists") {
        this.groupMade.clear();
        return this.failGroup(group, codes, undo, limit);
      }
    }
    // A group is written whole or not at all, so one that finds some members written before (not
    // an id repeated within it) and others new is not the group that was written: a retry rebuilt from changed data (a fee schedule
    // edited since) would move money its first run never moved, under a "replayed" answer.
    const written = codes.some((code, i) => code === "exists" && !this.groupMade.has(group[i]!.id));
    const changed = written ? codes.indexOf("ok") : -1;
    if (changed !== -1) {
      this.groupMade.clear();
      return this.failGroup(group, [...codes.slice(0, changed), "exists_with_different_group"], undo);
    }
    for (const transfer of this.groupMade.values()) this.stage(transfer);
    this.groupMade.clear();
    group.forEach((t, i) => {
      if (codes[i] === "ok" && t.notices) this.queueNotices(t.id, t.notices);
    });
    return group.map((t, i) => ({ id: t.id, result: codes[i]! }));
  }

  /**
   * applyGroup for a group of one, the common case, without the lists a linked group needs: it
   * records no undo (nothing changes until every check has passed) and nothing of it can be
   * looked up by a later member.
   */
  private applySingle(group: TransferInput[]): TransferResult[] {
    const input = group[0]!;
    if (input.abandon === true) return this.abandonOne(input);
    this.groupMade.clear();
    this.groupPendings.clear();
    const outcome = this.applyOne(input, NO_UNDO);
    const code = outcome.code;
    if (code !== "ok" && code !== "exists") return this.failGroup(group, [code], NO_UNDO, outcome.limit);
    if (outcome.transfer) this.stage(outcome.transfer);
    if (code === "ok" && input.notices) this.queueNotices(input.id, input.notices);
    return [{ id: input.id, result: code }];
  }

  /**
   * Ledger.abandon's input: an id already in the ledger is answered as it stands (a transfer:
   * `exists`; a recorded failure: its result), any other is recorded as refused, transfer_abandoned,
   * so that no later write of it can post (the write statement refuses an id recorded in the other
   * table, ledger_ids_unseen) and every retry of it is refused the same.
   */
  private abandonOne(input: TransferInput): TransferResult[] {
    if (!isUuid(input.id)) return [{ id: input.id, result: "invalid_id" }];
    const seen = this.lookup(input.id);
    if (seen) return [isFailure(seen) ? recordedResult(seen) : { id: input.id, result: "exists" }];
    const failure: TransferFailure = {
      id: input.id, result: "transfer_abandoned", kind: "single", debitAccountId: null, creditAccountId: null, amountMinor: null,
      pendingId: null, createdAt: this.now, limitParty: null,
    };
    this.failures.push(failure);
    this.staged.set(input.id, failure);
    return [{ id: input.id, result: "transfer_abandoned" }];
  }

  /** A transfer of an accepted group: written with the batch, and found by later groups in it. */
  private stage(transfer: Transfer): void {
    this.transfers.push(transfer);
    this.staged.set(transfer.id, transfer);
  }

  /** Only an accepted transfer sends its notices; `exists` means they were queued the first time. */
  private queueNotices(transferId: string, notices: NonNullable<TransferInput["notices"]>): void {
    // The transfer is staged by now; a transfer never crosses banks, so its debit account's is the bank.
    const debitId = this.staged.get(transferId)?.debitAccountId;
    const institutionId = (debitId == null ? undefined : this.snapshot.accounts.get(debitId)?.institutionId) ?? null;
    notices.forEach((n, index) => {
      this.notices.push({
        id: derivedUuid(`fingate:notice:${transferId}:${index}`),
        transferId,
        institutionId,
        msisdn: n.msisdn,
        template: n.template,
        params: n.params,
        language: n.language,
        kind: n.kind,
      });
    });
  }

  /** Rolls the group back and reports the cause once, every other member as linked_event_failed. */
  private failGroup(group: TransferInput[], codes: TransferResultCode[], undo: Undo, limit?: TransferResult["limit"]): TransferResult[] {
    for (const [account, before] of undo.balances ?? []) Object.assign(account, before);
    for (const [state, before] of undo.resolutions ?? []) state.resolution = before;
    // A pending made by this group was never made: a later group may not settle it.
    for (const id of this.groupPendings) this.snapshot.pendings.delete(id);
    for (const [key, before] of undo.usage ?? []) {
      if (before) this.snapshot.usage!.set(key, before);
      else this.snapshot.usage!.delete(key);
    }
    const causeIndex = codes.length - 1;
    const cause = codes[causeIndex]!;
    const results = group.map((t, i): TransferResult => {
      if (i === causeIndex) return limit ? { id: t.id, result: cause, limit } : { id: t.id, result: cause };
      const seen = this.lookup(t.id);
      return seen && isFailure(seen) ? recordedResult(seen) : { id: t.id, result: "linked_event_failed" };
    });
    if (RECORDED_FAILURES.has(cause)) this.recordFailures(group, results);
    return results;
  }

  private recordFailures(group: TransferInput[], results: TransferResult[]): void {
    group.forEach((t, i) => {
      if (this.lookup(t.id) || validateTransfer(t) !== null) return;
      const failure: TransferFailure = {
        id: t.id,
        result: results[i]!.result,
        kind: t.kind ?? "single",
        debitAccountId: t.debitAccountId ?? null,
        creditAccountId: t.creditAccountId ?? null,
        amountMinor: t.amountMinor ?? null,
        pendingId: t.pendingId ?? null,
        createdAt: this.now,
        // Only the cause carries a limit; its retry tells whose limit it was from this.
        limitParty: results[i]!.limit?.party ?? null,
      };
      this.failures.push(failure);
      this.staged.set(t.id, failure);
    });
  }

  private lookup(id: string): Transfer | TransferFailure | undefined {
    return this.groupMade.get(id) ?? this.staged.get(id) ?? this.snapshot.existing.get(id);
  }

  private applyOne(input: TransferInput, undo: Undo): Outcome {
    const invalid = validateTransfer(input);
    if (invalid) return { code: invalid };
    const seen = this.lookup(input.id);
    if (seen) return replayOf(input, seen);
    const kind = input.kind ?? "single";
    return kind === "post" || kind === "void" ? this.resolvePending(input, undo) : this.applyNew(input, undo);
  }

  private accountsFor(
    debitId: string,
    creditId: string,
    checkStatus: boolean,
  ): { code: TransferResultCode } | { debit: Account; credit: Account } {
    const debit = this.snapshot.accounts.get(debitId);
    if (!debit) return { code: "debit_account_not_found" as const };
    const credit = this.snapshot.accounts.get(creditId);
    if (!credit) return { code: "credit_account_not_found" as const };
    if (checkStatus) {
      if (debit.status !== "active") return { code: `debit_account_${debit.status}` as TransferResultCode };
      if (credit.status !== "active") return { code: `credit_account_${credit.status}` as TransferResultCode };
    }
    if (debit.currency !== credit.currency) return { code: "accounts_must_have_the_same_currency" as const };
    return { debit, credit };
  }

  private applyNew(input: TransferInput, undo: Undo): Outcome {
    const found = this.accountsFor(input.debitAccountId!, input.creditAccountId!, true);
    if ("code" in found) return { code: found.code };
    const { debit, credit } = found;
    const amount = input.amountMinor!;
    const pending = input.kind === "pending";
    const limited = input.limits ? checkLimits(input.limits, debit, credit, amount, this.usage(), this.now, this.snapshot.accounts) : null;
    // Only the two balances that move, as values (no Balances objects on this path).
    const debitsPending = pending ? debit.debitsPending + amount : debit.debitsPending;
    const debitsPosted = pending ? debit.debitsPosted : debit.debitsPosted + amount;
    const creditsPending = pending ? credit.creditsPending + amount : credit.creditsPending;
    const creditsPosted = pending ? credit.creditsPosted : credit.creditsPosted + amount;
    const refused = balanceRefusal(
      debit.flags, debitsPending + debitsPosted, debit.creditsPosted,
      credit.flags, creditsPending + creditsPosted, credit.debitsPosted,
    );
    const limitRefusal = limited?.refusal;
    if (limitRefusal) {
      // The payer's own limits first, then the funds (of the whole group), then the payee's limits:
      // a payer who cannot fund the payment hears that, whatever the payee's cap, so amounts tried
      // with too little money (nothing moves, nothing is counted) cannot bisect the payee's
      // balance. Unless the payee is the one asking: then the payer's funds are not its business.
      const short = limitRefusal.party === "payee" && !input.limits!.payeeFirst ? (refused ?? groupShortfall(input.limits!, debit)) : null;
      return short ? { code: short } : { code: limitRefusal.code, limit: limitRefusal };
    }
    if (refused) return { code: refused };
    this.touch(debit, credit, undo);
    debit.debitsPending = debitsPending;
    debit.debitsPosted = debitsPosted;
    credit.creditsPending = creditsPending;
    credit.creditsPosted = creditsPosted;
    if (limited) this.commitUsage(limited.next, undo);
    // Set or cleared: an id whose group failed may be accepted later in the batch without limits.
    if (pending && limited && limited.next.length > 0) this.countedBy.set(input.id, limited.next.map((r) => ({ accountId: r.accountId, periodKey: r.periodKey })));
    else if (this.countedBy.size > 0) this.countedBy.delete(input.id);
    const timeoutSec = input.timeoutSec ?? null;
    const expiresAt = timeoutSec === null ? null : new Date(this.now.getTime() + timeoutSec * 1000);
    return { code: "ok", transfer: this.record(input, debit, credit, amount, pending ? "pending" : "single", null, timeoutSec, expiresAt) };
  }

  /** A pending made earlier in this batch counts as much as one loaded from the database. */
  private pendingState(id: string): PendingState | undefined {
    const loaded = this.snapshot.pendings.get(id);
    if (loaded) return loaded;
    const ours = this.groupMade.get(id);
    const made = ours ?? this.staged.get(id);
    if (!made || isFailure(made)) return undefined;
    if (ours) this.groupPendings.add(id);
    const state: PendingState = { transfer: made, resolution: null, counted: this.countedBy.get(id) };
    this.snapshot.pendings.set(id, state);
    return state;
  }

  private resolvePending(input: TransferInput, undo: Undo): Outcome {
    const state = this.pendingState(input.pendingId!);
    const refusal = pendingRefusal(input, state, this.now);
    if (refusal) return { code: refusal };
    const pending = state!.transfer;
    const post = input.kind === "post";
    const found = this.accountsFor(pending.debitAccountId, pending.creditAccountId, post);
    if ("code" in found) return { code: found.code };
    const { debit, credit } = found;
    const reserved = pending.amountMinor;
    const amount = post ? (input.amountMinor ?? reserved) : reserved;
    const settled = post ? amount : 0n;
    const nextDebit = { ...balancesOf(debit), debitsPending: debit.debitsPending - reserved, debitsPosted: debit.debitsPosted + settled };
    const nextCredit = { ...balancesOf(credit), creditsPending: credit.creditsPending - reserved, creditsPosted: credit.creditsPosted + settled };
    const refused = balanceRefusal(
      debit.flags, nextDebit.debitsPending + nextDebit.debitsPosted, nextDebit.creditsPosted,
      credit.flags, nextCredit.creditsPending + nextCredit.creditsPosted, nextCredit.debitsPosted,
    );
    if (refused) return { code: refused };
    this.touch(debit, credit, undo);
    setBalances(debit, nextDebit);
    setBalances(credit, nextCredit);
    if (undo.record) {
      undo.resolutions ??= new Map();
      if (!undo.resolutions.has(state!)) undo.resolutions.set(state!, state!.resolution);
    }
    state!.resolution = post ? "posted" : "voided";
    if (state!.counted && reserved > settled) this.commitUsage(givenBack(state!.counted, this.usage(), reserved - settled, post ? 0 : 1), undo);
    return {
      code: "ok",
      transfer: this.record(input, debit, credit, amount, post ? "post" : "void", pending.id, null, null),
    };
  }

  /** The transfer row a successful input becomes; kind-specific fields come from the caller. */
  private record(
    input: TransferInput,
    debit: Account,
    credit: Account,
    amountMinor: bigint,
    kind: Transfer["kind"],
    pendingId: string | null,
    timeoutSec: number | null,
    expiresAt: Date | null,
  ): Transfer {
    return {
      id: input.id,
      kind,
      pendingId,
      timeoutSec,
      expiresAt,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amountMinor,
      currency: debit.currency,
      code: input.code,
      reference: input.reference ?? null,
      createdAt: this.now,
    };
  }

  private usage(): Map<string, UsageRow> {
    return (this.snapshot.usage ??= new Map());
  }

  /**
   * Usage is counted when money is sent or reserved; what a reservation does not send in the end
   * (voided, expired, posted for less) is given back when it is settled (resolvePending).
   */
  private commitUsage(rows: UsageRow[], undo: Undo): void {
    const usage = this.usage();
    for (const row of rows) {
      const key = usageKey(row.accountId, row.periodKey);
      if (undo.record) {
        undo.usage ??= new Map();
        if (!undo.usage.has(key)) undo.usage.set(key, usage.get(key));
      }
      usage.set(key, row);
      this.usageTouched.add(key);
    }
  }

  /** Before the two accounts' balances change: remembers them to write, and what to restore if the group fails. */
  private touch(debit: Account, credit: Account, undo: Undo): void {
    if (undo.record) {
      const before = (undo.balances ??= new Map());
      if (!before.has(debit)) before.set(debit, balancesOf(debit));
      if (!before.has(credit)) before.set(credit, balancesOf(credit));
    }
    this.touched.add(debit).add(credit);
  }
}

/**
 * The answer to an id seen before. A recorded limit refusal answered again keeps its code and
 * whose limit it was (RecordedLimit), not its amounts: they were true at the first attempt only.
 */
function replayOf(input: TransferInput, seen: Transfer | TransferFailure): Outcome {
  const code = compareWithExisting(input, seen);
  const limit = isFailure(seen) && code === seen.result ? recordedLimit(seen) : undefined;
  return limit ? { code, limit } : { code };
}

function balancesOf(b: Balances): Balances {
  return {
    debitsPending: b.debitsPending,
    debitsPosted: b.debitsPosted,
    creditsPending: b.creditsPending,
    creditsPosted: b.creditsPosted,
  };
}

function setBalances(account: Account, b: Balances): void {
  account.debitsPending = b.debitsPending;
  account.debitsPosted = b.debitsPosted;
  account.creditsPending = b.creditsPending;
  account.creditsPosted = b.creditsPosted;
}

function pendingRefusal(input: TransferInput, state: PendingState | undefined, now: Date): TransferResultCode | null {
  if (!state) return "pending_transfer_not_found";
  const pending = state.transfer;
  if (pending.kind !== "pending") return "pending_transfer_not_pending";
  if (input.debitAccountId !== undefined && input.debitAccountId !== pending.debitAccountId) {
    return "pending_transfer_has_different_debit_account_id";
  }
  if (input.creditAccountId !== undefined && input.creditAccountId !== pending.creditAccountId) {
    return "pending_transfer_has_different_credit_account_id";
  }
  if (state.resolution === "posted") return "pending_transfer_already_posted";
  if (state.resolution === "voided") return "pending_transfer_already_voided";
  if (input.amountMinor !== undefined) {
    if (input.kind === "void" && input.amountMinor !== pending.amountMinor) return "pending_transfer_has_different_amount";
    if (input.amountMinor > pending.amountMinor) return "exceeds_pending_transfer_amount";
  }
  const asOf = input.expiry && input.expiryAsOf ? input.expiryAsOf : now;
  const expired = pending.expiresAt !== null && pending.expiresAt.getTime() <= asOf.getTime();
  if (expired && !(input.expiry && input.kind === "void")) return "pending_transfer_expired";
  if (input.expiry && !expired) return "pending_transfer_not_pending";
  return null;
}

/**
 * The flag checks on the balances a transfer would leave, in TigerBeetle's order: overflow first,
 * then the debit side, then the credit. `debits` is the debit account's pending plus posted
 * debits, `credits` the credit account's pending plus posted credits.
 */
function balanceRefusal(
  debitFlags: number, debits: bigint, debitCreditsPosted: bigint,
  creditFlags: number, credits: bigint, creditDebitsPosted: bigint,
): TransferResultCode | null {
  if (debits > MAX_AMOUNT_MINOR) return "overflows_debits";
  if (credits > MAX_AMOUNT_MINOR) return "overflows_credits";
  if (debitFlags & AccountFlags.debitsMustNotExceedCredits && debits > debitCreditsPosted) return "exceeds_credits";
  if (creditFlags & AccountFlags.creditsMustNotExceedDebits && credits > creditDebitsPosted) return "exceeds_debits";
  return null;
}

/** The debit account's refusal (balanceRefusal's rule) of what the whole group debits from it, when the group says. */
function groupShortfall(limits: TransferLimits, debit: Account): TransferResultCode | null {
  if (limits.payerDebitMinor === undefined) return null;
  return balanceRefusal(debit.flags, debit.debitsPosted + debit.debitsPending + limits.payerDebitMinor, debit.creditsPosted, 0, 0n, 0n);
}
