/**
 * Moves pending outbox rows onto their links' queues: claims a batch in seq order (SKIP LOCKED, so
 * several gateway processes can relay at once), routes each recipient to a link, renders and
 * encodes the text once (fixing the text, part count and concatenation reference for every retry),
 * and hands the messages to the queue after the claim commits. A crash between the commit and the
 * queue leaves rows queued without a job: the stale sweep puts them back to pending.
 */
import type { ClaimedRow, Routed, SqlOutboxDeliveryStore } from "../../infra/db/outbox-delivery-store.js";
import { encodeSms } from "../encoding.js";
import type { LinkDirectory } from "../mt-link.js";
import type { JobMessage, OutboxQueue } from "./jobs.js";
import type { NoticeRenderer } from "./renderer.js";

export interface RelayOptions {
  /** Our sender address when the route does not name one. */
  defaultSender: string;
  /** Rows claimed per transaction. */
  batchSize: number;
  /**
   * Claims running at once in this process: rendering and encoding of one batch overlap the
   * database round trips of the other (SKIP LOCKED keeps their rows apart).
   */
  concurrentClaims: number;
  /** Wait between claims when the last one found nothing (a full batch claims again at once). */
  idlePollMs: number;
  /** No claim while this many messages wait in the queues: the outbox is the buffer, not Redis. */
  maxBacklog: number;
  /** Rows queued longer than this without a live lease are put back to pending. */
  staleAfterMs: number;
  /** Delivery receipts requested for every message. */
  registeredDelivery: boolean;
}

export const RELAY_DEFAULTS: RelayOptions = {
  defaultSender: "FINGATE",
  batchSize: 500,
  concurrentClaims: 1,
  idlePollMs: 50,
  maxBacklog: 20_000,
  staleAfterMs: 10 * 60_000,
  registeredDelivery: true,
};

export interface RelayDeps {
  store: Pick<SqlOutboxDeliveryStore, "claim" | "requeueStale">;
  links: Pick<LinkDirectory, "route" | "link" | "links" | "restarting">;
  renderer: NoticeRenderer;
  queue: OutboxQueue;
  options?: Partial<RelayOptions>;
  clock?: () => Date;
  onError?: (error: Error) => void;
}

const STALE_SWEEP_EVERY_MS = 30_000;
const CURSOR_RESET_MS = 2_000;

/**
 * STOP silences receipts only (docs/sms.md): what we send unasked about money that moved. Every
 * other kind still goes: prompts (the subscriber is in the middle of a transaction that needs
 * them), notices (a PIN change they did not make, an agent's "do not hand over cash" after a
 * declined or cancelled cash-out) and replies to the subscriber's own commands (stored as notices:
 * the answer to STOP itself, to HELP or START, or to a balance request is what they asked for).
 */
const SILENCED_BY_STOP = (row: ClaimedRow) => row.kind === "receipt";

interface ClaimLoop {
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

export class OutboxRelay {
  readonly options: RelayOptions;
  private readonly loops: ClaimLoop[];
  private stopped = true;
  private lastSweepMs = 0;
  private cursor = 0n;
  private cursorSetMs = 0;
  private readonly clock: () => Date;

  constructor(private readonly deps: RelayDeps) {
    this.options = { ...RELAY_DEFAULTS, ...deps.options };
    this.clock = deps.clock ?? (() => new Date());
    this.loops = Array.from({ length: Math.max(1, this.options.concurrentClaims) }, () => ({ timer: undefined, running: undefined }));
  }

  start(): void {
    this.stopped = false;
    for (const loop of this.loops) this.schedule(loop, 0);
  }

  /** Runs a claim soon (a writer that just committed rows can call it to cut latency). */
  poke(): void {
    if (this.stopped) return;
    const idle = this.loops.find((loop) => loop.running === undefined);
    if (idle) this.schedule(idle, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const loop of this.loops) clearTimeout(loop.timer);
    await Promise.all(this.loops.map((loop) => loop.running));
  }

  /** One claim; returns the number of rows claimed. */
  async relayOnce(): Promise<number> {
    // With no link at all (SMS not set up yet), messages wait in the outbox instead of failing as
    // unroutable; they go once a link is configured.
    if (this.deps.links.links?.().length === 0) return 0;
    if ((await this.deps.queue.backlog()) >= this.options.maxBacklog) return 0;
    const byLink = new Map<string, JobMessage[]>();
    const { rows } = await this.deps.store.claim(this.options.batchSize, this.cursorNow(), (claimed) => claimed.map((row) => this.route(row, byLink)));
    this.advance(rows);
    for (const [linkId, messages] of byLink) await this.deps.queue.add(linkId, messages);
    return rows.length;
  }

