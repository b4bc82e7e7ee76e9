/**
 * The outbox queue without Redis (embedded defaults): jobs drained in this process by the same
 * processor, with the link's rate limit (paced per message), a concurrency cap, retries with
 * exponential backoff and a last attempt after which the job is given up (its messages are then
 * dead in the outbox, or back to pending via the relay's stale sweep).
 */
import { chunk, messagesPerJob, type JobMessage, type JobProcessor, type OutboxQueue, type SendJob } from "./jobs.js";
import { QUEUE_DEFAULTS, retryDelayMs, type QueueOptions } from "./queue-options.js";

interface Lane {
  waiting: Array<{ job: SendJob; attempt: number }>;
  running: number;
  /** Earliest time the next job may start, for the rate limit. */
  nextStartMs: number;
  timer: NodeJS.Timeout | undefined;
  /** Jobs waiting out a retry delay (the lane is not idle while some do). */
  retrying: number;
}

export class MemoryOutboxQueue implements OutboxQueue {
  private readonly options: QueueOptions;
  private readonly lanes = new Map<string, Lane>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private messages = 0;
  private closed = false;

  constructor(
    private readonly processor: JobProcessor,
    options: Partial<QueueOptions> = {},
  ) {
    this.options = { ...QUEUE_DEFAULTS, ...options };
  }

  add(linkId: string, messages: JobMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("outbox queue closed"));
    const lane = this.lane(linkId);
    const size = messagesPerJob(this.options.rateLimitPerSecond(linkId), this.options.maxMessagesPerJob);
    for (const part of chunk(messages, size)) lane.waiting.push({ job: { linkId, messages: part }, attempt: 1 });
    this.messages += messages.length;
    this.pump(linkId, lane);
    return Promise.resolve();
  }

  backlog(): Promise<number> {
    // The relay asks often: the lanes of links removed from the configuration go once idle.
    for (const [linkId, lane] of this.lanes) this.forgetIfGone(linkId, lane);
    return Promise.resolve(this.messages);
  }

  /** Ids of the links whose lanes exist in this process. */
  openLanes(): string[] {
    return [...this.lanes.keys()];
  }

  /** Drops the lane of a removed link once nothing runs, waits or awaits a retry on it. */
  private forgetIfGone(linkId: string, lane: Lane): void {
    if (lane.running > 0 || lane.waiting.length > 0 || lane.retrying > 0 || !this.options.linkGone(linkId)) return;
    clearTimeout(lane.timer);
    if (this.lanes.get(linkId) === lane) this.lanes.delete(linkId);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private lane(linkId: string): Lane {
    let lane = this.lanes.get(linkId);
    if (!lane) this.lanes.set(linkId, (lane = { waiting: [], running: 0, nextStartMs: 0, timer: undefined, retrying: 0 }));
    return lane;
  }

  private pump(linkId: string, lane: Lane): void {
    const rate = this.options.rateLimitPerSecond(linkId);
    while (!this.closed && lane.running < this.options.concurrency && lane.waiting.length > 0) {
      const now = Date.now();
      if (rate !== null && lane.nextStartMs > now) {
        clearTimeout(lane.timer);
        lane.timer = setTimeout(() => this.pump(linkId, lane), lane.nextStartMs - now);
        return;
      }
      const entry = lane.waiting.shift()!;
      if (rate !== null) lane.nextStartMs = Math.max(now, lane.nextStartMs) + (entry.job.messages.length * 1000) / rate;
      this.run(linkId, lane, entry);
    }
  }

  private run(linkId: string, lane: Lane, entry: { job: SendJob; attempt: number }): void {
    lane.running++;
    const done = this.processor(entry.job, entry.attempt)
      .then(
        ({ retry }) => retry,
        (error: unknown) => {
          this.options.onJobError?.(error instanceof Error ? error : new Error(String(error)), entry.job);
          return true;
        },
      )
      .then((retry) => {
        lane.running--;
        if (retry && entry.attempt < this.options.maxAttempts && !this.closed) this.retryLater(linkId, lane, entry);
        else this.messages -= entry.job.messages.length;
        this.pump(linkId, lane);
        this.forgetIfGone(linkId, lane);
      });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private retryLater(linkId: string, lane: Lane, entry: { job: SendJob; attempt: number }): void {
    lane.retrying++;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      lane.retrying--;
      lane.waiting.push({ job: entry.job, attempt: entry.attempt + 1 });
      this.pump(linkId, lane);
    }, retryDelayMs(entry.attempt, this.options.backoffMs));
    this.retryTimers.add(timer);
  }
}
