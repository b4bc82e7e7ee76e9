/**
 * Runs tasks with the same key one after another, different keys freely. The PIN service counts
 * an attempt before checking it, so many checks of one correct PIN in flight at once would look
 * like a run of failures and lock the subject: a point-of-sale app firing requests in parallel
 * must not lock its agent out. Per process only; across processes the lockout still counts.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
