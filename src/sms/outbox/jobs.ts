/** What the relay puts on a link's queue: rendered, encoded messages, so a retry sends the same bytes. */
import type { MtMessage } from "../mt-link.js";

export interface JobMessage {
  /** The outbox row id. */
  id: string;
  from: string;
  /** International digits without "+". */
  to: string;
  dataCoding: 0 | 8;
  udhi: boolean;
  /** Every part's short_message in base64 (JSON-safe for Redis), in part order. */
  parts: string[];
  registeredDelivery: boolean;
}

export interface SendJob {
  linkId: string;
  messages: JobMessage[];
}

/** The MtMessage for the parts of `job` whose index is in `indexes`. */
export function toMtMessage(job: JobMessage, indexes: number[]): MtMessage {
  return {
    ref: job.id,
    from: job.from,
    to: job.to,
    dataCoding: job.dataCoding,
    udhi: job.udhi,
    parts: indexes.map((index) => ({ index, payload: Buffer.from(job.parts[index]!, "base64") })),
    registeredDelivery: job.registeredDelivery,
  };
}

/** A queue of send jobs per link (BullMQ with Redis, in-process without). */
export interface OutboxQueue {
  /** Splits the messages into jobs for `linkId`'s queue. */
  add(linkId: string, messages: JobMessage[]): Promise<void>;
  /** Messages waiting or running in all queues of this process's view (for the relay's back-pressure). */
  backlog(): Promise<number>;
  close(): Promise<void>;
}

/** Runs one job; `retry` asks the queue to run it again later (with backoff) for what is left. */
export type JobProcessor = (job: SendJob, attempt: number) => Promise<{ retry: boolean }>;

/** Messages per job: a link capped at `ratePerSecond` gets jobs of about a tenth of a second's worth. */
export function messagesPerJob(ratePerSecond: number | null, max: number): number {
  if (ratePerSecond === null) return max;
  return Math.max(1, Math.min(max, Math.floor(ratePerSecond / 10)));
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
