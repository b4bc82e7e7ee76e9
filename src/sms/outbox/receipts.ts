/**
 * Matches delivery receipts from every link back to outbox rows, among the messages sent on any
 * link of the receipt's SMSC account (an SMSC may report on another bind of the account). A receipt can overtake the
 * sender's record of the SMSC message ids (the SMSC answers, delivers and reports while our
 * UPDATE is still on its way), so an unmatched receipt is kept and tried again a few times. The id
 * is looked for as written, then as the same number in the other base (receiptIdAlternates).
 */
import type { SqlOutboxReceiptStore } from "../../infra/db/outbox-receipt-store.js";
import { receiptIdAlternates } from "../delivery-receipt.js";
import type { DeliveryReceipt, MtLink } from "../mt-link.js";

export interface ReceiptMatcherOptions {
  retryEveryMs: number;
  /** Tries before an unmatched receipt is dropped (it names a message we do not know). */
  maxTries: number;
  /** Unmatched receipts kept at most; beyond it the oldest are dropped. */
  maxPending: number;
}

export const RECEIPT_DEFAULTS: ReceiptMatcherOptions = { retryEveryMs: 500, maxTries: 20, maxPending: 10_000 };

interface Pending {
  receipt: DeliveryReceipt;
  tries: number;
}

export class ReceiptMatcher {
  private readonly options: ReceiptMatcherOptions;
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  /** Receipts applied, left unmatched for good, and failed to store: for the link state endpoint. */
  readonly counts = { matched: 0, unmatched: 0, errors: 0 };

  constructor(
    private readonly store: Pick<SqlOutboxReceiptStore, "apply">,
    options: Partial<ReceiptMatcherOptions> = {},
    private readonly onError?: (error: Error) => void,
    /** The links of the receipt link's SMSC account, itself first (LinkDirectory.sameAccount). */
    private readonly accountLinks: (linkId: string) => string[] = (linkId) => [linkId],
  ) {
    this.options = { ...RECEIPT_DEFAULTS, ...options };
  }

  attach(link: MtLink): () => void {
    return link.onReceipt((receipt) => this.handle(receipt));
  }

  /** Server-mode links may also call this directly. Intermediate receipts (ENROUTE …) are ignored. */
  handle(receipt: DeliveryReceipt): void {
    if (this.closed || receipt.outcome === null) return;
    this.track(this.tryApply({ receipt, tries: 0 }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when nothing is in flight (tests wait for it). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async tryApply(entry: Pending): Promise<void> {
    const { receipt } = entry;
    try {
      const ids = { id: receipt.smscMessageId, alternates: receiptIdAlternates(receipt.smscMessageId) };
      // Looked up again at each try: the account's links may change while a receipt waits.
      const match = await this.store.apply(this.accountLinks(receipt.linkId), ids, receipt.stat, receipt.errorCode);
      if (match === "matched") this.counts.matched++;
      else this.retryLater({ receipt, tries: entry.tries + 1 });
    } catch (error) {
      this.counts.errors++;
      this.onError?.(error instanceof Error ? error : new Error(String(error)));
      this.retryLater({ receipt, tries: entry.tries + 1 });
    }
  }

  private retryLater(entry: Pending): void {
    if (entry.tries >= this.options.maxTries || this.closed) {
      this.counts.unmatched++;
      return;
    }
    this.pending.push(entry);
    if (this.pending.length > this.options.maxPending) {
      this.pending.shift();
      this.counts.unmatched++;
    }
    this.timer ??= setTimeout(() => this.retryPending(), this.options.retryEveryMs);
  }

  private retryPending(): void {
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    for (const entry of batch) this.track(this.tryApply(entry));
  }
}
