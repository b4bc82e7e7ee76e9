/**
 * Writes made by many hops at once, coalesced into one statement per batch: one batch in flight
 * at a time, and everything submitted meanwhile goes into the next one (the ledger's writer works
 * the same way). A batch runs one statement, in its own transaction, and each submitter is
 * answered only after it committed. A key (PIN subject, session id) appears once per batch: a
 * second write for it waits for the next batch, after the first one's outcome is stored, exactly
 * as two separate statements would have run.
 */
interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class WriteBatches<T, R> {
  private waiting: Pending<T, R>[] = [];
  private running = false;

  /** `write` answers one result per item, in order. */
  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly keyOf: (item: T) => string,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.start();
    });
  }

  private start(): void {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    // After this turn's I/O, so that the hops it woke up are in the batch too.
    setImmediate(() => void this.runBatch());
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
