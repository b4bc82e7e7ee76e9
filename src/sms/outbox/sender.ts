/**
 * Sends one job's messages over their link with duplicate protection:
 *   1. lease the rows (only those still queued and not leased by another sender);
 *   2. send only the parts without a recorded SMSC message id;
 *   3. record every id the SMSC gave (and the new state) before the job is acknowledged.
 * A retried job, or a second job for the same row, finds the ids recorded and does not send those
 * parts again. The one gap left is a crash between the SMSC's submit_sm_resp and step 3.
 */
import type { LeasedRow, SendOutcome, SqlOutboxDeliveryStore } from "../../infra/db/outbox-delivery-store.js";
import { MtSubmitError, type LinkDirectory, type MtLink } from "../mt-link.js";
import { toMtMessage, type JobMessage, type SendJob } from "./jobs.js";

export interface SenderOptions {
  /** Sending attempts per message before it is dead-lettered. */
  maxAttempts: number;
  /** How long a lease lasts without renewal; renewed every third of it while the job runs. */
  leaseMs: number;
}

export const SENDER_DEFAULTS: SenderOptions = { maxAttempts: 5, leaseMs: 60_000 };

export interface SenderDeps {
  store: Pick<SqlOutboxDeliveryStore, "lease" | "renew" | "record">;
  links: Pick<LinkDirectory, "link">;
  options?: Partial<SenderOptions>;
  /** Called when a message's parts are all accepted (the bench measures enqueue → here). */
  onSubmitted?: (id: string) => void;
  onError?: (error: Error, messageId: string) => void;
  /** Called with each link a message is about to go through (the receipt matcher listens to it). */
  onLink?: (link: MtLink) => void;
}

const MAX_ERROR_LENGTH = 500;

export class OutboxSender {
  private readonly options: SenderOptions;

  constructor(private readonly deps: SenderDeps) {
    this.options = { ...SENDER_DEFAULTS, ...deps.options };
  }

  async process(job: SendJob): Promise<{ retry: boolean }> {
    const byId = new Map(job.messages.map((m) => [m.id, m]));
    const { leased, busy } = await this.deps.store.lease([...byId.keys()], this.options.leaseMs);
    if (leased.length === 0) return { retry: busy.length > 0 };
    const heartbeat = this.heartbeat(leased.map((l) => l.id));
    let outcomes: SendOutcome[];
    try {
      outcomes = await Promise.all(leased.map((row) => this.sendOne(job.linkId, byId.get(row.id)!, row)));
    } finally {
      clearInterval(heartbeat);
    }
    await this.deps.store.record(outcomes);
    for (const o of outcomes) if (o.state === "submitted") this.deps.onSubmitted?.(o.id);
    return { retry: busy.length > 0 || outcomes.some((o) => o.state === "queued") };
  }

  /** Keeps the leases alive while the link is slow (reconnecting, throttled). */
  private heartbeat(ids: string[]): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.deps.store.renew(ids, this.options.leaseMs).catch(() => undefined);
    }, this.options.leaseMs / 3);
    timer.unref();
    return timer;
  }

  private async sendOne(linkId: string, message: JobMessage, row: LeasedRow): Promise<SendOutcome> {
    const ids: Array<string | null> = message.parts.map((_, i) => row.smscMessageIds[i] ?? null);
    const missing = ids.flatMap((id, i) => (id === null ? [i] : []));
    // Every part was accepted by an earlier attempt whose job was not acknowledged: do not resend.
    if (missing.length === 0) return { id: message.id, smscMessageIds: ids, state: "submitted", error: null };
    const link = this.deps.links.link(linkId);
    if (link === undefined) return this.failure(message.id, ids, row, new Error(`SMS link "${linkId}" is not configured`), true);
    this.deps.onLink?.(link);
    try {
      const result = await link.submit(toMtMessage(message, missing));
      missing.forEach((index, k) => (ids[index] = result.smscMessageIds[k] ?? ""));
      return { id: message.id, smscMessageIds: ids, state: "submitted", error: null };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if (err instanceof MtSubmitError) missing.forEach((index, k) => (ids[index] = err.acceptedIds[k] ?? null));
      const retryable = !(err instanceof MtSubmitError) || err.retryable;
      return this.failure(message.id, ids, row, err, retryable);
    }
  }

  private failure(id: string, ids: Array<string | null>, row: LeasedRow, error: Error, retryable: boolean): SendOutcome {
    this.deps.onError?.(error, id);
    const text = error.message.slice(0, MAX_ERROR_LENGTH);
    if (!retryable) return { id, smscMessageIds: ids, state: "failed", error: text };
    if (row.attempts >= this.options.maxAttempts) return { id, smscMessageIds: ids, state: "dead", error: `${text} (after ${row.attempts} attempts)` };
    return { id, smscMessageIds: ids, state: "queued", error: text };
  }
}
