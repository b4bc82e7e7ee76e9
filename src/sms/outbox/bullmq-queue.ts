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
  perJob: number;
  connections: Redis[];
}

/** BullMQ refuses some characters in queue names; link ids are short ASCII already. */
export function queueName(linkId: string): string {
  return `sms-out-${linkId.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

export class BullmqOutboxQueue implements OutboxQueue {
  private readonly options: BullmqQueueOptions;
  private readonly lanes = new Map<string, Lane>();
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
      for (const connection of lane.connections) connection.disconnect();
    }
    this.lanes.clear();
  }

  private lane(linkId: string): Lane {
    const existing = this.lanes.get(linkId);
    if (existing) return existing;
    const rate = this.options.rateLimitPerSecond(linkId);
    const perJob = messagesPerJob(rate, this.options.maxMessagesPerJob);
    const connect = () => new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    const connections = [connect(), connect()];
    const name = queueName(linkId);
    const queue = new Queue<SendJob>(name, { connection: connections[0]!, prefix: this.options.prefix });
    const worker = new Worker<SendJob>(name, (job) => this.run(job), {
      connection: connections[1]!,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency,
      // Jobs of perJob messages, at most rate / perJob of them a second: at most `rate` messages.
      limiter: rate === null ? undefined : { max: Math.max(1, Math.floor(rate / perJob)), duration: 1_000 },
    });
    worker.on("failed", (job, error) => {
      if (job) this.options.onJobError?.(error, job.data);
    });
    worker.on("error", () => undefined); // connection trouble: ioredis reconnects, BullMQ resumes
    const lane = { queue, worker, perJob, connections };
    this.lanes.set(linkId, lane);
    return lane;
  }

  private async run(job: Job<SendJob>): Promise<void> {
    const { retry } = await this.processor(job.data, job.attemptsMade + 1);
    // Throwing is how BullMQ schedules the retry with backoff; what was sent is recorded already.
    if (retry) throw new Error("messages left to send after this attempt");
  }
}
