/**
 * USSD sessions carried in SMPP PDUs (ussd_service_op TLV), fed to the same hop processor, menu
 * engine and session store as the HTTP dialects. The network opens a session with a "begin" op
 * (PSSR indication by default) holding the dial string, and sends each answer with a "continue"
 * op (USSR confirm); we reply with USSR request to continue or PSSR response to end. Which ops
 * and which field names the session are the link's vendor options.
 *
 * Both link modes share all of it. They differ only in the carriage: on a server link the telco's
 * submit_sm brings the USSD and our screens go back as deliver_sm; on a client link (we are bound
 * to the operator's USSD gateway) its deliver_sm brings it and our screens go out as submit_sm.
 * The caller reads the inbound PDU and passes the UssdReplyLink that sends the right command.
 *
 * Channels never import each other, so the hop processor arrives through the UssdHops port,
 * which src/ussd's HopProcessor meets; the composition root passes it in.
 */
import { randomUUID } from "node:crypto";
import type smpp from "smpp";
import type { LinkConfig, UssdOptions } from "../links/types.js";
import type { InboundMessage } from "../server/inbound-pdu.js";
import { shortcutOf } from "../../menus/index.js";
import { IdleSessions, type IdleSessionsOptions, type LastHop } from "./idle-sessions.js";
import { encodeUssdText } from "./ussd-text.js";

/** What a screen says when the channel cannot serve the hop at all (no USSD channel, a failed store). */
const UNAVAILABLE = "Service unavailable";
/** its_session_info's sequence is 7 bits. */
const SEQUENCE_CYCLE = 128;
/**
 * A session waiting for the subscriber is ended this long before its record's idle TTL would drop
 * it (at 150 s of the default 180: networks time USSD dialogs out sooner). Twice RESCAN_EVERY_MS,
 * so that a session whose process stopped is found by a rescan before its record lapses.
 */
const IDLE_END_MARGIN_MS = 30_000;
/**
 * Where this channel's sessions are kept: aggregator `smpp-<link id>`. The Redis store indexes
 * these keys by expiry (USSD_INDEXED_PREFIXES in src/ussd/gateway.ts names the same prefix).
 */
const SMPP_KEY_PREFIX = "smpp-";
/** Sessions found by one scan at most (IdleSessions' own bound by default). */
const MAX_ADOPTED = 100_000;
/**
 * How often the store is scanned for sessions no process waits for. A session whose process
 * stopped is found at the first scan after that, and ended in time if that scan comes before its
 * due moment. On Redis a rescan reads the `smpp-` sessions' expiry index, so it costs the
 * sessions due, not the keyspace; the start-up scan walks the keyspace (SCAN MATCH, about 1 ms
 * per thousand keys), see adoptOpenSessions.
 */
const RESCAN_EVERY_MS = 15_000;

export interface UssdHopRequest {
  aggregator: string;
  sessionId: string;
  msisdn: string;
  serviceCode: string;
  mode: "single";
  text: string;
  hopKey: string;
  /** its_session_info's sequence (7 bits, so seqModulo 128): an older PDU re-sent late runs nothing. */
  seq?: number;
  seqModulo?: number;
  shortcut?: string[];
  /** A begin, its predecessor ended: a session found is the predecessor's, replaced (HopRequest.fresh). */
  fresh?: boolean;
}

/** What src/ussd's HopProcessor offers, as this channel needs it. */
export interface UssdHops {
  /** stale: the PDU was older than the last one answered, and ran nothing; replayed: it was the last one again. */
  handle(req: UssdHopRequest): Promise<{ end: boolean; text: string; stale?: true; replayed?: true }>;
  /** With unlessLastHop: keeps a session still open whose last answered hop had that key. */
  /** With keepClosed: the ended record stays, closed, until it lapses (a late PDU of the session hears that it ended). */
  endSession(aggregator: string, sessionId: string, reason?: "abort" | "timeout", unlessLastHop?: string, options?: { keepClosed?: boolean }): Promise<void>;
  /** Meters as timed out a session whose last answered hop is still lastHop, and forgets it; false when its lock was busy. */
  endIdleSession(aggregator: string, sessionId: string, lastHop: LastHop): Promise<boolean>;
  /** The sessions still open under keys (`${aggregator}:${sessionId}`) with this prefix: what a stopped process left. */
  openSessions?(keyPrefix: string, max: number, expiringBeforeMs?: number): Promise<{ key: string; msisdn: string; hopDigest: string; expiresAtMs: number }[]>;
  /** How long a session's record outlives its last hop. */
  readonly idleTtlSec: number;
  /** The bank the hops serve (FINGATE_USSD_INSTITUTION_ID); unset: any link's. */
  readonly institutionId?: string;
}

