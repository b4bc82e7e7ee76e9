/**
 * Sends one job's messages over their link with duplicate protection:
 *   1. lease the rows (only those still queued and not leased by another sender);
 *   2. send only the parts without a recorded SMSC message id;
 *   3. record each message's SMSC ids (and its new state) as soon as its send settles, not when
 *      the whole job is done, retrying a failed write with the ids kept in memory.
 * A retried job, or a second job for the same row, finds the ids recorded and does not send those
 * parts again. Ids whose record failed for good are also kept in this process (bounded) until a
 * later record of them succeeds, so the job's retry records them instead of sending again. The gap
 * left is a crash between the SMSC's submit_sm_resp and that message's record (or a database that
 * refuses every write until another process leases the row).
 */
import type { LeasedRow, SendOutcome, SqlOutboxDeliveryStore } from "../../infra/db/outbox-delivery-store.js";
import { MtSubmitError, type LinkDirectory, type MtLink } from "../mt-link.js";
import { toMtMessage, type JobMessage, type SendJob } from "./jobs.js";

export interface SenderOptions {
  /** Sending attempts per message before it is dead-lettered. */
  maxAttempts: number;
  /** How long a lease lasts without renewal; renewed every third of it while the job runs. */
  leaseMs: number;
  /** Waits before each new try of a record that failed (its length is the number of retries). */
  recordRetryMs: number[];
}

export const SENDER_DEFAULTS: SenderOptions = { maxAttempts: 5, leaseMs: 60_000, recordRetryMs: [100, 500, 2_000] };

export interface SenderDeps {
  store: Pick<SqlOutboxDeliveryStore, "lease" | "renew" | "record">;
  links: Pick<LinkDirectory, "link" | "restarting">;
  options?: Partial<SenderOptions>;
  /** Called when a message's parts are all accepted (the bench measures enqueue → here). */
  onSubmitted?: (id: string) => void;
  onError?: (error: Error, messageId: string) => void;
  /** Called with each link a message is about to go through (the receipt matcher listens to it). */
  onLink?: (link: MtLink) => void;
}

const MAX_ERROR_LENGTH = 500;
/** Sends of one message within an attempt when its link restarts under it (a bound, not a loop). */
const MAX_RESTART_HOPS = 3;
/** Messages whose accepted ids are kept while unrecorded; beyond it the oldest are forgotten. */
const MAX_UNRECORDED = 10_000;

export class OutboxSender {
  private readonly options: SenderOptions;
  /**
   * SMSC ids accepted but not yet recorded, by message id. A record that fails for good fails the
   * job; its retry leases the row again (once the lease ends) and finds no ids in the database:
   * these keep it from sending the message a second time.
   */
  private readonly unrecordedIds = new Map<string, Array<string | null>>();

  constructor(private readonly deps: SenderDeps) {
    this.options = { ...SENDER_DEFAULTS, ...deps.options };
  }

  async process(job: SendJob): Promise<{ retry: boolean }> {
    const byId = new Map(job.messages.map((m) => [m.id, m]));
    const { leased, busy } = await this.deps.store.lease([...byId.keys()], this.options.leaseMs);
    if (leased.length === 0) return { retry: busy.length > 0 };
    // Only rows not recorded yet: a recorded row's lease has ended (one recorded as queued again
    // must be free for the job's retry).
    const unrecorded = new Set(leased.map((l) => l.id));
    const heartbeat = this.heartbeat(() => [...unrecorded]);
    const recorder = new Recorder(
      (batch) => this.recordWithRetries(batch),
      (batch) => {
        for (const o of batch) {
          unrecorded.delete(o.id);
          this.unrecordedIds.delete(o.id);
          if (o.state === "submitted") this.deps.onSubmitted?.(o.id);
        }
      },
    );
    let outcomes: SendOutcome[];
    try {
      // Each message is recorded as soon as its send settles: one that waits for a reconnect (or a
      // failed write) does not hold back the ids of the others, which a crash would otherwise lose.
      outcomes = await Promise.all(
        leased.map(async (row) => {
          const outcome = await this.sendOne(job.linkId, byId.get(row.id)!, row);
          this.remember(outcome);
          recorder.add(outcome);
          return outcome;
        }),
      );
      await recorder.drain();
    } finally {
      clearInterval(heartbeat);
    }
    return { retry: busy.length > 0 || outcomes.some((o) => o.state === "queued") };
  }

  /** Keeps the accepted ids of `outcome` until they are recorded. */
  private remember(outcome: SendOutcome): void {
    if (!outcome.smscMessageIds.some((id) => id !== null)) return;
    this.unrecordedIds.delete(outcome.id);
    this.unrecordedIds.set(outcome.id, outcome.smscMessageIds);
    if (this.unrecordedIds.size > MAX_UNRECORDED) this.unrecordedIds.delete(this.unrecordedIds.keys().next().value!);
  }

