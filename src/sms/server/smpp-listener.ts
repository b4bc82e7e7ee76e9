/**
 * The SMPP listener where telcos bind to us (server mode). Each telco has an account (system_id,
 * hashed password, how many binds at once, a throughput cap). Before a bind only bind and
 * enquire_link are answered; after it, submit_sm and deliver_sm from the telco are inbound
 * messages (MO, USSD, receipts), answered once the handler has made them durable.
 *
 * A refused bind says ESME_RINVPASWD whether the system_id is unknown, the password wrong or the
 * address not on the link's allow-list, so a caller learns nothing about which accounts exist;
 * the log says which. Addresses that keep failing are refused without a check (BindGuard).
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { INTERFACE_VERSION_34 } from "../smpp-bind.js";
import { readPdusSafely, refusalOf, type BadPdu, type PduFailure } from "../smpp-framing.js";
import { ESME_RBINDFAIL, ESME_RINVPASWD, ESME_ROK, ESME_RTHROTTLED } from "../smpp-status.js";
import type { LinkConfig } from "../links/types.js";
import { verifyLinkPassword, dummyLinkPasswordHash } from "../links/secrets.js";
import { BindGuard, type BindGuardOptions } from "./bind-guard.js";
import { BoundSession, type BindMode } from "./bound-session.js";
import { ESME_RALYBND, ESME_RINVBNDSTS, ESME_RINVCMDID, ESME_RSYSERR } from "./status-codes.js";
import { RateMeter, TokenBucket } from "./throughput.js";


export interface ServerAccount {
  link: LinkConfig;
  passwordHash: string;
}

export interface ListenerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How an inbound PDU is answered, and the work it set going that outlasts the answer. */
export interface InboundAnswer {
  status: number;
  /**
   * A command run, a USSD hop: the PDU keeps its place in the session's inbound window until this
   * settles, so the window bounds the work in flight, not only the PDUs not yet answered.
   */
  work?: Promise<unknown>;
}

export interface ListenerDeps {
  /** The server account a telco binds with, or null; disabled links are not accounts. */
  account(systemId: string): ServerAccount | null;
  /**
   * An inbound submit_sm / deliver_sm from a bound telco. Resolves with the command_status to
   * answer (ESME_ROK once the message is durable) and the work still running; the message id is ours.
   */
  onInbound(link: LinkConfig, pdu: smpp.PDU, from: BoundSession, messageId: string): Promise<InboundAnswer>;
  logger: ListenerLogger;
  /** Our system_id in bind responses. */
  systemId?: string;
  windowSize?: number;
  responseTimeoutMs?: number;
  bindGuard?: Partial<BindGuardOptions>;
  /** How long a connection may stay without a bind before it is dropped (default 30 s). */
  bindTimeoutMs?: number;
  /**
   * How many of a session's inbound PDUs may be in hand at once, from their arrival until the
   * work they set going has finished (default 50); beyond it they are answered ESME_RTHROTTLED.
   * An account holds at most this times its maxBinds, across all the binds it has had.
   */
  inboundWindow?: number;
}

const BIND_MODES: Record<string, BindMode> = {
  bind_transceiver: "transceiver",
  bind_transmitter: "transmitter",
  bind_receiver: "receiver",
};

const INBOUND = new Set(["submit_sm", "deliver_sm", "data_sm"]);
const MAX_SYSTEM_ID = 16;
const MAX_PASSWORD = 9;
/**
 * SMPP's session_init_timer: a connection that has not bound by then is dropped. Without it one
 * that never binds (or sends a PDU header the package cannot get past, such as a length of 4, or
 * was refused and ignores our FIN) held its socket for good, and anyone could hold thousands.
 */
const DEFAULT_BIND_TIMEOUT_MS = 30_000;
/**
 * SMPP's window: a peer keeps at most this many requests unanswered. Without a bound a telco on a
 * link without a throughput cap could send any number of submit_sm at once, each running its
 * database work (rate limit, the MO log) at the same moment, and use up the pool for everyone.
 * Telcos' SMSCs use windows of 10 to 50 and take ESME_RTHROTTLED as "send again later". A PDU
 * counts until its work is over (InboundAnswer.work), not only until it is answered: an MO command
 * or a USSD hop runs on after the ESME_ROK, and a telco that got its answers quickly could
 * otherwise keep any number of them running at once.
 *
 * The window is the account's (the link's system_id), not the socket's: the work of a session's
 * PDUs outlives the session, so a telco that unbound, dropped its connection or was dropped by an
 * account change, and bound again, got a fresh window while the old work still ran, and could
 * keep any number running by binding again and again. The account holds at most the window times
 * its maxBinds (what its binds may hold at once, each its own SMPP window) counting the work of
 * binds gone, and each bind at most the window, so one bind cannot take its siblings' share.
 */
