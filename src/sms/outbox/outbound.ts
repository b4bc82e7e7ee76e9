/**
 * The outbound pipeline assembled for the composition root (src/main.ts) and the bench:
 *
 *   outbox_messages ──relay──▶ queue per link (BullMQ, or in-process) ──sender──▶ MtLink
 *          ▲                                                                         │
 *          └──────────────── receipt matcher ◀── deliver_sm receipts ◀───────────────┘
 */
import { SqlOutboxDeliveryStore } from "../../infra/db/outbox-delivery-store.js";
import { SqlOutboxReceiptStore } from "../../infra/db/outbox-receipt-store.js";
import type { SqlDb } from "../../infra/db/sql.js";
import type { LinkDirectory, MtLink } from "../mt-link.js";
import { BullmqOutboxQueue } from "./bullmq-queue.js";
import type { OutboxQueue } from "./jobs.js";
import { MemoryOutboxQueue } from "./memory-queue.js";
import type { QueueOptions } from "./queue-options.js";
import { ReceiptMatcher, type ReceiptMatcherOptions } from "./receipts.js";
import { OutboxRelay, type RelayOptions } from "./relay.js";
import { createNoticeRenderer, type NoticeRenderer } from "./renderer.js";
import { OutboxSender, SENDER_DEFAULTS, type SenderOptions } from "./sender.js";

/** How often the directory's links are looked at for new ones to listen to. */
const LINK_RESCAN_MS = 5_000;

export interface OutboundOptions {
  db: SqlDb;
  links: LinkDirectory;
  /** BullMQ queues in Redis; without it the outbox drains in this process. */
  redisUrl?: string;
  /** Redis key prefix for the queues. */
  redisPrefix?: string;
  /** Links whose workers start now (links met later get theirs on first use). */
  linkIds?: string[];
  relay?: Partial<RelayOptions>;
  sender?: Partial<SenderOptions>;
  queue?: Partial<Omit<QueueOptions, "rateLimitPerSecond" | "linkGone">>;
  receipts?: Partial<ReceiptMatcherOptions>;
  defaultLanguage?: string;
  renderer?: NoticeRenderer;
  clock?: () => Date;
  onSubmitted?: (id: string) => void;
  onError?: (error: Error, context: string) => void;
}

export interface Outbound {
  store: SqlOutboxDeliveryStore;
  relay: OutboxRelay;
  sender: OutboxSender;
  queue: OutboxQueue;
  receipts: ReceiptMatcher;
  /** Subscribes the matcher to a link's receipts (every link the directory can route to). */
  attach(link: MtLink): void;
  close(): Promise<void>;
}

export function startOutbound(options: OutboundOptions): Outbound {
  const onError = options.onError ?? (() => undefined);
  const store = new SqlOutboxDeliveryStore(options.db, options.clock);
  const receipts = new ReceiptMatcher(
    new SqlOutboxReceiptStore(options.db, options.clock),
    options.receipts,
    (e) => onError(e, "receipt"),
    (linkId) => options.links.sameAccount?.(linkId) ?? [linkId],
  );
  // Every link is listened to once: those the directory lists (rescanned, since links restart on
  // configuration changes) and any other the sender meets.
  const listening = new Map<MtLink, () => void>();
  const attach = (link: MtLink) => {
    if (!listening.has(link)) listening.set(link, receipts.attach(link));
  };
  // A directory that cannot list its links is asked for each configured link by id instead.
  const linkIds = async () => (options.links.links ? options.links.links().map((l) => l.id) : await store.configuredLinkIds());
  // A link the directory no longer gives under its id was stopped or replaced (a configuration
  // change restarts a link as a new object): its listener goes, or every reload would keep one
  // more closed link, and its listeners, alive for as long as the process runs.
  const forgetReplaced = () => {
    for (const [link, detach] of listening) {
      if (options.links.link(link.id) === link) continue;
      detach();
      listening.delete(link);
    }
  };
  const rescan = () =>
    void linkIds()
      .then((ids) => {
        for (const id of ids) {
          const link = options.links.link(id);
          if (link) attach(link);
        }
        forgetReplaced();
      })
      .catch((error: Error) => onError(error, "receipt link scan"));
  rescan();
  const rescanTimer = setInterval(rescan, LINK_RESCAN_MS);
  rescanTimer.unref();
  const sender = new OutboxSender({
    store,
    links: options.links,
    options: options.sender,
    onSubmitted: options.onSubmitted,
    onError: (error, id) => onError(error, `send ${id}`),
    onLink: attach,
  });
  const queueOptions: Partial<QueueOptions> = {
    ...options.queue,
    // A job runs at most as often as its messages may be attempted.
    maxAttempts: options.queue?.maxAttempts ?? options.sender?.maxAttempts ?? SENDER_DEFAULTS.maxAttempts,
    rateLimitPerSecond: (id) => options.links.rateLimitPerSecond(id),
    // Removed or disabled, not merely restarting: its lane closes once its running jobs end.
    linkGone: (id) => options.links.link(id) === undefined && options.links.restarting?.(id) === undefined,
    onJobError: (error, job) => onError(error, `job on ${job.linkId}`),
  };
  const process = sender.process.bind(sender);
  let queue: OutboxQueue;
  if (options.redisUrl) {
    const bull = new BullmqOutboxQueue(process, { ...queueOptions, redisUrl: options.redisUrl, prefix: options.redisPrefix });
    bull.open(options.linkIds ?? []);
    queue = bull;
  } else {
    queue = new MemoryOutboxQueue(process, queueOptions);
  }
  const renderer = options.renderer ?? createNoticeRenderer({ defaultLanguage: options.defaultLanguage });
  const relay = new OutboxRelay({ store, links: options.links, renderer, queue, options: options.relay, clock: options.clock, onError: (e) => onError(e, "relay") });
  relay.start();
  return {
    store,
    relay,
    sender,
    queue,
    receipts,
    attach,
    close: async () => {
      clearInterval(rescanTimer);
      await relay.stop();
      await queue.close();
      for (const detach of listening.values()) detach();
      await receipts.close();
    },
  };
}