/**
 * Carries one of our screens back to the network on the link the session came in on (see
 * ussd-reply-links.ts: deliver_sm on a server link, submit_sm on a client link). The PDU's fields
 * and TLVs are the same in both modes.
 */
export interface UssdReplyLink {
  sendUssd(pdu: smpp.PduOptions): Promise<unknown>;
}

export interface UssdLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The session a PDU belongs to and its place in it. */
interface SessionRef {
  sessionId: string;
  /** its_session_info's sequence number, or null when the vendor has none. */
  sequence: number | null;
  sessionNumber: number;
  /** The network flagged the end of the session. */
  ended: boolean;
}

function sessionOf(m: InboundMessage, options: UssdOptions, msisdn: string): SessionRef | null {
  if (options.sessionField === "its_session_info") {
    if (!m.itsSessionInfo) return null;
    const [number, tail] = [m.itsSessionInfo[0]!, m.itsSessionInfo[1]!];
    return { sessionId: `${msisdn}:${number}`, sequence: tail >> 1, sessionNumber: number, ended: (tail & 1) === 1 };
  }
  if (m.userMessageReference === null) return null;
  return { sessionId: `${msisdn}:${m.userMessageReference}`, sequence: null, sessionNumber: m.userMessageReference, ended: false };
}

/** Whether the hops serve the link's bank: USSD over SMPP runs the USSD channel's bank's menu only. */
function servesBankOf(hops: UssdHops, link: LinkConfig): boolean {
  return hops.institutionId === undefined || hops.institutionId.toLowerCase() === link.institutionId.toLowerCase();
}

/** A USSD PDU read for its hop: the link it came on, its subscriber, session and op. */
interface InboundHop {
  link: LinkConfig;
  options: UssdOptions;
  m: InboundMessage;
  msisdn: string;
  session: SessionRef;
  op: number;
  begin: boolean;
  aggregator: string;
}

export interface UssdOverSmppDeps {
  hops: UssdHops | null;
  logger: UssdLogger;
  /** Overrides for ending sessions the subscriber left (tests); endAfterMs defaults to the idle TTL less a margin. */
  idle?: Partial<Omit<IdleSessionsOptions, "onError">>;
  /** How often the store is scanned for sessions no process waits for (default 15 s; 0: at start-up only). */
  rescanEveryMs?: number;
}

export class UssdOverSmpp {
  /** Sessions answered with a continue, until their next PDU: ended as timed out when none comes. */
  private readonly idle: IdleSessions | null;
  /** The scan for sessions a stopped process left waiting, while one runs. */
  private adopting: Promise<void> | null = null;
  private rescan: NodeJS.Timeout | null = null;
  private watching = false;
  private closed = false;
  /** How long before its record lapses a waiting session is ended. */
  private readonly marginMs: number;
  /**
   * Sessions with hops under way here: how many, and how many times the network ended the session
   * or began a new one on its number meanwhile. A hop whose session ended while it ran sends no
   * screen: it would reach a dialog that is gone or, the number being reused, the next dial.
   */
  private readonly underway = new Map<string, { hops: number; generation: number }>();

  constructor(private readonly deps: UssdOverSmppDeps) {
    const hops = deps.hops;
    const endAfterMs = deps.idle?.endAfterMs ?? Math.max(1_000, (hops?.idleTtlSec ?? 0) * 1_000 - IDLE_END_MARGIN_MS);
    this.idle = hops
      ? new IdleSessions(hops, {
          ...deps.idle,
          endAfterMs,
          onError: (error, aggregator, session) => deps.logger.warn({ aggregator, session, err: error instanceof Error ? error.message : String(error) }, "ussd idle session not ended"),
        })
      : null;
    this.marginMs = (hops?.idleTtlSec ?? 0) * 1_000 - endAfterMs;
  }

  /**
   * Starts looking for sessions no process waits for (adoptOpenSessions): at once, then every
   * `rescanEveryMs`. Called once a link speaks USSD (the gateway at start-up, or the first USSD
   * PDU), so a gateway without USSD over SMPP never scans the store. Idempotent.
   */
  watchForOrphans(): void {
    const hops = this.deps.hops;
    if (this.watching || this.closed || !hops?.openSessions || !this.idle) return;
    this.watching = true;
    const scan = (overdueOnly: boolean) => this.scanForOrphans(hops, this.idle!, this.marginMs, overdueOnly);
    scan(false);
    const every = this.deps.rescanEveryMs ?? RESCAN_EVERY_MS;
    if (every > 0) this.rescan = setInterval(() => scan(true), every).unref();
  }

  /** One scan for sessions no process waits for, unless one is under way. */
  private scanForOrphans(hops: UssdHops, idle: IdleSessions, marginMs: number, overdueOnly: boolean): void {
    if (this.adopting) return;
    this.adopting = this.adoptOpenSessions(hops, idle, marginMs, overdueOnly).finally(() => (this.adopting = null));
  }