const DEFAULT_INBOUND_WINDOW = 50;

interface LinkTraffic {
  bucket: TokenBucket | null;
  inbound: RateMeter;
  outbound: RateMeter;
  throttled: number;
}

export class SmppListener {
  private readonly server: smpp.Server;
  private readonly bound = new Map<string, Set<BoundSession>>();
  private readonly traffic = new Map<string, LinkTraffic>();
  /** The configuration each bound link was bound with; dropLink forgets it. */
  private readonly linkConfigs = new Map<string, LinkConfig>();
  /**
   * Each account's inbound PDUs in hand, from all its sessions, live or gone (DEFAULT_INBOUND_WINDOW).
   * Not forgotten by dropLink: the work goes on after its sessions are dropped. An entry goes at 0.
   */
  private readonly accountInbound = new Map<string, number>();
  private readonly guard: BindGuard;

  constructor(private readonly deps: ListenerDeps) {
    this.server = smpp.createServer((session) => this.accept(session));
    this.guard = new BindGuard(deps.bindGuard);
  }

  listen(port: number, host = "0.0.0.0"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Unbinds nothing politely: closing the gateway drops the telcos' sockets, and they rebind. */
  close(): Promise<void> {
    for (const session of this.server.sessions.slice()) session.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  sessions(linkId: string): BoundSession[] {
    return [...(this.bound.get(linkId) ?? [])];
  }

  stats(linkId: string): { boundSessions: number; inboundPerS: number; outboundPerS: number; throttled: number; queueDepth: number } {
    const t = this.traffic.get(linkId);
    const sessions = this.sessions(linkId);
    return {
      boundSessions: sessions.length,
      inboundPerS: t?.inbound.perSecond() ?? 0,
      outboundPerS: t?.outbound.perSecond() ?? 0,
      throttled: t?.throttled ?? 0,
      queueDepth: sessions.reduce((n, s) => n + s.depth(), 0),
    };
  }

  countOutbound(linkId: string): void {
    this.trafficOf(linkId, null).outbound.add();
  }

  /**
   * The link's account changed or went away: its sessions are dropped, its cap reset. Destroyed,
   * not closed: after our FIN a peer that ignores it could go on sending on the half-closed socket,
   * and its PDUs were heard again as the link's once the telco bound anew (with a rotated password).
   */
  dropLink(linkId: string): void {
    for (const s of this.sessions(linkId)) {
      s.markClosed();
      s.session.destroy();
    }
    this.bound.delete(linkId);
    this.traffic.delete(linkId);
    this.linkConfigs.delete(linkId);
  }

  private trafficOf(linkId: string, capPerS: number | null): LinkTraffic {
    let t = this.traffic.get(linkId);
    if (!t) {
      t = { bucket: capPerS ? new TokenBucket(capPerS) : null, inbound: new RateMeter(), outbound: new RateMeter(), throttled: 0 };
      this.traffic.set(linkId, t);
    }
    // An entry made by outbound counting alone has no bucket yet; the link's cap must still apply.
    if (capPerS && !t.bucket) t.bucket = new TokenBucket(capPerS);
    return t;
  }

  private accept(session: smpp.Session): void {
    session.socket.setNoDelay(true);
    let bound: BoundSession | null = null;
    let binding = false;
    const unbound = setTimeout(() => {
      if (!bound) session.destroy();
    }, this.deps.bindTimeoutMs ?? DEFAULT_BIND_TIMEOUT_MS).unref();
    // A PDU that does not parse is answered and reading goes on; one whose length makes the stream
    // unreadable is answered and the session destroyed (smpp-framing.ts). 'error' is the socket's.
    readPdusSafely(session);
    session.on("bad_pdu", (bad: BadPdu) =>
      this.deps.logger.warn(
        { link: bound?.linkId ?? null, ...bad },
        bad.answered === null ? "smpp response not readable: settled by its header" : "smpp pdu not readable: answered with an error",
      ),
    );
    // Something threw while a PDU was handled: the reader has destroyed the session (its 'close'
    // unbinds it), and the process goes on. Logged without the PDU's body or the error's message.
    session.on("pdu_failed", (failure: PduFailure) =>
      this.deps.logger.warn({ link: bound?.linkId ?? null, address: remoteAddress(session), ...failure }, "smpp pdu handling failed: session closed"),
    );
    session.on("error", () => session.destroy());
    session.on("close", () => {
      clearTimeout(unbound);
      if (bound) this.unbound(bound);
    });
    session.on("pdu", (pdu: smpp.PDU) => {
      if (pdu.isResponse()) return;
      // What we do not serve is answered with an error (refusalOf); alert_notification and outbind
      // have no response: building one threw in the reader and, uncaught, ended the process.
      const refuse = (status: number) => {
        const refusal = refusalOf(pdu, status);
        if (refusal) return void session.send(refusal);
        this.deps.logger.warn({ link: bound?.linkId ?? null, command: pdu.command, sequenceNumber: pdu.sequence_number }, "smpp request that has no response ignored");
      };
      const mode = BIND_MODES[pdu.command];
      if (mode) {
        if (bound || binding) return void session.send(pdu.response({ command_status: ESME_RALYBND }));
        binding = true;
        session.pause();
        this.bind(session, pdu, mode)
          .catch(() => {
            session.send(pdu.response({ command_status: ESME_RSYSERR }), () => session.close());
            return null;
          })
          .then((b) => {
            bound = b;
            binding = false;
            if (!b) return;
            clearTimeout(unbound);
            session.resume();
          });
        return;
      }
      if (pdu.command === "enquire_link") return void session.send(pdu.response());
      if (pdu.command === "unbind") {
        // Once answered the session is over: nothing more from it is heard, its bind is given
        // back, and the socket goes even if the peer keeps its side open (it was only closed, and
        // a submit_sm sent after the unbind still ran as the link's MO).
        if (bound) this.unbound(bound);
        bound = null;
        if (!session.send(pdu.response(), () => session.destroy())) session.destroy();
        return;
      }
      // An unknown command id is that, bound or not (SMPP 3.4 §4.3: generic_nack ESME_RINVCMDID).
      if (!bound) return refuse(pdu.command === "unknown" ? ESME_RINVCMDID : ESME_RINVBNDSTS);
      if (INBOUND.has(pdu.command)) {
        // A receiver-only bind may not submit: the wrong bind state, not an unknown command.
        return void (bound.canTransmit ? this.inbound(bound, pdu) : session.send(pdu.response({ command_status: ESME_RINVBNDSTS })));
      }
      refuse(ESME_RINVCMDID);
    });
  }

  private unbound(session: BoundSession): void {
    session.markClosed();
    this.bound.get(session.linkId)?.delete(session);
    this.deps.logger.info({ link: session.linkId }, "smpp telco unbound");
  }

  /** Checks the account and answers the bind; a refused bind closes the connection. */
  private async bind(session: smpp.Session, pdu: smpp.PDU, mode: BindMode): Promise<BoundSession | null> {
    const address = remoteAddress(session);
    if (!this.guard.begin(address)) {
      this.deps.logger.warn({ address }, "smpp bind refused unchecked: too many failures from this address, or too many binds at once");
      session.send(pdu.response({ command_status: ESME_RBINDFAIL }), () => session.close());
      return null;
    }
    let checked: { status: number; account: ServerAccount | null } = { status: ESME_RINVPASWD, account: null };
    try {
      checked = await this.check(pdu, address);
    } finally {
      // A right password counts as a success even when the link holds all its binds already.
      this.guard.end(address, checked.account !== null);
    }
    const { status, account } = checked;
    // The telco may have hung up while the password was checked: nothing to bind then.
    if (session.socket.destroyed) return null;
    const ours = { system_id: this.deps.systemId ?? "fingate", sc_interface_version: INTERFACE_VERSION_34 };
    if (status !== ESME_ROK || !account) {
      session.send(pdu.response({ command_status: status, system_id: ours.system_id }), () => session.close());
      return null;
    }
    const bound = new BoundSession(account.link.id, mode, session, this.deps.windowSize ?? 10, this.deps.responseTimeoutMs ?? 10_000);
    let set = this.bound.get(account.link.id);
    if (!set) this.bound.set(account.link.id, (set = new Set()));
    set.add(bound);
    this.linkConfigs.set(account.link.id, account.link);
    this.trafficOf(account.link.id, account.link.throughputPerS);
    session.send(pdu.response(ours));
    this.deps.logger.info({ link: account.link.id, mode }, "smpp telco bound");
    return bound;
  }

  /**
   * ESME_ROK, or ESME_RALYBND when the link holds all the binds it may (both with the account), or
   * ESME_RINVPASWD for every other refusal.
   */
  private async check(pdu: smpp.PDU, address: string): Promise<{ status: number; account: ServerAccount | null }> {
    const systemId = typeof pdu.system_id === "string" ? pdu.system_id : "";
    const password = typeof pdu.password === "string" ? pdu.password : "";
    const account = systemId.length > 0 && systemId.length < MAX_SYSTEM_ID ? this.deps.account(systemId) : null;
    // Unknown ids are checked against a dummy hash too, so timing does not tell which ids exist.
    const passwordOk = password.length < MAX_PASSWORD && (await verifyLinkPassword(password, account?.passwordHash ?? (await dummyLinkPasswordHash())));
    // The account as it is now: it may have changed during the check (its password rotated, the
    // link disabled, its sessions dropped), and a bind on the old one would outlive the change.
    const current = account ? this.deps.account(systemId) : null;
    const unchanged = current !== null && current.passwordHash === account!.passwordHash;
    const allowed = current !== null && (current.link.ipAllowList.length === 0 || current.link.ipAllowList.includes(address));
    const reason = !account ? "unknown system_id" : !passwordOk ? "wrong password" : !unchanged ? "account changed during the check" : !allowed ? "address not allowed" : null;
    if (reason) {
      this.deps.logger.warn({ systemId: systemId.slice(0, 16), address, reason }, "smpp bind refused");
      return { status: ESME_RINVPASWD, account: null };
    }
    const full = (this.bound.get(current!.link.id)?.size ?? 0) >= current!.link.maxBinds;
    if (full) this.deps.logger.warn({ link: current!.link.id }, "smpp bind refused: the link holds all the binds it may");
    return { status: full ? ESME_RALYBND : ESME_ROK, account: current };
  }

  private inbound(from: BoundSession, pdu: smpp.PDU): void {
    const account = this.linkConfigs.get(from.linkId);
    // A session the link no longer holds (dropped since it bound) speaks for nobody.
    if (!account || !this.bound.get(from.linkId)?.has(from)) return void from.session.send(pdu.response({ command_status: ESME_RBINDFAIL }));
    const traffic = this.trafficOf(from.linkId, account.throughputPerS);
    if (traffic.bucket && !traffic.bucket.take()) {
      traffic.throttled++;
      return void from.session.send(pdu.response({ command_status: ESME_RTHROTTLED }));
    }
    const window = this.deps.inboundWindow ?? DEFAULT_INBOUND_WINDOW;
    const accountHeld = this.accountInbound.get(from.linkId) ?? 0;
    if (accountHeld >= window * Math.max(1, account.maxBinds) || !from.takeInbound(window)) {
      traffic.throttled++;
      return void from.session.send(pdu.response({ command_status: ESME_RTHROTTLED }));
    }
    this.accountInbound.set(from.linkId, accountHeld + 1);
    traffic.inbound.add();
    const messageId = randomUUID();
    this.deps
      .onInbound(account, pdu, from, messageId)
      .then(
        ({ status, work }) => {
          from.session.send(pdu.response(status === ESME_ROK ? { message_id: messageId } : { command_status: status }));
          return work;
        },
        () => void from.session.send(pdu.response({ command_status: ESME_RSYSERR })),
      )
      .catch(() => undefined) // the work's failure is logged by whoever runs it
      .finally(() => {
        from.releaseInbound();
        this.releaseAccountInbound(from.linkId);
      });
  }

  private releaseAccountInbound(linkId: string): void {
    const held = (this.accountInbound.get(linkId) ?? 1) - 1;
    if (held > 0) this.accountInbound.set(linkId, held);
    else this.accountInbound.delete(linkId);
  }
}

/** The peer's IP address, IPv4-mapped IPv6 written as IPv4 (allow-lists are written that way). */
function remoteAddress(session: smpp.Session): string {
  const ip = session.socket.remoteAddress ?? "";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
