/** Runs tasks with the same key one after another, in arrival order, within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, { tail: Promise<unknown>; waiting: number }>();

  constructor(private readonly maxWaiting = 8) {}

  /** null when too many tasks already wait for this key (a client hammering one session). */
  run<T>(key: string, task: () => Promise<T>): Promise<T> | null {
    const entry = this.tails.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
    if (entry.waiting >= this.maxWaiting) return null;
    entry.waiting++;
    const result = entry.tail.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    entry.tail = tail;
    this.tails.set(key, entry);
    void tail.then(() => {
      entry.waiting--;
      if (entry.waiting === 0 && this.tails.get(key) === entry) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every task queued so far has finished (those queued meanwhile too). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()].map((entry) => entry.tail));
  }
}
