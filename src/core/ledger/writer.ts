import { decideBatch } from "./decide.js";
import { isUuid } from "./ids.js";
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
      this.queue.push({ group, resolve, reject });
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
    this.inFlight += 1;
    void this.write(batch).finally(() => {
      this.inFlight -= 1;
      this.schedule();
    });
    this.schedule();
  }

  private take(): Submission[] {
    let count = 0;
    let end = 0;
    while (end < this.queue.length) {
      const size = this.queue[end]!.group.length;
      if (end > 0 && count + size > this.options.maxBatchTransfers) break;
      count += size;
      end += 1;
    }
    const batch = this.queue.slice(0, end);
    this.queue = this.queue.slice(end);
    this.queuedTransfers -= count;
    return batch;
  }

  private async write(batch: Submission[]): Promise<void> {
    const groups = batch.map((s) => s.group);
    const keys = keysOf(groups);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const decision = await this.store.applyBatch(keys, (snapshot) => decideBatch(snapshot, groups, this.options.now()));
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

/** Everything a batch may touch; ids that are not UUIDs are left out (they fail validation). */
export function keysOf(groups: TransferInput[][]): BatchKeys {
  const transferIds = new Set<string>();
  const accountIds = new Set<string>();
  const pendingIds = new Set<string>();
  const uuid = isUuid;
  for (const group of groups) {
    for (const t of group) {
      if (uuid(t.id)) transferIds.add(t.id);
      if (uuid(t.debitAccountId)) accountIds.add(t.debitAccountId);
      if (uuid(t.creditAccountId)) accountIds.add(t.creditAccountId);
      if (uuid(t.pendingId)) pendingIds.add(t.pendingId);
    }
  }
  return { transferIds: [...transferIds], accountIds: [...accountIds], pendingIds: [...pendingIds] };
}
