/**
 * An ESME link to a telco SMSC over the `smpp` package, adding what the package lacks: a window
 * of outstanding submit_sm with per-request timeouts, reconnect with backoff, slowing down on
 * ESME_RTHROTTLED / ESME_RMSGQFUL, and a bounded queue so that no message is dropped because the
 * socket was not writable.
 *
 * Delivery is at-least-once per link: a part whose response was lost with the connection is sent
 * again after the reconnect, because the SMSC may or may not have accepted it. A part is never
 * sent twice on one session: a submit_sm_resp that is overdue stops sending on the session, a late
 * answer still settles its part, and a session whose answers stay missing is closed (so the part
 * goes again only after a reconnect). De-duplication across retries belongs to the outbox that
 * feeds this link.
 */
import { EventEmitter } from "node:events";
import smpp from "smpp";
import { backoffDelayMs } from "./backoff.js";
import { parseDeliveryReceipt } from "./delivery-receipt.js";
import { MtSubmitError, type LinkState, type MtLink, type MtMessage, type MtSubmitResult, type ReceiptHandler } from "./mt-link.js";
import { openBoundSession } from "./smpp-bind.js";
import { refusalOf, type BadPdu, type PduFailure } from "./smpp-framing.js";
import { EnquireLinkKeepAlive } from "./smpp-keepalive.js";
import { smppClientConfig, type SmppClientConfig, type SmppClientOptions } from "./smpp-client-config.js";
import { ESME_RINVCMDID, ESME_ROK, ESME_RTHROTTLED, isPermanentRefusal, isThrottle, responseStatus, SmppBindError, SmppSubmitError, SmppTimeoutError, SmppUnavailableError } from "./smpp-status.js";
import { mtSubmitParts, submitParts, type OutboundSms } from "./submit-parts.js";

export type { LinkState } from "./mt-link.js";

export interface LinkStats {
  state: LinkState;
  bound: boolean;
  reconnecting: boolean;
  inFlight: number;
  queued: number;
  /** PDUs throttled either way since start: the SMSC's throttle answers to our submits, and its deliveries we answered ESME_RTHROTTLED. */
  throttled: number;
}

export interface SubmitResult {
  /** The SMSC's message_id for each part, in part order. */
  messageIds: string[];
}

export interface SmppClientEvents {
  state: [state: LinkState];
  bindFailed: [error: SmppBindError];
  connectFailed: [error: Error];
  reconnecting: [delayMs: number];
  throttled: [status: number, delayMs: number];
  /** A deliver_sm / data_sm, answered ESME_ROK; `hold` counts the work it sets going in inboundWindow. */
  deliver: [pdu: smpp.PDU, hold: (work: Promise<unknown>) => void];
  linkError: [error: Error];
  /** A PDU from the SMSC that did not parse, already answered (the session goes on unless bad.closed). */
  badPdu: [bad: BadPdu];
  /** Handling a PDU from the SMSC threw: the session was destroyed, and the link reconnects. */
  pduFailed: [failure: PduFailure];
}

/**
 * Deliveries whose work, held by a 'deliver' listener, still runs (config.inboundWindow). Outlives
 * a client: the link manager gives each client of a link the one its predecessors counted in.
 */
export class InboundWork {
  held = 0;
}

export interface SmppClientDeps {
  /** Jitter source; tests pass a constant to make delays exact. */
  random?: () => number;
  /** Connects and binds; tests replace it to drive a session that misbehaves on cue. */
  open?: (config: SmppClientConfig) => Promise<smpp.Session>;
  /**
   * The link's count of deliveries in work. A configuration change restarts a link with a new
   * client while the old one's deliveries still run: with a count of its own the new client
   * started from an empty window, and each restart let up to another window of work run at once.
   */
  inboundWork?: InboundWork;
}

type PartOutcome = { messageId: string } | { error: Error };

interface PartJob {
  /** Submission order, kept when parts return to the queue after a disconnect. */
  order: number;
  /** Goes ahead of bulk parts (a USSD screen someone is waiting for on the handset). */
  urgent: boolean;
  /** Not sent after this (Date.now() ms): a screen the network has given up waiting for. */
  sendByMs: number | null;
  pdu: smpp.PduOptions;
  timeouts: number;
  settle: (outcome: PartOutcome) => void;
}

interface InFlight {
  job: PartJob;
  timer: NodeJS.Timeout;
  /** Its response timeout has passed; a late answer still settles it. */
  overdue: boolean;
}

