/**
 * The outbox queue on BullMQ: one queue per link (BullMQ's limiter is per queue, so each link gets
 * its own throughput cap across every gateway process), jobs of up to `maxMessagesPerJob`
 * messages, retries with exponential backoff, and BullMQ's failed set as the dead letter of jobs
 * whose attempts ran out (their messages are dead in the outbox by then, or recovered by the
 * relay's stale sweep). A job holds messages, not one message each, because BullMQ's cost per job
 * would otherwise cap a link below what an SMSC accepts.
 */
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { chunk, messagesPerJob, type JobMessage, type JobProcessor, type OutboxQueue, type SendJob } from "./jobs.js";
import { QUEUE_DEFAULTS, type QueueOptions } from "./queue-options.js";

export interface BullmqQueueOptions extends QueueOptions {
  redisUrl: string;
  /** Key prefix (tests use one per file). */
  prefix: string;
  /** Failed jobs kept for inspection. */
  keepFailed: number;
}

interface Lane {
  queue: Queue<SendJob>;
  worker: Worker<SendJob>;
  /** The link's throughput the worker's limiter and the job size were set for. */
  rate: number | null;
  perJob: number;
  queueConnection: Redis;
  workerConnection: Redis;
}

/** Jobs left in a closed lane that are handed back at once (the relay stops adding at 20,000 messages). */
const HAND_BACK_MAX_JOBS = 20_000;
const HAND_BACK_BATCH = 100;

