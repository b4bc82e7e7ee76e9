/**
 * Writes made by many hops at once, coalesced into one statement per batch: one batch in flight
 * at a time, and everything submitted meanwhile goes into the next one (the ledger's writer works
 * the same way). A batch runs one statement, in its own transaction, and each submitter is
 * answered only after it committed. A key (PIN subject, session id) appears once per batch: a
 * second write for it waits for the next batch, after the first one's outcome is stored, exactly
 * as two separate statements would have run.
 *
 * Writes off the request's path (metered sessions) may linger: a batch then starts `lingerMs`
 * after it could have (its first item's arrival, or the end of the batch before it), or as soon as
 * a full batch is waiting, so that it carries more items and the statement's fixed cost is paid
 * less often.
 */
interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class WriteBatches<T, R> {
  private waiting: Pending<T, R>[] = [];
  private running = false;
  /** The linger's timer, while the next batch waits for more items. */
  private lingering: NodeJS.Timeout | null = null;

  /** `write` answers one result per item, in order. */
  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly keyOf: (item: T) => string,
    private readonly maxBatch: number,
    private readonly lingerMs = 0,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.start();
    });
  }

  private start(): void {
    if (this.waiting.length === 0) return;
    if (this.lingering && this.waiting.length >= this.maxBatch) {
      // A full batch waits: no reason to linger longer.
      clearTimeout(this.lingering);
      this.lingering = null;
      setImmediate(() => void this.runBatch());
      return;
    }
    if (this.running) return;
    this.running = true;
    if (this.lingerMs > 0 && this.waiting.length < this.maxBatch) {
      this.lingering = setTimeout(() => {
        this.lingering = null;
        void this.runBatch();
      }, this.lingerMs);
    }
    // After this turn's I/O, so that the hops it woke up are in the batch too.
    else setImmediate(() => void this.runBatch());
  }

  private async runBatch(): Promise<void> {
    const batch: Pending<T, R>[] = [];
    const later: Pending<T, R>[] = [];
    const keys = new Set<string>();
    for (const p of this.waiting) {
      const key = this.keyOf(p.item);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(p);
      } else later.push(p);
    }
    this.waiting = later;
    try {
      const results = await this.write(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running = false;
      this.start();
    }
  }
}
