/** Options shared by the BullMQ and in-process outbox queues. */
import type { SendJob } from "./jobs.js";

export interface QueueOptions {
  /** Jobs of one link running at once in this process. */
  concurrency: number;
  /** Job runs before it is given up (dead-lettered). */
  maxAttempts: number;
  /** First retry delay; doubled on each further retry. */
  backoffMs: number;
  maxMessagesPerJob: number;
  /** The link's contracted messages per second; null for no cap. */
  rateLimitPerSecond: (linkId: string) => number | null;
  /**
   * Whether the link was removed from the configuration (or disabled): its lane is closed once
   * its running jobs end, instead of holding a worker and connections (BullMQ) or an entry (in
   * process) for every link id ever used. A later message for the link opens it again.
   */
  linkGone: (linkId: string) => boolean;
  onJobError?: (error: Error, job: SendJob) => void;
}

export const QUEUE_DEFAULTS: QueueOptions = {
  concurrency: 4,
  maxAttempts: 5,
  backoffMs: 1_000,
  maxMessagesPerJob: 100,
  rateLimitPerSecond: () => null,
  linkGone: () => false,
};

/** Delay before run `attempt + 1`: backoffMs · 2^(attempt − 1), as BullMQ's exponential backoff. */
export function retryDelayMs(attempt: number, backoffMs: number): number {
  return backoffMs * 2 ** Math.max(0, attempt - 1);
}
