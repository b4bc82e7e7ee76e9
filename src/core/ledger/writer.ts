import { decideBatch } from "./decide.js";
import { isValidTimeZone } from "../limits/periods.js";
import { isUuid } from "./ids.js";
import { usageKey, usageKeysFor, type UsageKey } from "./limits-check.js";
import { LedgerConflict, type LedgerStore } from "./ports.js";
import type { BatchKeys } from "./snapshot.js";
import { MAX_PAYEE_HOLDING_ACCOUNTS, type TransferInput, type TransferLimits, type TransferResult } from "./types.js";

export interface WriterOptions {
  /** Transfers waiting to be written before submit() refuses more (back-pressure, not buffering). */
  maxQueuedTransfers: number;
  /** Transfers in one database transaction at most. */
  maxBatchTransfers: number;
  /** Batches being written at once; more than two gains little since batches share accounts. */
  maxBatchesInFlight: number;
  /** Attempts for a batch that hit a conflict or a deadlock before its callers get the error. */
  maxAttempts: number;
  isRetryable: (error: unknown) => boolean;
  /**
   * An error one transfer's own values caused (text the database cannot store, say): a batch that
   * fails so is written again one submission at a time, so only that submission fails.
   */
  isBadValue: (error: unknown) => boolean;
  now: () => Date;
}

export const DEFAULT_WRITER_OPTIONS: WriterOptions = {
  maxQueuedTransfers: 100_000,
  maxBatchTransfers: 8_192,
  maxBatchesInFlight: 2,
  maxAttempts: 5,
  isRetryable: () => false,
  isBadValue: () => false,
  now: () => new Date(),
};

/** Thrown to a caller when the writer's queue is full: an outage signal, not a business refusal. */
export class LedgerBusy extends Error {
  constructor() {
    super("ledger writer queue is full");
    this.name = "LedgerBusy";
  }
}