/** BullMQ refuses some characters in queue names; link ids are short ASCII already. */
export function queueName(linkId: string): string {
  return `sms-out-${linkId.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

export class BullmqOutboxQueue implements OutboxQueue {
  private readonly options: BullmqQueueOptions;
  private readonly lanes = new Map<string, Lane>();
  /** Workers replaced after a rate change, finishing their running jobs. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly processor: JobProcessor,
    options: Partial<BullmqQueueOptions> & Pick<BullmqQueueOptions, "redisUrl">,
  ) {
    this.options = { ...QUEUE_DEFAULTS, prefix: "fingate", keepFailed: 10_000, ...options };
  }

  /** Starts the workers of links known up front, so that this process also runs jobs others add. */
  open(linkIds: string[]): void {
    for (const id of linkIds) this.lane(id);
  }

  async add(linkId: string, messages: JobMessage[]): Promise<void> {
    if (this.closed) throw new Error("outbox queue closed");
    const lane = this.lane(linkId);
    const jobs = chunk(messages, lane.perJob).map((part) => ({
      name: "send",
      data: { linkId, messages: part },
      opts: {
        attempts: this.options.maxAttempts,
        backoff: { type: "exponential", delay: this.options.backoffMs },
        removeOnComplete: true,
        removeOnFail: { count: this.options.keepFailed },
      },
    }));
    await lane.queue.addBulk(jobs);
  }

  /** Messages waiting, delayed or running, estimated from job counts (full jobs assumed). */
  async backlog(): Promise<number> {
    let total = 0;
    // The relay asks often: a link whose throughput changed gets its new limiter soon, even
    // while no new message goes to it (its queued jobs and retries run at the new rate), and the
    // lane of a link removed from the configuration is closed.
    for (const id of [...this.lanes.keys()]) {
      if (this.options.linkGone(id)) this.retire(id);
      else this.lane(id);
    }
    for (const lane of this.lanes.values()) {
      const counts = await lane.queue.getJobCounts("wait", "active", "delayed", "prioritized", "waiting-children");
      total += Object.values(counts).reduce((a, b) => a + b, 0) * lane.perJob;
    }
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      await lane.worker.close();
      await lane.queue.close();
      lane.queueConnection.disconnect();
      lane.workerConnection.disconnect();
    }
    this.lanes.clear();
    await Promise.allSettled([...this.retiring]);
  }

  /** Ids of the links whose lanes are open in this process (a lane per link used, until removed). */
  openLanes(): string[] {
    return [...this.lanes.keys()];
  }

  /**
   * Closes the lane of a removed link: its worker takes no more jobs and finishes those it runs,
   * the jobs left in its queue are handed back (handBack), then both connections close.
   */
  private retire(linkId: string): void {
    const lane = this.lanes.get(linkId);
    if (lane === undefined || this.closed) return;
    this.lanes.delete(linkId);
    const retired = lane.worker
      .close()
      .then(() => this.handBack(lane.queue))
      .catch((error: unknown) => this.options.onJobError?.(error instanceof Error ? error : new Error(String(error)), { linkId, messages: [] }))
      .then(() => lane.queue.close())
      .finally(() => {
        lane.workerConnection.disconnect();
        lane.queueConnection.disconnect();
        this.retiring.delete(retired);
      });
    this.retiring.add(retired);
  }

  /**
   * Jobs still waiting (or waiting out a retry's backoff) in a closed lane's queue: each is taken
   * off the queue (unless another process's worker took it meanwhile: it runs there) and run once
   * more here. The sender finds the link gone and hands each message back to the relay, which
   * routes it afresh when no part was accepted, or fails it with the reason when some were; the
   * SMSC ids recorded per part keep any part from going twice. They used to stay queued until the
   * relay's stale sweep, 10 minutes later. Should the link be back meanwhile, they go on it; what
   * is left to retry then, or beyond HAND_BACK_MAX_JOBS, is the stale sweep's.
   */
  private async handBack(queue: Queue<SendJob>): Promise<void> {
    for (let handled = 0; handled < HAND_BACK_MAX_JOBS && !this.closed; ) {
      const jobs = await queue.getJobs(["wait", "prioritized", "delayed"], 0, HAND_BACK_BATCH - 1, true);
      let taken = 0;
      for (const job of jobs) {
        if (this.closed) return;
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        if (!removed) continue;
        taken++;
        await this.processor(job.data, job.attemptsMade + 1);
      }
      if (taken === 0) return; // none left, or all taken by other workers
      handled += taken;
    }
  }

  /** The link's lane, its worker replaced first when the link's throughput changed since it started. */
  private lane(linkId: string): Lane {
    const rate = this.options.rateLimitPerSecond(linkId);
    const existing = this.lanes.get(linkId);
    if (existing && existing.rate === rate) return existing;
    if (existing && !this.closed) return this.retune(existing, linkId, rate);
    if (existing) return existing;
    const queueConnection = this.connect(linkId);
    const queue = new Queue<SendJob>(queueName(linkId), { connection: queueConnection, prefix: this.options.prefix });
    const lane: Lane = { queue, queueConnection, ...this.worker(linkId, rate) };
    this.lanes.set(linkId, lane);
    return lane;
  }

  /**
   * A link's configuration changed its throughput (the link manager restarts the link): a worker
   * with the new limiter takes over the queue, and the old one stops taking jobs and finishes
   * those it runs. Keeping the old worker would hold the link at its old rate until a restart.
   */
  private retune(lane: Lane, linkId: string, rate: number | null): Lane {
    const { worker, workerConnection } = lane;
    Object.assign(lane, this.worker(linkId, rate));
    const retired = worker.close().finally(() => {
      workerConnection.disconnect();
      this.retiring.delete(retired);
    });
    this.retiring.add(retired);
    return lane;
  }

  private worker(linkId: string, rate: number | null): Pick<Lane, "worker" | "workerConnection" | "rate" | "perJob"> {
    const perJob = messagesPerJob(rate, this.options.maxMessagesPerJob);
    const workerConnection = this.connect(linkId);
    const worker = new Worker<SendJob>(queueName(linkId), (job) => this.run(job), {
      connection: workerConnection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency,
      // Jobs of perJob messages, at most rate / perJob of them a second: at most `rate` messages.
      limiter: rate === null ? undefined : { max: Math.max(1, Math.floor(rate / perJob)), duration: 1_000 },
    });
    worker.on("failed", (job, error) => {
      if (job) this.options.onJobError?.(error, job.data);
    });
    worker.on("error", () => undefined); // connection trouble: ioredis reconnects, BullMQ resumes
    return { worker, workerConnection, rate, perJob };
  }

  /** Named after the lane's queue, so that a lane's connections can be told apart in CLIENT LIST. */
  private connect(linkId: string): Redis {
    return new Redis(this.options.redisUrl, { maxRetriesPerRequest: null, connectionName: `${this.options.prefix}:${queueName(linkId)}` });
  }

  private async run(job: Job<SendJob>): Promise<void> {
    const { retry } = await this.processor(job.data, job.attemptsMade + 1);
    // Throwing is how BullMQ schedules the retry with backoff; what was sent is recorded already.
    if (retry) throw new Error("messages left to send after this attempt");
  }
}