  /**
   * Where the next claim starts. Rows just relayed leave dead index entries at the head of the
   * pending range until vacuum, so a busy relay claims after the last seq it took instead of
   * wading through them each time; it starts from the beginning again whenever a claim comes back
   * short and at least every CURSOR_RESET_MS, which picks up rows that committed out of seq order
   * and rows put back to pending.
   */
  private cursorNow(): bigint {
    const now = Date.now();
    if (now - this.cursorSetMs > CURSOR_RESET_MS) {
      this.cursor = 0n;
      this.cursorSetMs = now;
    }
    return this.cursor;
  }

  private advance(rows: ClaimedRow[]): void {
    if (rows.length < this.options.batchSize) {
      this.cursor = 0n;
      return;
    }
    const last = rows[rows.length - 1]!.seq;
    if (last > this.cursor) this.cursor = last;
  }

  private schedule(loop: ClaimLoop, delayMs: number): void {
    clearTimeout(loop.timer);
    loop.timer = setTimeout(() => {
      if (loop.running !== undefined) return;
      loop.running = this.once(loop).finally(() => (loop.running = undefined));
    }, delayMs);
  }

  private async once(loop: ClaimLoop): Promise<void> {
    let next = this.options.idlePollMs;
    try {
      await this.sweepStale();
      const claimed = await this.relayOnce();
      if (claimed === this.options.batchSize) next = 0;
    } catch (error) {
      this.deps.onError?.(error instanceof Error ? error : new Error(String(error)));
      next = Math.max(this.options.idlePollMs, 1_000);
    }
    // After the finally above has cleared `running`, so that the next round may start.
    if (!this.stopped) setImmediate(() => !this.stopped && loop.running === undefined && this.schedule(loop, next));
  }

  private async sweepStale(): Promise<void> {
    const now = this.clock().getTime();
    if (now - this.lastSweepMs < STALE_SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    await this.deps.store.requeueStale(new Date(now - this.options.staleAfterMs));
  }

  private route(row: ClaimedRow, byLink: Map<string, JobMessage[]>): Routed {
    if (row.optedOut && SILENCED_BY_STOP(row)) return { id: row.id, state: "suppressed", error: "the recipient opted out of notifications (STOP)" };
    // Only the links of the bank the message is about: never another bank's SMSC account.
    const route = this.deps.links.route(row.msisdn, row.institutionId);
    const kept = this.keptLink(row);
    if (kept !== null && "error" in kept) return { id: row.id, state: "failed", error: kept.error };
    // A reply goes back the way its command came while that link runs (it reached the subscriber
    // a moment ago), else by prefix like any message.
    const origin = row.replyLinkId !== null && this.deps.links.link(row.replyLinkId) ? row.replyLinkId : undefined;
    const linkId = kept?.linkId ?? origin ?? route?.linkId;
    if (linkId === undefined) {
      const error = row.institutionId ? "no SMS link of the recipient's bank reaches this number" : "no SMS link reaches this number";
      return { id: row.id, state: "failed", error };
    }
    let message: JobMessage;
    let concatRef: number;
    let text: string;
    try {
      // A recovered row sends the text of its first claim: a new rendering (a template or the
      // customer's language changed since) would not continue the parts already accepted.
      text = row.renderedText ?? this.deps.renderer.render(row.template, row.params, row.language);
      // The reference the claim took for the row (the one after the number's previous message's,
      // atomically across relays), unless it kept one from an earlier claim.
      concatRef = row.concatRef ?? row.nextRef ?? Number(row.seq % 256n);
      const encoded = encodeSms(text, { reference: concatRef });
      if (row.partCount !== null && row.partCount !== encoded.parts.length) throw new Error("template changed since the first attempt");
      message = {
        id: row.id,
        from: row.sender ?? route?.from ?? this.options.defaultSender,
        to: row.msisdn.slice(1),
        dataCoding: encoded.dataCoding,
        udhi: encoded.udhi,
        parts: encoded.parts.map((p) => p.toString("base64")),
        registeredDelivery: this.options.registeredDelivery,
      };
    } catch (error) {
      return { id: row.id, state: "failed", error: error instanceof Error ? error.message : String(error) };
    }
    const list = byLink.get(linkId) ?? [];
    list.push(message);
    byLink.set(linkId, list);
    return { id: row.id, state: "queued", linkId, concatRef, partCount: message.parts.length, text, from: message.from };
  }

  /**
   * A recovered row's link: it keeps it while the link runs (or is restarting). A removed (or
   * disabled) link is let go when no part was accepted yet, and the row is routed afresh; when
   * some were, the rest must go through the same SMSC to be joined on the handset, so the row
   * fails with the reason instead of using up its attempts on "not configured".
   */
  private keptLink(row: ClaimedRow): { linkId: string } | { error: string } | null {
    if (row.linkId === null) return null;
    if (this.deps.links.link(row.linkId) !== undefined || this.deps.links.restarting?.(row.linkId) !== undefined) return { linkId: row.linkId };
    if (row.partsAccepted === 0) return null;
    return {
      error: `SMS link "${row.linkId}" is no longer configured and ${row.partsAccepted} of ${row.partCount ?? "?"} parts went through it: the rest cannot be joined through another SMSC`,
    };
  }
}
