/**
 * Runs the configured links: a client (SmppClient) per enabled client link (its deliver_sm go to
 * the inbound dispatcher, USSD screens back as submit_sm on it), and for server links
 * the accounts our listener accepts binds for plus a ServerLink that sends deliver_sm to the
 * bound telco. It is also the LinkDirectory the outbound pipeline routes by: longest matching
 * MSISDN prefix among enabled links. reload() applies configuration changes made through the
 * admin API: changed links are stopped and started again, removed ones stopped.
 */
import type smpp from "smpp";
import type { LinkDirectory, LinkState, MtLink, MtMessage, MtRoute, MtSubmitResult, ReceiptHandler } from "../mt-link.js";
import { InboundWork, SmppClient } from "../smpp-client.js";
import type { SmppClientOptions } from "../smpp-client-config.js";
import type { BoundSession } from "../server/bound-session.js";
import { ServerLink } from "../server/server-link.js";
import { SmppListener, type InboundAnswer, type ServerAccount } from "../server/smpp-listener.js";
import { RateMeter } from "../server/throughput.js";
import { clientReplies } from "../ussd/ussd-reply-links.js";
import type { InboundDispatcher } from "./inbound.js";
import type { SqlLinkStore } from "./link-store.js";
import type { LinkPasswordSealer } from "./secrets.js";
import { publicConfig, type LinkConfig, type StoredLink } from "./types.js";

export interface LinkManagerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LinkManagerDeps {
  store: SqlLinkStore;
  /** Opens client links' sealed passwords; without it client links cannot start. */
  sealer: LinkPasswordSealer | null;
  logger: LinkManagerLogger;
  /** Where telcos bind (server mode); without it server links are configured but unreachable. */
  listen?: { port: number; host?: string };
  /** Overrides for every client link (tests shorten timeouts and back-off). */
  clientDefaults?: Partial<SmppClientOptions>;
  /** How often the table is read again, so that other instances' admin changes apply here too. */
  reloadEveryMs?: number;
}

const DEFAULT_RELOAD_EVERY_MS = 30_000;

/** What the admin endpoint shows of a running link. */
export interface LinkStatus {
  id: string;
  mode: LinkConfig["mode"];
  enabled: boolean;
  state: LinkState | "disabled" | "not_started";
  bound: boolean;
  reconnecting: boolean;
  boundSessions: number;
  inboundPerS: number;
  outboundPerS: number;
  throttled: number;
  queueDepth: number;
  problem: string | null;
}

interface Running {
  stored: StoredLink;
  link: MtLink | null;
  client: SmppClient | null;
  inbound: RateMeter;
  outbound: RateMeter;
  problem: string | null;
}

/** Counts what a client link sends, for its status. */
class CountingLink implements MtLink {
  constructor(
    private readonly inner: SmppClient,
    private readonly meter: RateMeter,
  ) {}
  get id(): string {
    return this.inner.id;
  }
  async submit(message: MtMessage): Promise<MtSubmitResult> {
    const result = await this.inner.submit(message);
    this.meter.add(message.parts.length);
    return result;
  }
  state(): LinkState {
    return this.inner.state();
  }
  onReceipt(handler: ReceiptHandler): () => void {
    return this.inner.onReceipt(handler);
  }
}

const sameClientAccount = (a: StoredLink, b: StoredLink) =>
  a.mode === "client" && a.institutionId === b.institutionId && a.systemId === b.systemId && a.host?.toLowerCase() === b.host?.toLowerCase();

const fingerprint = (l: StoredLink) => JSON.stringify({ ...l, createdAt: 0, updatedAt: l.updatedAt.getTime() });

export class SmsLinkManager implements LinkDirectory {
  private readonly running = new Map<string, Running>();
  /**
   * Links being restarted after a configuration change, with their new configuration: they keep
   * routing (a message for them waits, see restarting()) rather than fail as unroutable.
   */
  private readonly restarts = new Map<string, { stored: StoredLink; done: Promise<void> }>();
  private listener: SmppListener | null = null;
  private dispatcher: InboundDispatcher | null = null;
  private listenPort: number | null = null;
  /** Reloads run one at a time: two admin changes at once must not start a link twice. */
  private reloading: Promise<void> = Promise.resolve();
  private reloadTimer: NodeJS.Timeout | undefined;
  /**
   * Each client link's deliveries in work, kept across its restarts (SmppClientDeps.inboundWork):
   * per link, as each is one bind with its own window at the SMSC. Dropped when a stopped link has
   * none left. (A server link's count is its account's, kept by the listener.)
   */
  private readonly clientInbound = new Map<string, InboundWork>();

  constructor(private readonly deps: LinkManagerDeps) {}