function allAccepted(outcomes: PromiseSettledResult<string>[]): SubmitResult {
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return { messageIds: outcomes.map((o) => (o as PromiseFulfilledResult<string>).value) };
}

/** The SMSC's requests this link answers itself (onBound); any other is refused. */
const SERVED_REQUESTS = new Set(["deliver_sm", "data_sm", "enquire_link", "unbind"]);

/** How often close() looks whether the window has emptied (it is bounded by the response timeout). */
const CLOSE_POLL_MS = 5;

export class SmppClient extends EventEmitter<SmppClientEvents> implements MtLink {
  readonly config: SmppClientConfig;
  private readonly random: () => number;
  private readonly open: (config: SmppClientConfig) => Promise<smpp.Session>;
  private linkState: LinkState = "idle";
  private session: smpp.Session | null = null;
  /** Bumped per connection so that callbacks of a dead connection are ignored. */
  private generation = 0;
  private readonly queue: PartJob[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private nextOrder = 0;
  private nextReference = 0;
  private reconnectAttempt = 0;
  private throttleStreak = 0;
  private throttledUntilMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  /**
   * Set while a submit_sm_resp is overdue on the current session: nothing more is sent on it, and
   * when it fires the session is closed as dead.
   */
  private overdueTimer: NodeJS.Timeout | undefined;
  private keepAlive: EnquireLinkKeepAlive | undefined;
  private closed: Promise<void> | undefined;
  private corked = false;
  /** Deliveries whose work, held by a 'deliver' listener, still runs (config.inboundWindow). */
  private readonly inboundWork: InboundWork;
  private throttledPdus = 0;
  private readonly holdWork = (work: Promise<unknown>): void => {
    const count = this.inboundWork;
    count.held++;
    const release = () => void count.held--;
    work.then(release, release);
  };

  constructor(options: SmppClientOptions, deps: SmppClientDeps = {}) {
    super();
    this.config = smppClientConfig(options);
    this.random = deps.random ?? Math.random;
    this.open = deps.open ?? openBoundSession;
    this.inboundWork = deps.inboundWork ?? new InboundWork();
  }

  get id(): string {
    return this.config.id;
  }

  state(): LinkState {
    return this.linkState;
  }

  start(): void {
    if (this.linkState !== "idle") throw new Error(`SMPP link already started (state ${this.linkState})`);
    this.connect();
  }

  stats(): LinkStats {
    const state = this.linkState;
    return { state, bound: state === "bound", reconnecting: state === "reconnecting", inFlight: this.inFlight.size, queued: this.queue.length, throttled: this.throttledPdus };
  }

  /** Encodes and queues a text's parts; resolves once the SMSC has accepted every part. */
  submitText(sms: OutboundSms): Promise<SubmitResult> {
    const reference = this.nextReference;
    this.nextReference = (reference + 1) % 256;
    let pdus: smpp.PduOptions[];
    try {
      pdus = submitParts(sms, reference, this.config);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(pdus).then(allAccepted);
  }

  /**
   * MtLink: queues an encoded message's parts. When a part fails, the others still run to their
   * end so that the error can tell which parts the SMSC accepted (those must never be resent).
   */
  async submit(message: MtMessage): Promise<MtSubmitResult> {
    const pdus = mtSubmitParts(message, this.config);
    const outcomes = await this.enqueue(pdus);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    const ids = outcomes.map((o) => (o.status === "fulfilled" ? o.value : null));
    if (failed === undefined) return { smscMessageIds: ids as string[] };
    const cause = failed.reason as Error;
    const retryable = !(cause instanceof SmppSubmitError && isPermanentRefusal(cause.status));
    throw new MtSubmitError(cause.message, retryable, ids, { cause });
  }

  /**
   * Sends one ready-made submit_sm (a USSD screen: its TLVs are the caller's) ahead of queued bulk
   * parts; resolves with the SMSC's message_id once it accepts it. Same window, throttling and
   * at-least-once resend after a lost response as every other part, but never sent later than
   * `maxAgeMs` from now (a screen that waited out a reconnect could land in a new session that
   * reuses its session number): then it fails with SmppUnavailableError.
   */
  async submitPdu(pdu: smpp.PduOptions, options: { maxAgeMs?: number } = {}): Promise<string> {
    const sendByMs = options.maxAgeMs === undefined ? null : Date.now() + options.maxAgeMs;
    const [outcome] = await this.enqueue([pdu], { urgent: true, sendByMs });
    if (outcome!.status === "rejected") throw outcome!.reason;
    return outcome!.value;
  }

  onReceipt(handler: ReceiptHandler): () => void {
    const listener = (pdu: smpp.PDU) => {
      const receipt = parseDeliveryReceipt(pdu, this.config.id);
      if (receipt !== null) handler(receipt);
    };
    this.on("deliver", listener);
    return () => void this.off("deliver", listener);
  }

  private enqueue(pdus: smpp.PduOptions[], how: Pick<PartJob, "urgent" | "sendByMs"> = { urgent: false, sendByMs: null }): Promise<PromiseSettledResult<string>[]> {
    if (this.linkState === "closing" || this.linkState === "closed") return Promise.reject(new SmppUnavailableError("link closed"));
    if (this.queue.length + pdus.length > this.config.maxQueued) {
      return Promise.reject(new SmppUnavailableError(`queue full (${this.config.maxQueued} parts)`));
    }
    const parts = pdus.map(
      (pdu) =>
        new Promise<string>((resolve, reject) => {
          const settle = (o: PartOutcome) => ("error" in o ? reject(o.error) : resolve(o.messageId));
          const job: PartJob = { order: this.nextOrder++, ...how, pdu, timeouts: 0, settle };
          if (job.urgent) this.queue.splice(this.firstBulkIndex(), 0, job);
          else this.queue.push(job);
        }),
    );
    this.pump();
    return Promise.allSettled(parts);
  }

  /** Where an urgent part joins the queue: behind the urgent ones already there, ahead of the rest. */
  private firstBulkIndex(): number {
    const index = this.queue.findIndex((job) => !job.urgent);
    return index === -1 ? this.queue.length : index;
  }

  /** Refuses what is still queued, lets the window drain, unbinds and closes the socket. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.setState("closing");
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pumpTimer);
    for (const job of this.queue.splice(0)) job.settle({ error: new SmppUnavailableError("link closed") });
    // Each in-flight part settles by its response, its timeout or the connection's close.
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, CLOSE_POLL_MS));
    await this.unbind();
    this.generation++;
    this.setState("closed");
  }

  private unbind(): Promise<void> {
    const session = this.session;
    if (session === null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => session.destroy(), this.config.responseTimeoutMs);
      session.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (!session.send(new smpp.PDU("unbind"), () => session.close())) session.destroy();
    });
  }

  private setState(state: LinkState): void {
    if (this.linkState === state) return;
    this.linkState = state;
    this.emit("state", state);
  }

  private connect(): void {
    const generation = ++this.generation;
    this.setState("connecting");
    this.open(this.config).then(
      (session) => this.onBoundGuarded(generation, session),
      (error: Error) => this.onConnectFailed(generation, error),
    );
  }

  /**
   * onBound, whose throw would reject a promise nobody awaits: an unhandled rejection, which ends
   * a Node process. The session is dropped instead and the link reconnects, as after any error.
   */
  private onBoundGuarded(generation: number, session: smpp.Session): void {
    try {
      this.onBound(generation, session);
    } catch (error) {
      this.emit("linkError", error instanceof Error ? error : new Error(String(error)));
      const adopted = this.session === session; // its 'close' handler reconnects
      session.destroy();
      if (!adopted) this.onConnectFailed(generation, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private onBound(generation: number, session: smpp.Session): void {
    if (generation !== this.generation || this.linkState !== "connecting") {
      session.destroy();
      return;
    }
    this.session = session;
    this.reconnectAttempt = 0;
    session.on("close", () => this.onClose(generation));
    // A PDU that does not parse (a truncated TLV …) is answered with an error status and the
    // session goes on: dropping it made the SMSC deliver the same PDU again after the reconnect,
    // for ever. One whose length leaves the stream unreadable is answered and the session
    // destroyed (smpp-framing.ts); its 'close' requeues the window and reconnects, as any error's.
    session.on("bad_pdu", (bad: BadPdu) => this.emit("badPdu", bad));
    // Something threw while a PDU was handled (a 'deliver' listener …): the reader caught it and
    // destroyed the session; its 'close' requeues the window and reconnects (smpp-framing.ts).
    session.on("pdu_failed", (failure: PduFailure) => this.emit("pduFailed", failure));
    session.on("error", (error: Error) => {
      this.emit("linkError", error);
      session.destroy();
    });
    session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
    // Answered at once so that the SMSC's window never stalls on us; making MO messages and
    // receipts durable before the answer is the job of the MO handler, not of this link. An SMSC
    // may deliver with data_sm as well (SMPP 3.4 §4.7): left unanswered, it resent them or, its
    // window full, dropped the session, and its receipts were never read. The work a delivery
    // sets going runs on after the answer: with inboundWindow of it running, the SMSC is told
    // ESME_RTHROTTLED (it delivers again later), else it could keep any number running at once.
    const deliver = (pdu: smpp.PDU) => {
      if (this.inboundWork.held >= this.config.inboundWindow) {
        this.throttledPdus++;
        return void session.send(pdu.response({ command_status: ESME_RTHROTTLED }));
      }
      session.send(pdu.response());
      this.emit("deliver", pdu, this.holdWork);
    };
    session.on("deliver_sm", deliver);
    session.on("data_sm", deliver);
    // Every other request (query_sm, replace_sm, cancel_sm, submit_sm … or a command id the
    // package does not know) gets its *_resp ESME_RINVCMDID, or generic_nack (SMPP 3.4 §4.3):
    // left unanswered, the SMSC waited each out with a window slot taken. alert_notification and
    // outbind have no response and are let go.
    session.on("pdu", (pdu: smpp.PDU) => {
      if (SERVED_REQUESTS.has(pdu.command)) return;
      const refusal = refusalOf(pdu, ESME_RINVCMDID);
      if (refusal) session.send(refusal);
    });
    session.on("unbind", (pdu: smpp.PDU) => {
      session.send(pdu.response());
      session.close();
    });
    this.keepAlive = new EnquireLinkKeepAlive(session, this.config.enquireLinkIntervalMs, this.config.responseTimeoutMs, (error) =>
      this.emit("linkError", error),
    );
    this.keepAlive.start();
    this.setState("bound");
    // openBoundSession hands the session over paused: what the SMSC sent after its bind_resp (an
    // enquire_link, a deliver_sm) is read now that it has its handlers, not before (unanswered).
    session.resume();
    this.pump();
  }

  private onConnectFailed(generation: number, error: Error): void {
    if (generation !== this.generation || this.linkState !== "connecting") return;
    if (error instanceof SmppBindError) this.emit("bindFailed", error);
    else this.emit("connectFailed", error);
    this.scheduleReconnect();
  }

  private onClose(generation: number): void {
    if (generation !== this.generation) return;
    this.generation++;
    this.session = null;
    this.keepAlive?.stop();
    this.keepAlive = undefined;
    clearTimeout(this.overdueTimer);
    this.overdueTimer = undefined;
    const jobs: PartJob[] = [];
    for (const entry of this.inFlight.values()) {
      clearTimeout(entry.timer);
      // A part that went unanswered maxAttempts times fails; the rest go again after the reconnect.
      if (entry.overdue && entry.job.timeouts >= this.config.maxAttempts) {
        entry.job.settle({ error: new SmppTimeoutError("submit_sm_resp", this.config.responseTimeoutMs) });
      } else {
        jobs.push(entry.job);
      }
    }
    this.inFlight.clear();
    this.requeue(jobs);
    if (this.linkState === "bound") this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delayMs = backoffDelayMs(this.reconnectAttempt++, this.config.reconnectBackoff, this.random);
    this.setState("reconnecting");
    this.emit("reconnecting", delayMs);
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Sends queued parts while the window has room, unless the SMSC asked us to slow down. */
  private pump(): void {
    const session = this.session;
    if (session === null || this.linkState !== "bound") return;
    // An answer is overdue: this session may be dead, and a part sent now could need sending again.
    if (this.overdueTimer !== undefined) return;
    const waitMs = this.throttledUntilMs - Date.now();
    if (waitMs > 0) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = setTimeout(() => this.pump(), waitMs);
      return;
    }
    if (this.inFlight.size < this.config.windowSize && this.queue.length > 0) this.corkUntilNextTick(session);
    while (this.inFlight.size < this.config.windowSize && this.queue.length > 0) {
      const job = this.queue.shift()!;
      if (job.sendByMs !== null && Date.now() > job.sendByMs) {
        job.settle({ error: new SmppUnavailableError("not sent in time: dropped") });
        continue;
      }
      // Not writable means the socket is half closed or gone: keep the part, and destroy the
      // socket so that its 'close' surely comes, requeues the window and starts the reconnect.
      if (!this.sendPart(session, job)) {
        this.queue.unshift(job);
        session.destroy();
        return;
      }
    }
  }

  /**
   * Holds the socket's writes until the current tick ends, so that the PDUs sent for a batch of
   * responses (which arrive together in one read) leave in one write instead of one each.
   */
  private corkUntilNextTick(session: smpp.Session): void {
    if (this.corked) return;
    const socket = session.socket;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  private sendPart(session: smpp.Session, job: PartJob): boolean {
    const pdu = new smpp.PDU("submit_sm", job.pdu);
    const generation = this.generation;
    const sent = session.send(pdu, (response) => this.onSubmitResponse(generation, pdu.sequence_number, response));
    if (!sent) return false;
    const sequence = pdu.sequence_number;
    const timer = setTimeout(() => this.onSubmitTimeout(generation, sequence), this.config.responseTimeoutMs);
    this.inFlight.set(sequence, { job, timer, overdue: false });
    return true;
  }

  private onSubmitResponse(generation: number, sequence: number, response: smpp.PDU): void {
    const entry = generation === this.generation ? this.inFlight.get(sequence) : undefined;
    if (entry === undefined) return; // the connection died (its parts were requeued)
    clearTimeout(entry.timer);
    this.inFlight.delete(sequence);
    // A late answer (overdue) settles its part like a timely one: the SMSC accepted that copy, and
    // none other was sent. Once no answer is overdue, the session is trusted again.
    if (this.overdueTimer !== undefined && ![...this.inFlight.values()].some((e) => e.overdue)) {
      clearTimeout(this.overdueTimer);
      this.overdueTimer = undefined;
    }
    const status = responseStatus(response);
    if (status === ESME_ROK) {
      this.throttleStreak = 0;
      const messageId = typeof response.message_id === "string" ? response.message_id : "";
      entry.job.settle({ messageId });
    } else if (isThrottle(status)) {
      // Flow control, not failure: the part waits without using up its attempts; the bounded
      // queue is what limits how much can pile up behind a slow SMSC.
      this.throttledPdus++;
      this.slowDown(status);
      this.requeue([entry.job]);
    } else {
      entry.job.settle({ error: new SmppSubmitError(status) });
    }
    this.pump();
  }

  /**
   * A submit_sm_resp is overdue. Sending the part again on this session would give the subscriber
   * two SMS whenever the SMSC is merely slow (it accepts both copies; the first answer used to be
   * thrown away when it came). So the part stays in the window, where a late answer settles it,
   * and the session sends nothing more; if some answer is still overdue another responseTimeoutMs
   * later, the session is taken for dead and destroyed: its close requeues the unanswered parts
   * and the link reconnects (the part goes again, at-least-once, as after any lost connection).
   */
  private onSubmitTimeout(generation: number, sequence: number): void {
    const entry = generation === this.generation ? this.inFlight.get(sequence) : undefined;
    if (entry === undefined || entry.overdue) return;
    entry.overdue = true;
    entry.job.timeouts++;
    const session = this.session;
    if (this.overdueTimer !== undefined || session === null) return;
    this.emit("linkError", new SmppTimeoutError("submit_sm_resp", this.config.responseTimeoutMs));
    this.overdueTimer = setTimeout(() => {
      this.overdueTimer = undefined;
      if (generation === this.generation) session.destroy();
    }, this.config.responseTimeoutMs);
  }

  /** Pauses all sending; a throttle that arrives after the last pause ended lengthens the next one. */
  private slowDown(status: number): void {
    const now = Date.now();
    if (now < this.throttledUntilMs) return;
    const delayMs = backoffDelayMs(this.throttleStreak++, this.config.throttleBackoff, this.random);
    this.throttledUntilMs = now + delayMs;
    this.emit("throttled", status, delayMs);
  }

  /** Puts parts back at the head of the queue in submission order, or refuses them when closing. */
  private requeue(jobs: PartJob[]): void {
    if (this.linkState === "closing" || this.linkState === "closed") {
      for (const job of jobs) job.settle({ error: new SmppUnavailableError("link closed") });
      return;
    }
    jobs.sort((a, b) => a.order - b.order);
    this.queue.unshift(...jobs);
  }
}
