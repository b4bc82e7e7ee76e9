import { decideBatch } from "./decide.js";
import { isValidTimeZone } from "../limits/periods.js";
import { isUuid } from "./ids.js";
import { usageKey, usageKeysFor, type UsageKey } from "./limits-check.js";
import { LedgerConflict, type LedgerStore } from "./ports.js";
import type { BatchKeys } from "./snapshot.js";
import type { TransferInput, TransferResult } from "./types.js";

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
  now: () => Date;
}

export const DEFAULT_WRITER_OPTIONS: WriterOptions = {
  maxQueuedTransfers: 100_000,
  maxBatchTransfers: 8_192,
  maxBatchesInFlight: 2,
  maxAttempts: 5,
  isRetryable: () => false,
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
  /** Transfer, account and pending ids it touches; batches in flight never share one. */
  keys: string[];
  resolve: (results: TransferResult[]) => void;
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
  private readonly busy = new Map<string, number>();
  private readonly options: WriterOptions;

  constructor(
    private readonly store: LedgerStore,
    options: Partial<WriterOptions> = {},
  ) {
    this.options = { ...DEFAULT_WRITER_OPTIONS, ...options };
  }

  submit(group: TransferInput[]): Promise<TransferResult[]> {
    if (this.closed) return Promise.reject(new Error("ledger writer is closed"));
    if (this.queuedTransfers + group.length > this.options.maxQueuedTransfers) return Promise.reject(new LedgerBusy());
    return new Promise((resolve, reject) => {
      this.queue.push({ group, keys: submissionKeys(group), resolve, reject });
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
      if (!fits || count >= target || s.keys.some((k) => this.busy.has(k))) {
        rest.push(s);
        continue;
      }
      picked.push(s);
      count += s.group.length;
    }
    // Marked busy only now: submissions of this batch may share accounts (a hot merchant) and ids
    // (a retry answered `exists`) with each other; only other batches must keep off them.
    for (const s of picked) for (const k of s.keys) this.busy.set(k, (this.busy.get(k) ?? 0) + 1);
    this.queue = rest;
    this.queuedTransfers -= count;
    return picked;
  }

  private release(batch: Submission[]): void {
    for (const s of batch) {
      for (const k of s.keys) {
        const held = this.busy.get(k)!;
        if (held <= 1) this.busy.delete(k);
        else this.busy.set(k, held - 1);
      }
    }
  }

  private async write(batch: Submission[]): Promise<void> {
    const groups = batch.map((s) => s.group);
    for (let attempt = 1; ; attempt += 1) {
      // One clock reading per attempt: the limit periods loaded and the ones decided must agree.
      const now = this.options.now();
      const keys = keysOf(groups, now);
      try {
        const decision = await this.store.applyBatch(keys, (snapshot) => decideBatch(snapshot, groups, now));
        batch.forEach((s, i) => s.resolve(decision.results[i]!));
        return;
      } catch (error) {
        const retry = error instanceof LedgerConflict || this.options.isRetryable(error);
        if (!retry || attempt >= this.options.maxAttempts) {
          for (const s of batch) s.reject(error);
          return;
        }
      }
    }
  }
}

function submissionKeys(group: TransferInput[]): string[] {
  const keys: string[] = [];
  for (const t of group) {
    if (isUuid(t.id)) keys.push(t.id);
    if (isUuid(t.debitAccountId)) keys.push(t.debitAccountId);
    if (isUuid(t.creditAccountId)) keys.push(t.creditAccountId);
    if (isUuid(t.pendingId)) keys.push(t.pendingId);
  }
  return keys;
}

/** Everything a batch may touch; ids that are not UUIDs are left out (they fail validation). */
export function keysOf(groups: TransferInput[][], now: Date = new Date()): BatchKeys {
  const transferIds = new Set<string>();
  const accountIds = new Set<string>();
  const pendingIds = new Set<string>();
  const usage = new Map<string, UsageKey>();
  const uuid = isUuid;
  for (const group of groups) {
    for (const t of group) {
      if (uuid(t.id)) transferIds.add(t.id);
      if (uuid(t.debitAccountId)) accountIds.add(t.debitAccountId);
      if (uuid(t.creditAccountId)) accountIds.add(t.creditAccountId);
      if (uuid(t.pendingId)) pendingIds.add(t.pendingId);
      // Only limited transfers read counters: a batch without limits costs no extra statement.
      if (t.limits && (t.limits.payer || t.limits.payeeInbound) && uuid(t.debitAccountId) && uuid(t.creditAccountId) && isValidTimeZone(t.limits.timeZone)) {
        for (const k of usageKeysFor(t.debitAccountId, t.creditAccountId, t.limits, now)) usage.set(usageKey(k.accountId, k.periodKey), k);
      }
    }
  }
  return { transferIds: [...transferIds], accountIds: [...accountIds], pendingIds: [...pendingIds], usageKeys: [...usage.values()] };
}