  /** The inbound dispatcher needs the link directory (replies), so it is attached after both exist. */
  attach(dispatcher: InboundDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** Loads the links, starts the client links and, if configured, the listener; resolves with its port. */
  async start(): Promise<number | null> {
    if (this.deps.listen) {
      this.listener = new SmppListener({
        account: (systemId) => this.account(systemId),
        onInbound: (link, pdu, from) => this.inboundFromServer(link, pdu, from),
        logger: this.deps.logger,
      });
      this.listenPort = await this.listener.listen(this.deps.listen.port, this.deps.listen.host);
      this.deps.logger.info({ port: this.listenPort }, "smpp listener ready");
    }
    await this.reload();
    this.reloadTimer = setInterval(() => {
      this.reload().catch((error: unknown) => this.deps.logger.warn({ err: (error as Error).message }, "sms links not reloaded"));
    }, this.deps.reloadEveryMs ?? DEFAULT_RELOAD_EVERY_MS);
    this.reloadTimer.unref();
    return this.listenPort;
  }

  /** Applies the stored configuration: starts new links, restarts changed ones, stops removed ones. */
  reload(): Promise<void> {
    const next = this.reloading.then(() => this.apply());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async apply(): Promise<void> {
    const stored = await this.deps.store.list();
    const ids = new Set(stored.map((l) => l.id));
    for (const [id, run] of this.running) if (!ids.has(id)) await this.stop(id, run);
    for (const link of stored) {
      const current = this.running.get(link.id);
      if (current && fingerprint(current.stored) === fingerprint(link)) continue;
      if (current) await this.restart(current, link);
      else this.running.set(link.id, this.launch(link));
    }
  }

  /**
   * Stops a changed link and starts it with its new configuration. Meanwhile (closing drains the
   * old connection's window, up to twice its response timeout) the link is marked as restarting:
   * messages routed to it wait for it instead of failing "not configured" or "no SMS link reaches
   * this number", each failure using one of the message's outbox attempts.
   */
  private async restart(current: Running, next: StoredLink): Promise<void> {
    let done!: () => void;
    this.restarts.set(next.id, { stored: next, done: new Promise<void>((resolve) => (done = resolve)) });
    try {
      await this.stop(next.id, current);
      this.running.set(next.id, this.launch(next));
    } finally {
      this.restarts.delete(next.id);
      done();
    }
  }

  restarting(id: string): Promise<void> | undefined {
    return this.restarts.get(id)?.done;
  }

  async close(): Promise<void> {
    clearInterval(this.reloadTimer);
    await this.reloading;
    for (const [id, run] of this.running) await this.stop(id, run);
    await this.listener?.close();
  }

  route(msisdn: string, institutionId?: string | null): MtRoute | null {
    let best: { stored: StoredLink; length: number } | null = null;
    // A link restarting routes by its new configuration: its messages wait for it (restarting()).
    const candidates = [...[...this.running.values()].flatMap((run) => (run.link ? [run.stored] : [])), ...[...this.restarts.values()].map((r) => r.stored)];
    for (const stored of candidates) {
      if (!stored.enabled) continue;
      // Each link serves its own bank's customers: another bank's would carry our customer's
      // message over its SMSC account, from its short code.
      if (institutionId && stored.institutionId !== institutionId) continue;
      for (const prefix of stored.msisdnPrefixes) {
        if (msisdn.startsWith(prefix) && (!best || prefix.length > best.length)) best = { stored, length: prefix.length };
      }
    }
    if (!best) return null;
    const from = best.stored.shortCodes[0];
    return from ? { linkId: best.stored.id, from } : { linkId: best.stored.id };
  }

  link(id: string): MtLink | undefined {
    return this.running.get(id)?.link ?? undefined;
  }

  /** Every running link, so that receipts are heard from each (a reload may replace them). */
  links(): MtLink[] {
    return [...this.running.values()].flatMap((run) => (run.link ? [run.link] : []));
  }

  /**
   * A client link's SMSC account is its system_id at its host, for one institution: the links
   * configured so are binds of one account, and the SMSC may deliver a receipt on any of them. The
   * port does not count: an SMSC often takes receiver binds on a port of its own. A server link
   * is an account of its own (its system_id is unique; all the telco's binds to it are the link).
   */
  sameAccount(id: string): string[] {
    const self = this.running.get(id)?.stored ?? this.restarts.get(id)?.stored;
    if (self?.mode !== "client") return [id];
    const peers = [...this.running.values()].filter((run) => run.stored.id !== id && sameClientAccount(run.stored, self)).map((run) => run.stored.id);
    return [id, ...peers];
  }

  rateLimitPerSecond(id: string): number | null {
    return this.running.get(id)?.stored.throughputPerS ?? null;
  }

  config(id: string): LinkConfig | null {
    const run = this.running.get(id);
    return run ? publicConfig(run.stored) : null;
  }

  status(): LinkStatus[] {
    return [...this.running.values()].map((run) => this.statusOf(run));
  }

  private statusOf(run: Running): LinkStatus {
    const { stored } = run;
    const base = { id: stored.id, mode: stored.mode, enabled: stored.enabled, problem: run.problem };
    if (!stored.enabled || !run.link) {
      return { ...base, state: stored.enabled ? "not_started" : "disabled", bound: false, reconnecting: false, boundSessions: 0, inboundPerS: 0, outboundPerS: 0, throttled: 0, queueDepth: 0 };
    }
    if (run.client) {
      const s = run.client.stats();
      return {
        ...base,
        state: s.state,
        bound: s.bound,
        reconnecting: s.reconnecting,
        boundSessions: s.bound ? 1 : 0,
        inboundPerS: run.inbound.perSecond(),
        outboundPerS: run.outbound.perSecond(),
        throttled: s.throttled,
        queueDepth: s.inFlight + s.queued,
      };
    }
    const s = this.listener?.stats(stored.id) ?? { boundSessions: 0, inboundPerS: 0, outboundPerS: 0, throttled: 0, queueDepth: 0 };
    return { ...base, state: s.boundSessions > 0 ? "bound" : "idle", bound: s.boundSessions > 0, reconnecting: false, ...s };
  }

  private account(systemId: string): ServerAccount | null {
    for (const run of this.running.values()) {
      const l = run.stored;
      if (l.mode === "server" && l.enabled && l.systemId === systemId && l.passwordHash) return { link: publicConfig(l), passwordHash: l.passwordHash };
    }
    return null;
  }

  private async inboundFromServer(link: LinkConfig, pdu: smpp.PDU, from: BoundSession): Promise<InboundAnswer> {
    const via = this.running.get(link.id)?.link;
    if (!this.dispatcher || !(via instanceof ServerLink)) return { status: 0x08 }; // ESME_RSYSERR: the telco retries
    return this.dispatcher.fromServer(link, pdu, via, from);
  }

  private launch(stored: StoredLink): Running {
    const run: Running = { stored, link: null, client: null, inbound: new RateMeter(), outbound: new RateMeter(), problem: null };
    if (!stored.enabled) return run;
    if (stored.mode === "server") {
      if (!this.listener) run.problem = "no SMPP listener: set FINGATE_SMPP_PORT";
      else run.link = new ServerLink(stored.id, this.listener);
      return run;
    }
    const password = stored.passwordSealed && this.deps.sealer ? this.deps.sealer.open(stored.passwordSealed, stored.id) : null;
    if (password === null) {
      run.problem = "the client password cannot be opened: FINGATE_SMS_SECRET_KEY is missing or changed";
      this.deps.logger.error({ link: stored.id }, "sms client link not started");
      return run;
    }
    const inboundWork = this.clientInbound.get(stored.id) ?? new InboundWork();
    this.clientInbound.set(stored.id, inboundWork);
    const client = new SmppClient(
      {
        ...this.deps.clientDefaults,
        id: stored.id,
        host: stored.host!,
        port: stored.port!,
        systemId: stored.systemId,
        password,
        systemType: stored.systemType,
      },
      { inboundWork },
    );
    const config = publicConfig(stored);
    const ussdReplies = clientReplies(client, () => run.outbound.add(1));
    client.on("deliver", (pdu, hold) => {
      run.inbound.add();
      if (this.dispatcher) hold(this.dispatcher.fromClient(config, pdu, ussdReplies));
    });
    client.on("bindFailed", (error) => this.deps.logger.warn({ link: stored.id, err: error.message }, "sms client link bind refused"));
    // Without these a link that cannot reach its SMSC, or loses it, showed only in its state.
    client.on("connectFailed", (error) => this.deps.logger.warn({ link: stored.id, err: error.message.slice(0, 200) }, "sms client link could not connect"));
    client.on("linkError", (error) => this.deps.logger.warn({ link: stored.id, err: error.message.slice(0, 200) }, "sms client link error: reconnecting"));
    // Already answered, or (a response) settled by its header: logged so that the SMSC's fault shows.
    client.on("badPdu", (bad) =>
      this.deps.logger.warn({ link: stored.id, ...bad }, bad.answered === null ? "smpp response not readable: settled by its header" : "smpp pdu not readable: answered with an error"),
    );
    // Handling one of its PDUs threw: the session was closed and the link reconnects (smpp-framing.ts).
    client.on("pduFailed", (failure) => this.deps.logger.error({ link: stored.id, ...failure }, "smpp pdu handling failed: session closed"));
    client.start();
    run.client = client;
    run.link = new CountingLink(client, run.outbound);
    return run;
  }

  private async stop(id: string, run: Running): Promise<void> {
    this.running.delete(id);
    if (run.client) await run.client.close();
    if (this.clientInbound.get(id)?.held === 0) this.clientInbound.delete(id);
    if (run.stored.mode === "server") this.listener?.dropLink(id);
  }
}
