/**
 * The contract between the outbound pipeline (src/sms/outbox) and the links that carry mobile-
 * terminated messages to a telco: the ESME client link (smpp-client.ts, submit_sm to the telco's
 * SMSC) and the server-mode link (src/sms/server, deliver_sm to a telco bound to us). The outbox
 * renders and encodes a message once, so its part count and concatenation reference are fixed
 * before the first attempt, and hands the link only the parts the SMSC has not yet accepted.
 */
import type { EncodedSms } from "./encoding.js";

export type LinkState = "idle" | "connecting" | "bound" | "reconnecting" | "closing" | "closed";

/** One part of an encoded message: its 0-based index among all parts and its short_message bytes. */
export interface MtPart {
  index: number;
  /** short_message payload, starting with the concatenation UDH when the message has `udhi`. */
  payload: Buffer;
}

export interface MtMessage {
  /** The outbox message id: for logs and for links that want to correlate; never sent. */
  ref: string;
  /** Our sender address (short code or alphanumeric sender id), ≤ 20 printable ASCII characters. */
  from: string;
  /** The subscriber's MSISDN, international digits without "+" (TON 1 / NPI 1). */
  to: string;
  dataCoding: EncodedSms["dataCoding"];
  /** Whether the parts carry a UDH (esm_class bit 0x40 / UDHI). */
  udhi: boolean;
  /** The parts to send now, in order: on a retry only those without a recorded SMSC message id. */
  parts: MtPart[];
  /** Ask for a delivery receipt (registered_delivery 1). */
  registeredDelivery: boolean;
}

export interface MtSubmitResult {
  /** The SMSC message_id of each part sent, aligned with `message.parts`. */
  smscMessageIds: string[];
}

/**
 * A submit that did not complete. `acceptedIds` holds, aligned with `message.parts`, the SMSC
 * message id of each part that was accepted anyway (null for the others), so that the outbox
 * records them and never sends those parts again. `retryable` is false when the SMSC refused the
 * message for a reason that a retry will not fix (invalid destination, …).
 */
export class MtSubmitError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly acceptedIds: ReadonlyArray<string | null>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MtSubmitError";
  }
}

/** Final states a delivery receipt reports; anything else (ENROUTE, ACCEPTD …) is intermediate. */
export type ReceiptOutcome = "delivered" | "failed" | "expired";

export interface DeliveryReceipt {
  linkId: string;
  /** The id the SMSC gave in submit_sm_resp (or we gave in deliver_sm_resp for server mode). */
  smscMessageId: string;
  outcome: ReceiptOutcome | null;
  /** The raw stat (DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, ACCEPTD, ENROUTE, UNKNOWN). */
  stat: string;
  /** The receipt's err field or network_error_code, when given. */
  errorCode: string | null;
}

export type ReceiptHandler = (receipt: DeliveryReceipt) => void;

export interface MtLink {
  readonly id: string;
  /**
   * Sends the message's parts; resolves once every part is accepted. Rejects with MtSubmitError
   * (carrying the ids of the parts accepted before the failure) or, for a link that cannot take
   * the message now (closed, queue full, not bound for too long), with any Error: retryable.
   */
  submit(message: MtMessage): Promise<MtSubmitResult>;
  state(): LinkState;
  /** Registers a receipt listener; returns the function that removes it. */
  onReceipt(handler: ReceiptHandler): () => void;
}

/** Where a message to a subscriber goes: which link, and optionally which sender address. */
export interface MtRoute {
  linkId: string;
  /** Overrides the outbox's default sender address for this route. */
  from?: string;
}

/**
 * Resolves a recipient to a link and finds links by id. sms-links implements it from the link
 * configuration table (prefix routing); StaticLinkDirectory serves tests and single-link setups.
 */
export interface LinkDirectory {
  /**
   * `msisdn` is E.164 with "+"; null when no link reaches it (the message fails as unroutable).
   * With `institutionId` (the bank whose customer or transfer the message is about), only that
   * bank's links qualify: another bank's link is its SMSC account and its short code, and a
   * message sent through it would tell that bank's telco account of our bank's customer.
   */
  route(msisdn: string, institutionId?: string | null): MtRoute | null;
  link(id: string): MtLink | undefined;
  /** Sustained submissions per second the link is contracted for; null means no cap. */
  rateLimitPerSecond(id: string): number | null;
  /**
   * The links running now, so that the outbound pipeline can listen to each one's receipts (it
   * rescans, as links come and go with configuration changes). Optional: without it the pipeline
   * listens to a link from the first message it sends through it.
   */
  links?(): MtLink[];
  /**
   * While the link `id` is being restarted (a configuration change: the old connection closing,
   * the new one not yet started), a promise that settles once it is back (or was not started
   * again); undefined otherwise. The outbox waits for it instead of counting the restart as a
   * failed attempt. Optional: a directory whose links never restart has none.
   */
  restarting?(id: string): Promise<void> | undefined;
  /**
   * The links bound to the same SMSC account as `id`, `id` first: an SMSC may deliver a message's
   * receipt on any bind of the account that sent it (a receiver bind, a second transceiver), so
   * receipts are matched among the messages of all of them. Optional: without it, of `id` only.
   */
  sameAccount?(id: string): string[];
}

/** Every recipient goes to one of a fixed set of links, chosen by longest matching prefix. */
export class StaticLinkDirectory implements LinkDirectory {
  private readonly byId: Map<string, { link: MtLink; rate: number | null }>;

  constructor(
    links: Array<{ link: MtLink; ratePerSecond?: number | null }>,
    private readonly routes: Array<{ prefix: string; linkId: string; from?: string; institutionId?: string }> = [],
  ) {
    this.byId = new Map(links.map(({ link, ratePerSecond }) => [link.id, { link, rate: ratePerSecond ?? null }]));
  }

  /** Adds (or replaces) a link, e.g. one configured after the pipeline started. */
  add(link: MtLink, ratePerSecond: number | null = null): void {
    this.byId.set(link.id, { link, rate: ratePerSecond });
  }

  route(msisdn: string, institutionId?: string | null): MtRoute | null {
    // A route without an institution serves any (a single-bank setup); one with serves its own only.
    const serves = (r: { institutionId?: string }) => !institutionId || r.institutionId === undefined || r.institutionId === institutionId;
    const matches = this.routes.filter((r) => msisdn.startsWith(r.prefix) && serves(r)).sort((a, b) => b.prefix.length - a.prefix.length);
    const best = matches[0];
    if (best) return { linkId: best.linkId, from: best.from };
    // Without routes, a single link takes everything.
    if (this.routes.length === 0 && this.byId.size === 1) return { linkId: [...this.byId.keys()][0]! };
    return null;
  }

  link(id: string): MtLink | undefined {
    return this.byId.get(id)?.link;
  }

  rateLimitPerSecond(id: string): number | null {
    return this.byId.get(id)?.rate ?? null;
  }

  links(): MtLink[] {
    return [...this.byId.values()].map((entry) => entry.link);
  }
}