  /** A record that fails is tried again a few times, the leases renewed meanwhile by the heartbeat. */
  private async recordWithRetries(outcomes: SendOutcome[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.store.record(outcomes);
        return;
      } catch (error) {
        const delayMs = this.options.recordRetryMs[attempt];
        if (delayMs === undefined) throw error;
        this.deps.onError?.(error instanceof Error ? error : new Error(String(error)), outcomes.map((o) => o.id).join(","));
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Keeps the leases alive while the link is slow (reconnecting, throttled). */
  private heartbeat(unrecorded: () => string[]): NodeJS.Timeout {
    const timer = setInterval(() => {
      const ids = unrecorded();
      if (ids.length > 0) this.deps.store.renew(ids, this.options.leaseMs).catch(() => undefined);
    }, this.options.leaseMs / 3);
    timer.unref();
    return timer;
  }

  private async sendOne(linkId: string, message: JobMessage, row: LeasedRow): Promise<SendOutcome> {
    const kept = this.unrecordedIds.get(message.id);
    const ids: Array<string | null> = message.parts.map((_, i) => row.smscMessageIds[i] ?? kept?.[i] ?? null);
    // Every part was accepted by an earlier attempt whose job was not acknowledged: do not resend.
    if (ids.every((id) => id !== null)) return { id: message.id, smscMessageIds: ids, state: "submitted", error: null };
    for (let tries = 1; ; tries++) {
      const link = await this.currentLink(linkId);
      if (link === undefined) return this.linkGone(linkId, message.id, ids, row);
      this.deps.onLink?.(link);
      const missing = ids.flatMap((id, i) => (id === null ? [i] : []));
      try {
        const result = await link.submit(toMtMessage(message, missing));
        missing.forEach((index, k) => (ids[index] = result.smscMessageIds[k] ?? ""));
        return { id: message.id, smscMessageIds: ids, state: "submitted", error: null };
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        if (err instanceof MtSubmitError) missing.forEach((index, k) => (ids[index] = err.acceptedIds[k] ?? null));
        const retryable = !(err instanceof MtSubmitError) || err.retryable;
        // The link was restarted under us (its closing refused the parts it still held): the rest
        // goes on the new connection within this attempt; a restart is not the message's failure.
        if (retryable && tries < MAX_RESTART_HOPS && this.replaced(linkId, link)) continue;
        return this.failure(message.id, ids, row, err, retryable);
      }
    }
  }

  /**
   * The job's link was removed from the configuration (or disabled) since the relay routed the
   * message. With no part accepted yet it goes back to the relay (pending), which routes it
   * afresh; with some accepted, the rest must go through the same SMSC to be joined, so it fails
   * with the reason. Failing "not configured" on every attempt used to make it dead instead.
   */
  private linkGone(linkId: string, id: string, ids: Array<string | null>, row: LeasedRow): SendOutcome {
    if (ids.every((part) => part === null)) return { id, smscMessageIds: ids, state: "pending", error: `SMS link "${linkId}" is not configured: routed again` };
    const accepted = ids.filter((part) => part !== null).length;
    const error = new Error(`SMS link "${linkId}" is not configured and ${accepted} of ${ids.length} parts went through it: the rest cannot be joined through another SMSC`);
    return this.failure(id, ids, row, error, false);
  }

  /** The link now, after waiting out a restart under way (a configuration change). */
  private async currentLink(linkId: string): Promise<MtLink | undefined> {
    const restart = this.deps.links.restarting?.(linkId);
    if (restart !== undefined) await restart;
    return this.deps.links.link(linkId);
  }

  /** Whether `link` is no longer the directory's link for `linkId` (restarting or restarted). */
  private replaced(linkId: string, link: MtLink): boolean {
    return this.deps.links.restarting?.(linkId) !== undefined || this.deps.links.link(linkId) !== link;
  }

  private failure(id: string, ids: Array<string | null>, row: LeasedRow, error: Error, retryable: boolean): SendOutcome {
    this.deps.onError?.(error, id);
    const text = error.message.slice(0, MAX_ERROR_LENGTH);
    if (!retryable) return { id, smscMessageIds: ids, state: "failed", error: text };
    if (row.attempts >= this.options.maxAttempts) return { id, smscMessageIds: ids, state: "dead", error: `${text} (after ${row.attempts} attempts)` };
    return { id, smscMessageIds: ids, state: "queued", error: text };
  }
}

/**
 * Records outcomes as they come, in as few writes as that allows: the first is written at once,
 * those that settle while a write runs go together in the next. A write that fails for good keeps
 * its outcomes for the next one (another message settling, or the drain at the job's end).
 */
class Recorder {
  private pending: SendOutcome[] = [];
  private writing: Promise<void> | undefined;
  private lastError: unknown;
  private gaveUp = false;

  constructor(
    private readonly write: (outcomes: SendOutcome[]) => Promise<void>,
    private readonly onWritten: (outcomes: SendOutcome[]) => void,
  ) {}

  add(outcome: SendOutcome): void {
    this.pending.push(outcome);
    this.gaveUp = false;
    this.kick();
  }

  /** Writes what is left; throws the last write error when some outcome could not be recorded. */
  async drain(): Promise<void> {
    await this.writing;
    if (this.pending.length === 0) return;
    this.gaveUp = false;
    this.kick();
    await this.writing;
    if (this.pending.length > 0) throw this.lastError;
  }

  private kick(): void {
    if (this.writing !== undefined || this.gaveUp || this.pending.length === 0) return;
    this.writing = this.loop().finally(() => {
      this.writing = undefined;
      this.kick(); // outcomes added between the loop's last look and here
    });
  }

  private async loop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        await this.write(batch);
      } catch (error) {
        this.lastError = error;
        this.gaveUp = true;
        this.pending.unshift(...batch);
        return;
      }
      try {
        this.onWritten(batch);
      } catch {
        // a caller's callback must not turn a recorded batch into a failed one
      }
    }
  }
}