  /**
   * Takes over the SMPP sessions that no process waits for: those a process that stopped (a
   * restart, a deploy, a crash) left waiting for their subscriber. Each is ended as timed out when
   * it would have been had that process stayed (its record's expiry less the margin), unless it
   * moves on first. At start-up every open session is taken (the end is under the session's lock
   * and checks its last hop, so one a live instance also tracks is ended once). Then every
   * `rescanEveryMs` (`overdueOnly`), only the sessions already past their end: no live process
   * ended them, so theirs stopped, maybe while this one ran (a rolling deploy); with the margin
   * twice the rescan period, a scan finds each such session before its record lapses.
   */
  private async adoptOpenSessions(hops: UssdHops, idle: IdleSessions, marginMs: number, overdueOnly: boolean): Promise<void> {
    try {
      // A rescan reads the values of the overdue sessions only (those within the margin of
      // lapsing), on Redis through the store's expiry index. The start-up scan asks for every open
      // session, which on Redis walks the keyspace: it also finds sessions that no index lists,
      // those written by a release that kept none (stopped before this one started, docs/sms.md).
      const before = overdueOnly ? Date.now() + marginMs + 1 : undefined;
      const open = await hops.openSessions!(SMPP_KEY_PREFIX, this.deps.idle?.maxTracked ?? MAX_ADOPTED, before);
      let adopted = 0;
      for (const s of open) {
        // `smpp-<link>:<msisdn>:<number>`: a link id has no "+", an E.164 number starts with one.
        const at = s.key.lastIndexOf(`:${s.msisdn}:`);
        if (at > 0 && idle.adopt(s.key.slice(0, at), s.key.slice(at + 1), s.hopDigest, s.expiresAtMs - marginMs)) adopted += 1;
      }
      if (adopted === 0) return;
      // Those already due (found late) are ended now, in one sweep, rather than a sweep period later.
      idle.sweep();
      this.deps.logger.info({ sessions: adopted }, "ussd sessions no process waited for taken over");
    } catch (error) {
      this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "ussd sessions left open not taken over");
    }
  }

  /** Stops watching for sessions the subscriber left (those still waiting are left to the next process). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.rescan) clearInterval(this.rescan);
    this.rescan = null;
    await this.adopting;
    await this.idle?.close();
  }

  /** Whether a PDU is USSD for this link (it carries the TLV and the link speaks USSD). */
  static applies(link: LinkConfig, m: InboundMessage): boolean {
    return link.ussd !== null && m.ussdServiceOp !== null;
  }

  async handle(link: LinkConfig, m: InboundMessage, reply: UssdReplyLink): Promise<void> {
    const options = link.ussd!;
    const op = m.ussdServiceOp!;
    const aggregator = `${SMPP_KEY_PREFIX}${link.id}`;
    this.watchForOrphans();
    const session = m.msisdn ? sessionOf(m, options, m.msisdn) : null;
    if (!session || !m.msisdn) return this.deps.logger.warn({ link: link.id, op }, "ussd pdu without subscriber or session: ignored");
    const hops = this.deps.hops;
    const key = `${aggregator}:${session.sessionId}`;
    if (options.abortOps.includes(op) || (session.ended && !options.beginOps.includes(op))) {
      this.supersede(key);
      this.idle?.over(aggregator, session.sessionId);
      // Kept closed, not deleted: a continue of the dialog delivered after the network's end hears
      // that it ended instead of being taken for a lost session and metered again. The session
      // number comes back, but only under a begin, which ends (deletes) whatever it finds and
      // opens its own session (endPrevious, fresh), as it does after our own END's closed record.
      if (hops) await hops.endSession(aggregator, session.sessionId, "abort", undefined, { keepClosed: true });
      return;
    }
    const begin = options.beginOps.includes(op);
    if (!begin && !options.continueOps.includes(op)) return this.deps.logger.warn({ link: link.id, op }, "ussd op not configured for this link: ignored");
    // A begin opens a new dialog on the number: screens still being computed for the old one must not reach it.
    if (begin) this.supersede(key);
    const generation = this.hopStarted(key);
    const current = () => this.underway.get(key)?.generation === generation;
    let sent: boolean;
    try {
      sent = await this.answerHop({ link, options, m, msisdn: m.msisdn, session, op, begin, aggregator }, reply, current);
    } finally {
      this.hopEnded(key);
    }
    if (!sent) this.deps.logger.info({ link: link.id, op }, "ussd screen not sent: the network ended the session while it was computed");
  }

  /** The network ended the session, or began another on its number: hops under way answer nobody. */
  private supersede(key: string): void {
    const entry = this.underway.get(key);
    if (entry) entry.generation += 1;
  }

  private hopStarted(key: string): number {
    const entry = this.underway.get(key) ?? { hops: 0, generation: 0 };
    entry.hops += 1;
    this.underway.set(key, entry);
    return entry.generation;
  }

  private hopEnded(key: string): void {
    const entry = this.underway.get(key);
    if (entry && --entry.hops === 0) this.underway.delete(key);
  }

  /** Runs the hop and sends its screen unless the session ended meanwhile (`current()` false); resolves with whether it went. */
  private async answerHop(pdu: InboundHop, reply: UssdReplyLink, current: () => boolean): Promise<boolean> {
    const { link, options, m, msisdn, session, op, begin, aggregator } = pdu;
    const hops = this.deps.hops;
    let answer: { end: boolean; text: string; stale?: true; replayed?: true };
    if (!hops) answer = { end: true, text: UNAVAILABLE };
    else if (!servesBankOf(hops, link)) {
      // Another bank's link: its subscribers must not meet our bank's menu (nor self-register
      // with our bank on its short code). Nothing runs; the session ends at once.
      this.deps.logger.warn({ link: link.id }, "ussd on a link of another institution than the USSD channel's: refused");
      answer = { end: true, text: UNAVAILABLE };
    } else {
      // A re-delivered PDU (same sequence) gets the stored answer; without sequences every PDU is new.
      // A begin's key holds its dial string: a new dial reusing the session number is not its
      // predecessor re-delivered, even when it comes soon after.
      const dialed = begin ? `:${m.text}` : "";
      const hopKey = session.sequence !== null ? `${op}:${session.sequence}${dialed}` : randomUUID();
      // Session numbers are reused: a begin starts afresh under its number, unless it is the very
      // begin the open session last answered (re-delivered), which gets that answer again below.
      // A begin whose predecessor could not be ended must not run on that session (it would
      // continue its flow, payee and all): it is answered END, not left to the network's timeout.
      const ended = !begin || (await this.endPrevious(hops, link, aggregator, session.sessionId, hopKey));
      // The network released the dialog (or began another on its number) while the predecessor was
      // being ended: its end has already run, so a hop run now would leave a session open, unmetered.
      if (!current()) return false;
      answer = !ended ? { end: true, text: UNAVAILABLE } : await hops.handle({
        aggregator,
        sessionId: session.sessionId,
        msisdn,
        serviceCode: options.serviceCode,
        mode: "single",
        text: begin ? "" : m.text,
        hopKey,
        // Numbered hops: a PDU re-sent late (its acknowledgement lost) is older than the last one
        // answered, and must not run as input to the current screen.
        ...(session.sequence !== null ? { seq: session.sequence, seqModulo: SEQUENCE_CYCLE } : {}),
        shortcut: begin ? shortcutOf(m.text, options.serviceCode) : undefined,
        // The predecessor was just ended; should a hop of it under way elsewhere write it back, the begin still opens its own.
        ...(begin ? { fresh: true } : {}),
      });
      if (!current()) return false;
      if (answer.end) this.idle?.over(aggregator, session.sessionId);
      // A stale or replayed PDU stored nothing: the record lapses as its last write set, so the wait stays as it was.
      else if (!answer.stale && !answer.replayed) this.idle?.answered(aggregator, session.sessionId, hopKey);
    }
    if (!current()) return false;
    await reply.sendUssd(this.replyPdu(options, m, session, answer));
    return true;
  }

  /** Ends the session a begin reuses the number of; false when the store failed. */
  private async endPrevious(hops: UssdHops, link: LinkConfig, aggregator: string, sessionId: string, hopKey: string): Promise<boolean> {
    try {
      await hops.endSession(aggregator, sessionId, "abort", hopKey);
      return true;
    } catch (error) {
      this.deps.logger.warn({ link: link.id, err: error instanceof Error ? error.message : String(error) }, "ussd session end failed");
      return false;
    }
  }

  /** From the service code the network addressed, to the subscriber: the inbound PDU's addresses swapped. */
  private replyPdu(options: UssdOptions, m: InboundMessage, session: SessionRef, answer: { end: boolean; text: string }): smpp.PduOptions {
    const { dataCoding, payload } = encodeUssdText(answer.text, options.gsmDataCoding);
    const pdu: smpp.PduOptions = {
      source_addr_ton: 0,
      source_addr_npi: 0,
      source_addr: m.to,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: m.msisdn!.slice(1),
      esm_class: 0,
      data_coding: dataCoding,
      short_message: payload,
      ussd_service_op: answer.end ? options.endReplyOp : options.continueReplyOp,
    };
    if (options.sessionField === "its_session_info") {
      const sequence = ((session.sequence ?? 0) + 1) & 0x7f;
      pdu.its_session_info = Buffer.from([session.sessionNumber, (sequence << 1) | (answer.end ? 1 : 0)]);
    } else {
      pdu.user_message_reference = session.sessionNumber;
    }
    return pdu;
  }
}