interface Submission {
  group: TransferInput[];
  /** submitOne's: answered with its one result rather than a list of one. */
  one: boolean;
  resolve: (results: TransferResult[] | TransferResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups concurrent submissions into one database transaction each. Throughput comes from this:
 * a batch locks each touched account once and writes all its rows in a few statements. The
 * batching window is one turn of the event loop, plus however long the batches in flight take.
 */
export class BatchingWriter {
  private queue: Submission[] = [];
  private queuedTransfers = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  /** Keys held by batches in flight, with how many batches hold each. */
  private readonly busy = new Map<string | undefined, number>();
  private readonly options: WriterOptions;

  constructor(
    private readonly store: LedgerStore,
    options: Partial<WriterOptions> = {},
  ) {
    this.options = { ...DEFAULT_WRITER_OPTIONS, ...options };
  }

  submit(group: TransferInput[]): Promise<TransferResult[]> {
    return this.enqueue(group, false) as Promise<TransferResult[]>;
  }

  /** submit([input]) answered with its result: one array and one promise fewer per transfer. */
  submitOne(input: TransferInput): Promise<TransferResult> {
    return this.enqueue([input], true) as Promise<TransferResult>;
  }

  private enqueue(group: TransferInput[], one: boolean): Promise<TransferResult[] | TransferResult> {
    if (this.closed) return Promise.reject(new Error("ledger writer is closed"));
    if (this.queuedTransfers + group.length > this.options.maxQueuedTransfers) return Promise.reject(new LedgerBusy());
    return new Promise((resolve, reject) => {
      this.queue.push({ group, one, resolve, reject });
      this.queuedTransfers += group.length;
      this.schedule();
    });
  }

  /** Stops taking submissions and waits until everything queued has been written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxBatchesInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= this.options.maxBatchesInFlight) return;
    const batch = this.take();
    if (batch.length === 0) return; // everything queued waits for a batch in flight
    this.inFlight += 1;
    void this.write(batch).finally(() => {
      this.release(batch);
      this.inFlight -= 1;
      this.schedule();
    });
    this.schedule();
  }

  /**
   * Takes the next batch: at most a fair share of the queue for the free slots, so two batches
   * can run at once on two database connections, and nothing that touches an account, pending or
   * transfer id of a batch in flight. Such batches never wait on each other's row locks, which is
   * what lets them use both cores; what is skipped keeps its place at the head of the queue.
   */
  private take(): Submission[] {
    const freeSlots = this.options.maxBatchesInFlight - this.inFlight;
    const target = Math.min(this.options.maxBatchTransfers, Math.ceil(this.queuedTransfers / freeSlots));
    const picked: Submission[] = [];
    const rest: Submission[] = [];
    let count = 0;
    for (const s of this.queue) {
      const fits = count === 0 || count + s.group.length <= target;
      if (!fits || count >= target || this.touchesBusy(s.group)) {
        rest.push(s);
        continue;
      }
      picked.push(s);
      count += s.group.length;
    }
    // Marked busy only now: submissions of this batch may share accounts (a hot merchant) and ids
    // (a retry answered `exists`) with each other; only other batches must keep off them.
    for (const s of picked) for (const t of s.group) someKey(t, this.hold);
    this.queue = rest;
    this.queuedTransfers -= count;
    return picked;
  }

  /** Whether the group touches a key held by a batch in flight (someKey's keys). */
  private touchesBusy(group: TransferInput[]): boolean {
    if (this.busy.size === 0) return false;
    return group.some((t) => someKey(t, this.isBusy));
  }

  private readonly isBusy = (key: string): boolean => this.busy.has(key);

  private readonly hold = (key: string): false => {
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
    return false;
  };

  private readonly unhold = (key: string): false => {
    const held = this.busy.get(key)!;
    if (held <= 1) this.busy.delete(key);
    else this.busy.set(key, held - 1);
    return false;
  };

  private release(batch: Submission[]): void {
    for (const s of batch) for (const t of s.group) someKey(t, this.unhold);
  }

  private async write(batch: Submission[]): Promise<void> {
    const groups = batch.map((s) => s.group);
    for (let attempt = 1; ; attempt += 1) {
      // One clock reading per attempt: the limit periods loaded and the ones decided must agree.
      const now = this.options.now();
      const keys = keysOf(groups, now);
      try {
        const decision = await this.store.applyBatch(keys, (snapshot) => decideBatch(snapshot, groups, now));
        batch.forEach((s, i) => s.resolve(s.one ? decision.results[i]![0]! : decision.results[i]!));
        return;
      } catch (error) {
        const retry = error instanceof LedgerConflict || this.options.isRetryable(error);
        if (!retry && batch.length > 1 && this.options.isBadValue(error)) return this.writeEachAlone(batch);
        if (!retry || attempt >= this.options.maxAttempts) {
          for (const s of batch) s.reject(error);
          return;
        }
      }
    }
  }

  /** In order, each in a transaction of its own; the batch's keys stay held meanwhile. Nothing of the failed batch was written. */
  private async writeEachAlone(batch: Submission[]): Promise<void> {
    for (const s of batch) await this.write([s]);
  }
}

/**
 * Calls fn on each transfer, account and pending id a transfer touches, until fn returns true
 * (then true); batches in flight never share one.
 * Any string counts (one that is not a UUID fails validation, and holding it keeps nothing else out).
 * The accounts a transfer's limits name are among them: keysOf locks them like the debit and credit
 * accounts, and on the cached path a batch decides on the store's own copy of each account it
 * locks, which a second batch in flight must not read or change meanwhile.
 */
function someKey(t: TransferInput, fn: (key: string) => boolean): boolean {
  if (typeof t.id === "string" && fn(t.id)) return true;
  if (typeof t.debitAccountId === "string" && fn(t.debitAccountId)) return true;
  if (typeof t.creditAccountId === "string" && fn(t.creditAccountId)) return true;
  if (typeof t.pendingId === "string" && fn(t.pendingId)) return true;
  const limits = t.limits;
  if (!limits) return false;
  if (typeof limits.payerUsageAccountId === "string" && fn(limits.payerUsageAccountId)) return true;
  const holdings = limitedHoldings(limits);
  if (holdings) for (const id of holdings) if (typeof id === "string" && fn(id)) return true;
  return false;
}

/**
 * The payee's other wallets as the writer takes them: a list longer than validation allows is
 * neither locked nor held (the transfer is refused as invalid_limits), so it costs no more.
 */
function limitedHoldings(limits: TransferLimits): readonly unknown[] | null {
  const ids: unknown = limits.payeeHoldingAccountIds;
  return Array.isArray(ids) && ids.length <= MAX_PAYEE_HOLDING_ACCOUNTS ? ids : null;
}

/** Everything a batch may touch; ids that are not UUIDs are left out (they fail validation). */
export function keysOf(groups: TransferInput[][], now: Date = new Date()): BatchKeys {
  // Not deduplicated: the existence read takes `id = ANY(…)`, where an id given twice (a retry in
  // the same batch) matches its row once.
  const transferIds: string[] = [];
  const accountIds = new Set<string>();
  const pendingIds = new Set<string>();
  const usage = new Map<string, UsageKey>();
  const uuid = isUuid;
  for (const group of groups) {
    for (const t of group) {
      if (uuid(t.id)) transferIds.push(t.id);
      if (uuid(t.debitAccountId)) accountIds.add(t.debitAccountId);
      if (uuid(t.creditAccountId)) accountIds.add(t.creditAccountId);
      if (uuid(t.pendingId)) pendingIds.add(t.pendingId);
      // Only limited transfers read counters: a batch without limits costs no extra statement.
      if (t.limits && (t.limits.payer || t.limits.payeeInbound) && uuid(t.debitAccountId) && uuid(t.creditAccountId) && isValidTimeZone(t.limits.timeZone)) {
        for (const k of usageKeysFor(t.debitAccountId, t.creditAccountId, t.limits, now)) usage.set(usageKey(k.accountId, k.periodKey), k);
        // Its counters are the payer's: locked like the debit account, so that two transfers from
        // two wallets of one customer are counted one after the other.
        if (uuid(t.limits.payerUsageAccountId)) accountIds.add(t.limits.payerUsageAccountId);
      }
      // The payee's other wallets count towards its cap: locked like the credit account (in the
      // same ordered statement), so that two payments into two wallets of one customer are
      // checked one after the other. They have no counters to read.
      if (t.limits && t.limits.payee) {
        const holdings = limitedHoldings(t.limits);
        if (holdings) for (const id of holdings) if (uuid(id)) accountIds.add(id);
      }
    }
  }
  return { transferIds, accountIds: [...accountIds], pendingIds: [...pendingIds], usageKeys: [...usage.values()] };
}
