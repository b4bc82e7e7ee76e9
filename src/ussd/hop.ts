/**
 * One USSD hop, whatever the dialect: serialize the session's hops, answer a retried hop with the
 * reply it already got (and an older hop delivered late with the current screen, running nothing),
 * page, run the menu engine, render, store. Dialects only parse and format.
 */
import { createHmac } from "node:crypto";
import type { LockedValue, SessionWrite } from "../menus/engine/session-store.js";
import { asciiDigits, MAX_SHORTCUT_SEGMENTS, movesMoney, writesState, type Language, type MenuContext, type MenuState, type Message, type Reply, type StepResult } from "../menus/index.js";
import { DEFAULT_BUDGET, type ScreenBudget } from "./gsm.js";
import { KeyedMutex } from "./mutex.js";
import { BACK_INPUT, MORE_INPUT } from "./pager.js";
import { DEFAULT_HOP_LIMITS, type EndedUssdSession, type HopDeps, type HopLimits, type HopReply, type HopRequest, type OpenSession } from "./hop-types.js";
import { renderMessage, renderPages } from "./render.js";
import { decodeRecord, encodeRecord, type SessionRecord } from "./session-record.js";

/** What a hop learns while it runs, for its log line and its over-budget answer. */
interface HopState {
  /** The input answered a PIN prompt: nothing of it is logged. */
  secretInput: boolean;
  /** The hop runs a PIN step that moves money (send, withdraw, cash-in, cash-out, approval). */
  movesMoney: boolean;
  /** The hop runs another step that changes something (a PIN, a registration, a setting). */
  writes: boolean;
  /** The hop holds the session's lock: it no longer waits behind another hop, here or on another instance. */
  locked: boolean;
  /** An older hop than the last answered one, delivered late: its input (for some earlier screen) is not logged. */
  stale: boolean;
  /** The last answered hop again (the aggregator's retry): its stored answer, nothing written. */
  replayed?: boolean;
  /** The hop's answer ended the session and stored it closed (metered). */
  closed: boolean;
  /** The session's language, once the hop has read its state: the hop's own answers (over budget, failure) use it. */
  lang?: Language;
  /** Once the hop has read the session: the digest of its last answered hop then (null: there was no session). */
  seenHop?: string | null;
  /**
   * The hop was refused as no hop of this session (Africa's Talking: a text that does not extend
   * the last answered one; any dialect: the continuation of a session unknown here). Answered END: nothing
   * runs, and its input (an answer to no screen of ours) is not logged. The telco carried that END
   * and bills the session: out of order, the session's record notes it (refusedEnd) and is metered
   * with it when it ends; expired, the session is closed and metered as that one screen.
   */
  refused?: "out of order" | "expired";
}

/** How endSession leaves a session it ends. */
export interface EndOptions {
  /**
   * Keep its record, closed, until its idle TTL lapses, instead of deleting it: a hop of it
   * delivered late hears that the session has ended and is not metered again (without the record
   * it would be a session unknown here, metered as one of its own). Every network's end uses it:
   * Africa's Talking and Hubtel never hand an id out again; the generic dialect and USSD over SMPP
   * do, but a new session under a reused id always comes with a marked first hop, which replaces a
   * closed record (the generic begin: HopRequest.reusesIds; the SMPP begin ends it first and is
   * `fresh`). A begin that ends its predecessor (unlessLastHop) still deletes it.
   */
  keepClosed?: boolean;
  /**
   * The network's account of a session that had one hop only (Africa's Talking's notice:
   * `hopsCount` 1). Found without a record, that hop ended in our error END before it could read
   * the store (Redis down, busy), and the hop itself could not tell a shortcut dial's first text
   * from a lost session's continuation: the session is metered here as that one screen, with no
   * customer, and kept closed (with keepClosed) so a repeated notice meters nothing more. Only
   * under the session's lock: a lock held elsewhere is that hop still under way, which meters the
   * session itself (endOnce waits it out, or fails and the notice is retried).
   */
  lone?: { msisdn: string; networkCode?: string; startedAtMs: number };
}

/** How long a begin that ends its predecessor waits for the lock held elsewhere before going ahead without it. */
const END_LOCK_WAIT_MS = 500;

/** A begin re-delivered later than this after the session opened is taken for a new session. */
const REDELIVERY_WINDOW_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a rewrite under the session's lock writes, and what follows once the writes are in. */
interface Rewrite {
  writes: SessionWrite[];
  applied?: () => void;
}
const NO_REWRITE: Rewrite = { writes: [] };

export class HopProcessor {
  private readonly mutex = new KeyedMutex();
  /** Meterings of ended sessions still running (they do not hold up the answer). */
  private readonly metering = new Set<Promise<void>>();
  /** Closes after our error END still trying (closeAfterErrorEnd): drain waits for them. */
  private readonly closing = new Set<Promise<void>>();
  /**
   * Sessions (keys) whose hop in this process runs a money step, until its commit is over: a hop
   * queued behind it (the aggregator's retry) that overruns its budget cannot say no money moved.
   */
  private readonly moneyInFlight = new Set<string>();
  /**
   * The language of sessions (keys) whose hop in this process has read their state, until that hop
   * is over: a hop queued behind it that overruns its budget answers in the customer's language.
   */
  private readonly languages = new Map<string, { msisdn: string; lang: Language }>();
  private readonly limits: HopLimits;
  private readonly budget: ScreenBudget;

  constructor(private readonly deps: HopDeps) {
    this.limits = { ...DEFAULT_HOP_LIMITS, ...deps.limits };
    this.budget = deps.budget ?? DEFAULT_BUDGET;
  }

  async handle(received: HopRequest): Promise<HopReply> {
    const req = withAsciiDigits(received);
    const key = `${req.aggregator}:${req.sessionId}`;
    const started = Date.now();
    const hop: HopState = { secretInput: false, movesMoney: false, writes: false, locked: false, stale: false, closed: false };
    let answered!: (reply: HopReply) => void;
    const early = new Promise<HopReply>((resolve) => (answered = resolve));
    const queued = this.mutex.run(key, () => this.locked(key, req, hop, answered));
    let reply: HopReply;
    if (!queued) reply = this.plain(this.languageOf(key, req.msisdn, hop), "err.busy", true);
    else {
      const answer = await withinBudget(Promise.race([early, queued]), this.limits.hopBudgetMs);
      reply = answer ?? this.plain(this.languageOf(key, req.msisdn, hop), this.overBudget(key, hop), true);
      if (!answer) this.deps.logger.warn({ aggregator: req.aggregator, session: req.sessionId, ms: Date.now() - started }, "ussd hop over budget");
    }
    // An out-of-order refusal leaves the session open (a spurious hop must not end it): its record notes the END.
    if (reply.end && !hop.closed && hop.refused !== "out of order") {
      this.closeAfterErrorEnd(key, req, hop.seenHop, started, hop.refused === "expired" ? "err.session_expired" : "err.session_ended");
    }
    const input = hop.secretInput ? "[pin]" : hop.stale ? "[stale]" : hop.refused ? `[${hop.refused}]` : redactedInput(req);
    this.deps.logger.info(
      { aggregator: req.aggregator, session: req.sessionId, input, end: reply.end, ms: Date.now() - started },
      "ussd hop",
    );
    if (hop.stale) return { ...reply, stale: true };
    return hop.replayed ? { ...reply, replayed: true } : reply;
  }

  /**
   * The language of a hop's own answers: the customer's, as the session's state (read by this hop,
   * or by the hop of the session running in this process) knows it; else the institution's.
   */
  private languageOf(key: string, msisdn: string, hop: HopState): Language {
    const running = this.languages.get(key);
    // Another number on this session id learns nothing of it.
    return hop.lang ?? (running?.msisdn === msisdn ? running.lang : undefined) ?? this.deps.menu.defaultLanguage;
  }

  /**
   * What a hop past the aggregator's budget says; it must be true whatever happens next. Only a
   * money step's PIN hop moves money, and its retry (same derived transfer id) will tell the
   * outcome: that hop, or one queued here behind it (a retry), says to check the balance. A hop
   * still waiting for the session's lock cannot know what the hop ahead of it (maybe on another
   * instance) is doing, so it only says that the last request is still being worked on. Any other
   * hop holds the lock and runs no money step: nothing of this session moves money meanwhile,
   * though a step that writes something else (a PIN change) may still make its change.
   */
  private overBudget(key: string, hop: HopState): string {
    if (hop.movesMoney || this.moneyInFlight.has(key)) return "err.payment_unknown";
    if (hop.writes) return "err.outcome_unknown";
    return hop.locked ? "err.unavailable" : "err.busy";
  }

  /**
   * The aggregator says the session is over: meter it unless an END already did, then forget it
   * (with keepClosed, as every network's end asks: keep it closed until it lapses).
   * With `unlessLastHop`, a session still open whose last answered hop was that one is kept: a
   * network that numbers sessions restarts one with a "begin", and a begin it re-delivers (our
   * response was lost) must get the same answer again, not end the session it opened and meter it.
   */
  async endSession(aggregator: string, sessionId: string, reason: EndedUssdSession["endReason"] = "abort", unlessLastHop?: string, options: EndOptions = {}): Promise<void> {
    const key = `${aggregator}:${sessionId}`;
    const once = () => this.endOnce(key, aggregator, sessionId, reason, unlessLastHop, options);
    const ending = this.mutex.run(key, async () => {
      // A refused write (our lock lapsed and another hop took the session on) is read again and
      // ended afresh: the network's end stands. Twice refused, the caller fails and the notice is retried.
      if (!(await once()) && !(await once())) {
        throw new Error("ussd session end not applied: other hops kept taking the session over");
      }
    });
    // Too many hops already queued on the session (a client hammering it): the end is not dropped
    // in silence, which would leave the session unmetered; the caller fails, and the aggregator's
    // notice is retried (Africa's Talking: a 500), a begin answered END.
    if (ending === null) throw new Error("ussd session busy: its end was not applied");
    await ending;
  }

  /**
   * One try at endSession's work in the session's turn here; false when the store refused the write.
   * Under the session's lock, so a hop under way on another instance finishes first and its write
   * is not undone by ours, nor ours by its (the session would come back open). A begin that ends its
   * predecessor waits briefly (it must still be answered within the budget); an end notice waits as
   * a hop does. Should the lock stay busy (a lock left by a crashed instance lives 10 s), the end
   * goes ahead without it rather than be lost. Metered once the end is written, so a session that goes on is not metered yet.
   */
  private async endOnce(key: string, aggregator: string, sessionId: string, reason: EndedUssdSession["endReason"], unlessLastHop: string | undefined, options: EndOptions): Promise<boolean> {
    // A begin that ends its predecessor has a caller waiting for its answer: a short wait. A
    // network's end notice can wait as long as a hop would for the session: a hop under way on
    // another instance (a slow first hop, the very reason the network gave up) commits its record
    // first, and this end then deletes it and meters it, instead of the hop writing it back open.
    // A one-hop session's notice waits until any holder's lock would have lapsed: see below.
    const waitMs = unlessLastHop !== undefined ? Math.min(this.limits.lockWaitMs, END_LOCK_WAIT_MS) : options.lone ? this.limits.lockTtlMs + this.limits.lockWaitMs : this.limits.lockWaitMs;
    const lock = await this.lockWaiting(key, undefined, waitMs);
    const stored = decodeRecord(lock ? lock.value : await this.deps.sessions.get(key));
    // A lone session is metered from the notice only under the lock. Without it, the holder is that
    // very hop, still under way (a stalled database): it writes its own record after this and meters
    // the session when it ends, from its own start, so a lone metering here (started by the
    // notice's clock: another metering key) charged the session twice. Failing, the notice is retried.
    if (!lock && !stored && options.lone) throw new Error("ussd session end not applied: a hop of the one-hop session kept its lock");
    const record = stored ?? (options.lone ? loneRecord(options.lone) : null);
    const keepClosed = options.keepClosed === true;
    const redelivered = record && !record.closed && unlessLastHop !== undefined && record.hop === this.digest(key, unlessLastHop);
    const keep = redelivered && Date.now() - record.startedAtMs < REDELIVERY_WINDOW_MS;
    const closed = keepClosed && record ? encodeRecord(endedRecord(record)) : null;
    const writes: SessionWrite[] = keep ? [] : [closed ? { key, value: closed, ttlSec: this.limits.idleTtlSec } : { key, value: null }];
    try {
      if (lock && !(await this.commitOrUnlock(key, lock, writes))) return false;
      if (!lock && !keep) await (closed ? this.deps.sessions.set(key, closed, this.limits.idleTtlSec) : this.deps.sessions.delete(key));
    } catch (error) {
      // The write failed, or landed with its reply lost: the notice's retry would then find the
      // session closed (or gone) and meter nothing. The network's end stands whatever the store did,
      // and a session's metering is keyed by its start, so it is metered now and a retry that closes
      // it after all meters the same key again, a no-op. Not a lone session: its start is the
      // notice's clock, another key on each retry (a second charge, were its write lost).
      if (!keep && stored && !stored.closed) this.ended(aggregator, sessionId, stored, reason);
      throw error;
    }
    if (!keep && record && !record.closed) this.ended(aggregator, sessionId, record, reason);
    return true;
  }

  /** The bank whose customers this channel serves: its menu, sessions and registrations are that bank's. */
  get institutionId(): string {
    return this.deps.menu.institutionId;
  }

  /** How long a session's record outlives its last hop (the sessions' idle TTL). */
  get idleTtlSec(): number {
    return this.limits.idleTtlSec;
  }

  /**
   * A session has had no hop since the one answered under `lastHopKey`, and no end notice will
   * come (a USSD-over-SMPP link without one): before its record lapses it is metered as timed
   * out, and forgotten. Under the session's lock, so a session that has moved on (a later hop
   * answered or under way, here or on another instance) is left alone: whoever answers that hop
   * ends it in its turn. false when another instance held the session's lock (a hop under way
   * there, perhaps a stale one that takes nothing over), or took it over while this end's lock
   * lapsed (its write was refused, nothing metered): the caller asks again shortly.
   */
  async endIdleSession(aggregator: string, sessionId: string, lastHop: { hopKey: string } | { hopDigest: string }): Promise<boolean> {
    const key = `${aggregator}:${sessionId}`;
    const digest = "hopDigest" in lastHop ? lastHop.hopDigest : this.digest(key, lastHop.hopKey);
    const ending = this.rewriteLocked(key, (record) => {
      if (!record || record.closed || record.hop !== digest) return NO_REWRITE;
      return { writes: [{ key, value: null }], applied: () => this.ended(aggregator, sessionId, record, "timeout") };
    });
    if (ending === null) throw new Error("ussd session busy: its idle end was not applied");
    return ending;
  }

  /**
   * The sessions still open whose keys start with `keyPrefix` (`${aggregator}:${sessionId}`),
   * with their last hop's digest and what remains of their idle TTL: what a process starting up
   * takes over from one that stopped while they waited for their subscriber. At most `max`; with
   * `expiringBeforeMs`, only those whose record lapses before then.
   */
  async openSessions(keyPrefix: string, max: number, expiringBeforeMs?: number): Promise<OpenSession[]> {
    const stored = await this.deps.sessions.scan(keyPrefix, max, expiringBeforeMs);
    return stored.flatMap(({ key, value, expiresAtMs }) => {
      const record = decodeRecord(value); // null for another version's or a damaged record: skipped
      return record && !record.closed ? [{ key, msisdn: record.msisdn, hopDigest: record.hop, expiresAtMs }] : [];
    });
  }

  /**
   * In the session's turn here and under its lock, the writes `rewrite` makes of its record, then
   * the lock released; its `applied` runs only once those writes are in (a commit refused because
   * the lock lapsed and another hop took the session on applies nothing, so nothing follows from
   * it: no metering of a session that goes on). false when another instance held the lock
   * (nothing was read or written) or the commit was refused; null when the session's queue here is full.
   */
  private rewriteLocked(key: string, rewrite: (record: SessionRecord | null, raw: string | null) => Rewrite): Promise<boolean> | null {
    return this.mutex.run(key, async () => {
      const lock = await this.deps.sessions.lockAndGet(key, this.limits.lockTtlMs);
      if (lock === null) return false;
      let planned: Rewrite = NO_REWRITE;
      let applied = false;
      try {
        planned = rewrite(decodeRecord(lock.value), lock.value);
      } finally {
        applied = await this.deps.sessions.commit(key, lock, planned.writes);
      }
      if (applied) planned.applied?.();
      return applied;
    });
  }

  /**
   * Single-input dialects (Hubtel, generic, SMPP) get no end-of-session notice after our END, so a
   * session one of our error ENDs ended (busy, over budget, a failure) while its record stayed open
   * would never be metered (or, over SMPP, only as an abort when its number comes back). Africa's
   * Talking does send one, but by then the record no longer says that our END was shown: metered
   * from it, the session was billed a stage short of the screens the subscriber saw. So on every
   * dialect, once the hops under way here are over, such a record is closed (a retry of the hop, or
   * any later one, hears that the session has ended) and metered as ended by us, counting that END;
   * a later end notice finds it closed and meters nothing. The record's lock is the once: whoever
   * closes it meters it, and nobody meters a closed record again.
   *
   * A lock held by another instance (its hop of this session under way) is waited for, tried again
   * outside this process's queue for the session until any holder's lock would have lapsed
   * (lockTtlMs, plus a hop's wait): giving up at once, as before 2026-11-30, left a Hubtel or
   * generic session open and unmetered for good (no notice follows our END). Only a process that
   * stops meanwhile still loses the close (logged as the metering's own retries are).
   */
  private closeAfterErrorEnd(key: string, req: HopRequest, seenHop: string | null | undefined, startedAtMs: number, retryAnswer: string): void {
    const deadline = Date.now() + this.limits.lockTtlMs + this.limits.lockWaitMs;
    // What the last try wrote, and its metering: a commit that failed may have landed all the same.
    let lastTry: Rewrite = NO_REWRITE;
    let lastFound: SessionRecord | null = null;
    const rewrite = (record: SessionRecord | null): Rewrite => {
      // The last try's commit failed, its reply lost after the write landed: the session is metered
      // now (the close was ours; another instance's identical close meters it under the same key, a
      // no-op). Before 2026-11-30 the try found it closed and metered nothing. See closeLanded.
      if (closeLanded(lastTry, lastFound, record)) return { writes: [], applied: lastTry.applied };
      lastFound = record;
      lastTry = this.errorEndClose(key, req, record, seenHop, startedAtMs, retryAnswer);
      return lastTry;
    };
    const attempt = async (): Promise<void> => {
      for (;;) {
        // A store that failed (the very failure our END may have answered) is tried again too:
        // giving up at once left the session unmetered after a blip of Redis.
        const tried = await settle(this.rewriteLocked(key, rewrite));
        if (tried.applied === true) return;
        if (Date.now() >= deadline) {
          if (tried.failure !== undefined) throw tried.failure;
          this.deps.logger.warn({ aggregator: req.aggregator, session: req.sessionId }, "ussd session not closed: another instance kept its lock");
          return;
        }
        await sleep(CLOSE_RETRY_MS);
      }
    };
    const closing: Promise<void> = attempt()
      .catch((error: unknown) => this.deps.logger.warn({ err: errorSummary(error), aggregator: req.aggregator, session: req.sessionId }, "ussd session not closed"))
      .finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  /**
   * What closing a session after our error END writes. A session with no record whose hop read
   * none (seenHop null: its first hop failed, or was refused, before any screen was stored) showed
   * that END alone, and the telco bills it all the same: it is stored closed and metered as one
   * stage, from the hop's start. (Before 2026-11-30 it was not metered at all.) So is Africa's
   * Talking's continuation of a session unknown here (err.session_expired: its record lapsed or was
   * evicted, the session unmetered; before 2026-11-30 not metered): one its notice already ended is
   * not unknown, the notice leaves its record closed (endSession's keepClosed). A hop that never
   * read the session (busy, the store down) and finds nothing is metered so only when it can only
   * be a first hop (opensSession; before 2026-11-30 never); any other cannot tell a session that
   * never began from one ended and forgotten meanwhile (a notice that deletes, already metered),
   * and meters nothing: Africa's Talking's notice of a one-hop session meters it then (EndOptions.lone). `retryAnswer` is what a retry of the hop hears (the refusal's own answer
   * again; after a failure, that the session ended).
   */
  private errorEndClose(key: string, req: HopRequest, found: SessionRecord | null, seenHop: string | null | undefined, startedAtMs: number, retryAnswer: string): Rewrite {
    const hop = this.digest(key, req.hopKey);
    // A closed session a generic begin superseded is the previous session's, already metered: this one is new.
    const record = found && supersedes(req, found, hop) ? null : found;
    if (!record) {
      // A hop that never read the session is taken for a session of its own only when it can be nothing else.
      if (seenHop !== null && !(seenHop === undefined && opensSession(req))) return NO_REWRITE;
      const first: SessionRecord = { v: 1, msisdn: req.msisdn, menu: null, reply: { lines: [] }, ends: true, page: 0, consumed: 0, hop, seq: req.seq, nav: 0, closed: false, startedAtMs, network: req.networkCode };
      return this.closeWith(key, req, first, hop, retryAnswer);
    }
    if (record.closed || record.msisdn !== req.msisdn) return NO_REWRITE;
    // A later hop was answered meanwhile (the aggregator's retry, on another instance, while this
    // one overran): the session went on, and the screen that hop showed stands.
    if (seenHop !== undefined && record.hop !== hop && record.hop !== seenHop) return NO_REWRITE;
    // Our END is a screen shown; when the hop stored its own screen (over budget), it stood in for that one.
    const menu = record.menu && record.hop !== hop ? { ...record.menu, stages: record.menu.stages + 1 } : record.menu;
    return this.closeWith(key, req, { ...record, menu }, hop, retryAnswer);
  }

  private closeWith(key: string, req: HopRequest, record: SessionRecord, hop: string, retryAnswer: string): Rewrite {
    // Our END is the session's last screen, counted here: an out-of-order refusal before it is not.
    const { refusedEnd: _superseded, ...open } = record;
    const closed: SessionRecord = { ...open, reply: { lines: [{ key: retryAnswer }] }, ends: true, page: 0, closed: true, hop };
    const writes = [{ key, value: encodeRecord(closed), ttlSec: this.limits.idleTtlSec }];
    return { writes, applied: () => this.ended(req.aggregator, req.sessionId, closed, "end") };
  }

  /** Hands a finished session to the meter without delaying the reply; metering is idempotent per session. */
  private ended(aggregator: string, sessionId: string, record: SessionRecord, endReason: EndedUssdSession["endReason"]): void {
    if (!this.deps.onSessionEnd) return;
    // An agent at work is not charged on the personal wallet its number may also have.
    const customer = record.menu?.agent ? null : (record.menu?.customer ?? null);
    const session: EndedUssdSession = {
      aggregator,
      sessionId,
      msisdn: record.msisdn,
      networkCode: record.network ?? null,
      // The first menu, flow stages, paging hops, and an out-of-order refusal's END if it was the last screen.
      stages: (record.menu?.stages ?? 0) + record.nav + 1 + (record.refusedEnd ? 1 : 0),
      startedAt: new Date(record.startedAtMs),
      // The start was stamped by the instance that opened the session: a clock behind it here
      // must not make the end come first (the meter refuses such a session, and it goes unbilled).
      endedAt: new Date(Math.max(Date.now(), record.startedAtMs)),
      endReason,
      customer: customer ? { id: customer.id, walletAccountId: customer.walletAccountId } : null,
    };
    const metering: Promise<void> = this.meter(session).finally(() => this.metering.delete(metering));
    this.metering.add(metering);
  }

  /**
   * The session to the meter, tried again after a failure (a database blip): the session is stored
   * closed, so no later notice would meter it. Metering is idempotent per session, so a try whose
   * answer was lost is harmless. Only a process that stops meanwhile loses it (logged).
   */
  private async meter(session: EndedUssdSession): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.onSessionEnd!(session);
        return;
      } catch (error) {
        const retryInMs = METER_RETRY_MS[attempt];
        this.deps.logger.warn({ err: errorSummary(error), aggregator: session.aggregator, session: session.sessionId, retryInMs: retryInMs ?? null }, "ussd session not metered");
        if (retryInMs === undefined) return;
        await sleep(retryInMs);
      }
    }
  }

  /**
   * Two round trips to the session store per hop: lock and read (with the caller's resume point
   * when the session is new), then write and unlock. The answer is handed to `answer` as soon as
   * it is known, before the write and unlock: they hold up no reply. Nothing can see the session
   * as it was meanwhile: this process's next hop or end of the session waits in the mutex until
   * this task, commit included, is over, and another instance waits for the lock the commit
   * releases (a crash in between leaves the lock to expire, as a crash mid-hop always did).
   */
  private async locked(key: string, req: HopRequest, hop: HopState, answer: (reply: HopReply) => void): Promise<HopReply> {
    let lock: LockedValue | null = null;
    let writes: SessionWrite[] = [];
    let closes: SessionRecord | undefined;
    let reply: HopReply;
    // Before the lock is asked for: its TTL runs from no earlier than this.
    const lockingAtMs = Date.now();
    try {
      lock = await this.acquire(key, req);
      if (lock === null) {
        hop.lang = await this.storedLanguage(key, req.msisdn);
        reply = this.plain(this.languageOf(key, req.msisdn, hop), "err.busy", true);
      } else {
        hop.locked = true;
        ({ reply, writes, closes } = await this.process(key, req, hop, lock));
      }
    } catch (error) {
      this.deps.logger.error({ err: errorSummary(error), aggregator: req.aggregator, session: req.sessionId }, "ussd hop failed");
      reply = this.plain(this.languageOf(key, req.msisdn, hop), failedAnswer(hop), true);
    }
    answer(reply);
    if (lock !== null) {
      const saved = await this.commitRetrying(key, lock, writes, lockingAtMs).catch((error: unknown) => {
        // The step already ran (maybe moved money): its answer is the truth, and it went out. A
        // retry re-runs the step, and a transfer's derived id keeps it from posting twice. The
        // lock is kept: the caller's next answer (to the screen they saw) must not run against
        // the screen before it, which the store still holds (a PIN read as an amount); it waits,
        // and ends "busy", until the lock lapses. Only a store down for the lock's whole TTL
        // gets here (commitRetrying).
        if (writes.length > 0) this.deps.logger.warn({ err: errorSummary(error), aggregator: req.aggregator, session: req.sessionId }, "ussd session not saved");
        return true;
      });
      // This hop outlived its lock and another took the session over: that one's state stands (a
      // retry of this hop, same derived transfer id, tells what this one did).
      if (!saved && writes.length > 0) {
        this.deps.logger.warn({ aggregator: req.aggregator, session: req.sessionId }, "ussd session not saved: its lock lapsed and another hop took it over");
        await this.dropResumePoint(req, writes);
      }
      // The session this hop ended is metered once its close is in (or may be: a commit that failed
      // may have landed, and a later end meters the same key). Refused, the hop outlived its lock and
      // whoever took the session over meters it: before 2026-11-30 the hop metered it before its
      // commit, and a one-hop session's notice that took the lapsed lock metered it again (EndOptions.lone).
      if (saved && closes) this.ended(req.aggregator, req.sessionId, closes, "end");
      // Refused with nobody to meter it (the lock lapsed in a stall, no hop or notice took the
      // session: Hubtel, generic and SMPP send no notice after our END), it is closed and metered
      // as after an error END, under the lock: a session another closed meanwhile is left to it.
      if (!saved && closes) this.closeAfterErrorEnd(key, req, hop.seenHop, closes.startedAtMs, "err.session_ended");
    }
    // Nothing above throws (failures are answered or logged). Hops of one session run one at a
    // time here (the mutex), so this is the hop that added it.
    if (hop.movesMoney) this.moneyInFlight.delete(key);
    if (hop.lang !== undefined && lock !== null) this.languages.delete(key);
    return reply;
  }

  /**
   * After a refused commit (this hop outlived its lock, and another hop or the network's end took
   * the session over), the delete of the caller's resume point among its writes, applied on its
   * own: the step the hop ran finished the flow (a payment posted), and the point, left at the PIN
   * step, offered to continue that payment on the next dial. A delete costs at most an offer (the
   * point of a flow the caller started since), never a write of the session another hop made.
   */
  private async dropResumePoint(req: HopRequest, writes: SessionWrite[]): Promise<void> {
    const point = resumeKey(this.deps.menu.institutionId, req);
    if (!writes.some((w) => w.key === point && w.value === null)) return;
    await this.deps.sessions.delete(point).catch((error: unknown) => {
      this.deps.logger.warn({ err: errorSummary(error), aggregator: req.aggregator, session: req.sessionId }, "ussd resume point not dropped");
    });
  }

  /**
   * The session's language for a hop that never got the lock (another instance's hop holds it), so
   * read no state: one more read, on this rare path only. Undefined when unknown or unreadable.
   */
  private async storedLanguage(key: string, msisdn: string): Promise<Language | undefined> {
    try {
      const record = decodeRecord(await this.deps.sessions.get(key));
      // Another number on this session id learns nothing of it.
      return record?.msisdn === msisdn ? record.menu?.lang : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves once every hop and session end under way has finished, session writes and the
   * metering of ended sessions included: a shutdown closes the store and the ledger after this.
   */
  async drain(): Promise<void> {
    while (this.closing.size > 0) await Promise.all([...this.closing]);
    await this.mutex.idle();
    while (this.metering.size > 0) await Promise.all([...this.metering]);
  }

  private acquire(key: string, req: HopRequest): Promise<LockedValue | null> {
    // A new session dialled without a shortcut reads the caller's resume point in the same trip.
    return this.lockWaiting(key, this.mayResume(req) ? resumeKey(this.deps.menu.institutionId, req) : undefined);
  }

  /**
   * A hop's commit, tried again after a failure (a blip of the store's connection passes) for as
   * long as the lock, asked for at lockingAtMs, is surely still ours: a failure ends the session's
   * hops (the lock is kept, see locked), so giving up after a second try 50 ms later left every
   * later hop, the aggregator's retry of this one included, waiting out the lock's TTL and ending
   * "busy" after a blip of a tenth of a second. Throws the last failure once no try fits in the TTL.
   */
  private async commitRetrying(key: string, lock: LockedValue, writes: SessionWrite[], lockingAtMs: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.sessions.commit(key, lock, writes);
      } catch (error) {
        const waitMs = COMMIT_RETRY_MS[attempt];
        // A try past the TTL could only land if nobody took the session over: not worth holding the session's queue here for.
        if (waitMs === undefined || Date.now() + waitMs >= lockingAtMs + this.limits.lockTtlMs) throw error;
        await sleep(waitMs);
      }
    }
  }

  /**
   * The commit (whether it applied), or should it fail, the lock given back (best effort): the
   * session's next hop need not wait out its TTL.
   */
  private async commitOrUnlock(key: string, lock: LockedValue, writes: SessionWrite[]): Promise<boolean> {
    try {
      return await this.deps.sessions.commit(key, lock, writes);
    } catch (error) {
      await this.deps.sessions.unlock(key, lock.token).catch(() => false);
      throw error;
    }
  }

  /** The session's lock and value, waiting up to waitMs for a holder elsewhere; null when it stayed busy. */
  private async lockWaiting(key: string, take?: string, waitMs = this.limits.lockWaitMs): Promise<LockedValue | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = await this.deps.sessions.lockAndGet(key, this.limits.lockTtlMs, take);
      if (lock !== null || Date.now() >= deadline) return lock;
      await sleep(20);
    }
  }

  /** Only a first hop without a shortcut can take up a resume point (a continuation of a lost session is refused). */
  private mayResume(req: HopRequest): boolean {
    return opensSession(req) && (req.shortcut ?? []).length === 0;
  }

  /** The hop's answer and writes; `closes`: the session its answer ended, metered once the writes are in (locked). */
  private async process(key: string, req: HopRequest, state: HopState, lock: LockedValue): Promise<{ reply: HopReply; writes: SessionWrite[]; closes?: SessionRecord }> {
    const reply = (r: HopReply) => ({ reply: r, writes: [] });
    const hop = this.digest(key, req.hopKey);
    const stored = decodeRecord(lock.value);
    // A generic begin on a closed session under a reused id opens a new one (supersedes).
    const reopens = stored !== null && supersedes(req, stored, hop);
    const record = (req.fresh && stored?.hop !== hop) || reopens ? null : stored;
    state.seenHop = record?.hop ?? null;
    // Another number on this session id sees nothing of it, not even a retried answer.
    if (record && record.msisdn !== req.msisdn) return reply(this.plain(this.deps.menu.defaultLanguage, "err.session_ended", true));
    if (record?.menu) {
      state.lang = record.menu.lang;
      this.languages.set(key, { msisdn: req.msisdn, lang: state.lang });
    }
    // Already closed and metered (a retried last hop, a hop after the end): nothing left to close.
    if (record?.closed) state.closed = true;
    if (record && record.hop === hop) {
      // The aggregator retried this hop: the same answer again.
      state.replayed = true;
      const { end, text } = record.out ?? this.answerOf(record);
      return reply({ end, text });
    }
    if (record?.closed) return reply(this.plain(record.menu?.lang ?? this.deps.menu.defaultLanguage, "err.session_ended", true));
    const segments = req.mode === "cumulative" && req.text !== "" ? req.text.split("*") : [];
    if (record && req.mode === "cumulative" && segments.length >= record.consumed && !this.extendsLast(key, record, req, segments.length)) {
      // Not the last hop again (that was answered above), not an older one (shorter), and not the
      // next one: Africa's Talking's text is every input so far, so this is no hop of the session as
      // we answered it (out of order, or another session's text under its id). Running its extra
      // segments as the answer to the current screen could read them as a PIN or an amount; it is
      // refused and the session left where it was (only refusedEnd is noted), so the last hop's
      // retry still gets its answer and the real next hop still runs.
      state.refused = "out of order";
      const refusal = this.plain(record.menu?.lang ?? this.deps.menu.defaultLanguage, "err.out_of_order", true);
      // Noted once (a retry of it adds nothing): metered with the session should it end here.
      if (record.refusedEnd) return reply(refusal);
      return { reply: refusal, writes: [{ key, value: encodeRecord({ ...record, refusedEnd: true }), ttlSec: this.limits.idleTtlSec }] };
    }
    if (record && isStale(record, req, segments.length)) {
      // An older hop than the last answered one, delivered late (its input was for an earlier
      // screen): nothing runs and nothing is stored; it gets the current screen, the newest hop's answer.
      state.stale = true;
      const { end, text } = this.answerOf(record);
      return reply({ end, text });
    }
    if (req.text.length > this.limits.maxTextChars) return reply(this.plain(record?.menu?.lang ?? this.deps.menu.defaultLanguage, "err.input_too_long", true));
    const shortcut = record ? [] : req.mode === "cumulative" ? firstHopShortcut(segments) : opensSession(req) ? (req.shortcut ?? []) : null;
    if (shortcut === null) {
      // The continuation of a session we do not know: its record is gone (lapsed, evicted, or
      // ended by the network's notice before this late hop). Africa's Talking: more inputs than
      // any dial string carries; the single-input dialects: a hop that is no first hop (Hubtel's
      // Response, the generic `continue`, SMPP's continue op). Its input answered a screen of that
      // session: run as a new dial it would offer a payment again under a new id, against the main
      // menu (or the resume offer) it is a choice nobody made. Nothing runs; the caller's resume
      // point stays for the next dial. The END is metered as a session of its own screen, once
      // (handle: closeAfterErrorEnd stores it closed, and a retry replays it); a session Africa's
      // Talking's notice already metered is not unknown here (its record is kept closed until it
      // lapses, endSession's keepClosed). A text of up to three segments cannot be told apart
      // this way: Africa's Talking sends the first hop of a shortcut dial (*384*2*0712345678*100#)
      // with its segments as `text`, and no field marks a first hop, so such a text still opens
      // the shortcut (firstHopShortcut). Before 2026-11-30 the single-input dialects' such hop
      // opened the main menu (or the resume offer) inside the telco's session.
      state.refused = "expired";
      return reply(this.plain(this.deps.menu.defaultLanguage, "err.session_expired", true));
    }

    // The menus derive transfer ids from ctx.sessionId, so it names this session and no later one:
    // networks reuse session ids (USSD over SMPP numbers them 0–255), hence the session's start too.
    const startedAtMs = record?.startedAtMs ?? Date.now();
    const ctx: MenuContext = { ...this.deps.menu, sessionId: `${key}@${startedAtMs}`, msisdn: req.msisdn };
    state.secretInput = record?.reply.secret === true;
    // On the resume offer, record.menu is the step it offers: answering the offer runs no step.
    state.movesMoney = !record?.offer && movesMoney(record?.menu);
    if (state.movesMoney) this.moneyInFlight.add(key);
    state.writes = !record?.offer && writesState(record?.menu);
    let next: SessionRecord;
    if (!record) {
      // The lock's trip read the resume point only had the key held nothing: a begin that
      // supersedes a closed record reads it now (one more read, on that rare path only).
      const taken = reopens && this.mayResume(req) ? await this.deps.sessions.get(resumeKey(this.deps.menu.institutionId, req)) : lock.taken;
      const interrupted = shortcut.length === 0 ? parseInterrupted(taken) : null;
      next = interrupted
        ? this.offerResume(req, interrupted, startedAtMs)
        : this.fresh(req, await this.deps.engine.begin(ctx, shortcut), segments.length, startedAtMs);
      // The point read stays in the store until this hop's commit: the offer writes it again, and
      // one that cannot be offered (unreadable) is deleted by it. A commit refused or failed
      // leaves it for the next dial, instead of losing it with the session this hop could not save.
      if (taken !== null) next.resumable = true;
    } else if (record.offer) {
      const input = req.mode === "cumulative" ? segments.slice(record.consumed).join("*") : req.text;
      const { offer, ...rest } = record;
      next = offerAnswered(
        input === "1"
          ? { ...rest, menu: { ...offer.menu, stages: 0 }, reply: offer.reply, ends: false, page: 0 }
          : this.fresh(req, await this.deps.engine.begin(ctx), 0, startedAtMs),
      );
      next.consumed = Math.max(record.consumed, segments.length);
      // The offer wrote a resume point: "Start again" deletes it unless the new screen replaces it.
      next.resumable = record.resumable;
    } else {
      const input = req.mode === "cumulative" ? segments.slice(record.consumed).join("*") : req.text;
      next = await this.advance(record, input, ctx);
      if (req.mode === "cumulative") next.consumed = Math.max(record.consumed, segments.length);
    }
    // The session went on: an out-of-order refusal before this hop was not its last screen.
    // (Deleted only when present: the common hop keeps the record's shape.)
    if (next.refusedEnd) delete next.refusedEnd;
    const answer = this.answerOf(next);
    next.page = answer.page;
    next.out = { end: answer.end, text: answer.text };
    next.closed = answer.end;
    state.closed = next.closed;
    next.hop = hop;
    next.seq = req.seq;
    const writes = this.writesFor(key, req, next);
    return next.closed ? { reply: next.out, writes, closes: next } : { reply: next.out, writes };
  }

  /** The session and its resume point; none when the record cannot be stored (the answer still goes out: the step ran). */
  private writesFor(key: string, req: HopRequest, next: SessionRecord): SessionWrite[] {
    try {
      const resumable = isResumable(next);
      if (resumable) next.resumable = true;
      const value = encodeRecord(next);
      // While the resume offer shows, the point to come back to is still the step it offers (its
      // menu and reply), not the offer: continuing works after any number of interruptions.
      const resume = this.interruptedWrite(req, next, resumable, next.offer ? JSON.stringify({ menu: next.offer.menu, reply: next.offer.reply }) : value);
      return [...(resume ? [resume] : []), { key, value, ttlSec: this.limits.idleTtlSec }];
    } catch (error) {
      this.deps.logger.warn({ err: errorSummary(error), aggregator: req.aggregator, session: req.sessionId }, "ussd session not saved");
      return [];
    }
  }

  /**
   * Keeps where a session is mid-flow under the caller's number, so that if it times out the next
   * dial within resumeTtlSec can continue. No money moves before the send step's PIN, and that
   * step's transfer id travels in the state, so a resumed send still posts at most once. The
   * resume point is the session's own record (encoded once; parseInterrupted reads its menu and
   * reply), or, while a resume offer shows, the offered step itself.
   */
  private interruptedWrite(req: HopRequest, next: SessionRecord, resumable: boolean, record: string): SessionWrite | null {
    if (resumable) return { key: resumeKey(this.deps.menu.institutionId, req), value: record, ttlSec: this.limits.resumeTtlSec };
    return next.resumable ? { key: resumeKey(this.deps.menu.institutionId, req), value: null } : null;
  }

  private offerResume(req: HopRequest, interrupted: { menu: MenuState; reply: Reply }, startedAtMs: number): SessionRecord {
    const reply: Reply = {
      lines: [{ key: "resume.ask" }],
      options: [
        { choice: "1", label: { key: "resume.continue" } },
        { choice: "2", label: { key: "resume.restart" } },
      ],
    };
    // This session has shown one screen so far: the interrupted one's stages were metered with it.
    const state: StepResult = { state: { ...interrupted.menu, stages: 0 }, reply, continues: true };
    return { ...this.fresh(req, state, 0, startedAtMs), offer: { menu: interrupted.menu, reply: interrupted.reply } };
  }

  /** Paging within the shown reply, or the next step of the flow. */
  private async advance(record: SessionRecord, input: string, ctx: MenuContext): Promise<SessionRecord> {
    const lang = record.menu?.lang ?? ctx.defaultLanguage;
    // Only a paging answer needs the page count (rendering is a good part of a hop's CPU).
    const paging = input === MORE_INPUT || input === BACK_INPUT;
    const pageCount = paging ? renderPages(this.deps.translator, lang, record.reply, this.budget, record.ends).length : 0;
    const navigating = (input === MORE_INPUT && record.page < pageCount - 1) || (input === BACK_INPUT && record.page > 0);
    // Past the paging limit the session ends; that END is a screen shown, metered with the others.
    const tooMany = () => this.ending({ ...record, nav: record.nav + 1 }, { key: "err.too_many_stages" });
    if (navigating) {
      if (record.nav >= this.limits.maxNavHops) return tooMany();
      return { ...record, page: record.page + (input === MORE_INPUT ? 1 : -1), nav: record.nav + 1 };
    }
    // A reply that ends the session, still paging: its step is done, and running it again on any
    // other answer would repeat it (a mini-statement's PIN step would check "1111" as a PIN and
    // count the failure). Only the pages move; anything else shows this page again.
    if (record.ends) {
      if (record.nav >= this.limits.maxNavHops) return tooMany();
      return { ...record, nav: record.nav + 1 };
    }
    if (!record.menu) throw new Error("ussd: a session record without menu state");
    const result = await this.deps.engine.next(record.menu, input, ctx);
    return this.applied(record, result);
  }

  private fresh(req: HopRequest, result: StepResult, consumed: number, startedAtMs: number): SessionRecord {
    return {
      v: 1,
      msisdn: req.msisdn,
      menu: result.state,
      reply: result.reply,
      ends: !result.continues,
      page: 0,
      consumed,
      hop: "",
      out: { end: false, text: "" },
      nav: 0,
      closed: false,
      startedAtMs,
      network: req.networkCode,
    };
  }

  private applied(record: SessionRecord, result: StepResult): SessionRecord {
    return { ...record, menu: result.state, reply: result.reply, ends: !result.continues, page: 0 };
  }

  private ending(record: SessionRecord, message: Message): SessionRecord {
    const reply: Reply = { lines: [message] };
    return { ...record, reply, ends: true, page: 0 };
  }

  /** The page of the record's reply it shows (the last one if the reply got shorter), and whether it ends the session. */
  private answerOf(record: SessionRecord): HopReply & { page: number } {
    const pages = renderPages(this.deps.translator, record.menu?.lang ?? this.deps.menu.defaultLanguage, record.reply, this.budget, record.ends);
    const page = Math.min(record.page, pages.length - 1);
    return { end: record.ends && page === pages.length - 1, text: pages[page] ?? "", page };
  }

  private plain(lang: Language, key: string, end: boolean): HopReply {
    return { end, text: renderMessage(this.deps.translator, lang, { key }, this.budget) };
  }

  /**
   * Cumulative dialects: whether the hop's text is the last answered hop's text followed by more
   * inputs. Only that text's keyed digest is stored (it may hold PINs), so the text's first
   * `consumed` segments are digested the same way and compared; the hop key is the text as it
   * came (before other scripts' digits were read as ASCII), as the stored digest's was.
   */
  private extendsLast(key: string, record: SessionRecord, req: HopRequest, segments: number): boolean {
    if (segments <= record.consumed) return false;
    const prefix = record.consumed === 0 ? "" : req.hopKey.split("*", record.consumed).join("*");
    return this.digest(key, prefix) === record.hop;
  }

  private digest(key: string, hopKey: string): string {
    return createHmac("sha256", this.deps.hopSecret).update(key).update("\u0000").update(hopKey).digest("base64url").slice(0, 22);
  }
}

/** Waits before the further tries of a hop's failed commit (within its lock's TTL: commitRetrying). */
const COMMIT_RETRY_MS = [50, 100, 200, 400, 800, 1_600, 3_200];

/** Waits between tries of closing a session after our error END while another instance holds its lock. */
const CLOSE_RETRY_MS = 100;

/** Waits between tries of a session's metering; past the last, it is given up (and logged). */
const METER_RETRY_MS = [200, 1_000, 5_000];

/** A try's outcome without its throw: applied, or the failure it threw (undefined when it did not). */
async function settle(work: Promise<boolean> | null): Promise<{ applied: boolean | null; failure?: unknown }> {
  try {
    return { applied: await work };
  } catch (failure) {
    return { applied: false, failure };
  }
}

/** The work's result, or null once ms have passed (one timer and one promise: this wraps every hop). */
function withinBudget<T>(work: Promise<T>, ms: number): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const timer = setTimeout(resolve, ms, null);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Where a caller's resume point is kept: under the institution too, since gateways of several
 * institutions may share one store (and a number may bank with more than one). Points saved
 * before the institution was part of the key (resume:<aggregator>:<msisdn>) are not read: they
 * lapse within resumeTtlSec, and reading both would cost every new dial another take.
 */
function resumeKey(institutionId: string, req: HopRequest): string {
  return `resume:${institutionId}:${req.aggregator}:${req.msisdn}`;
}

/**
 * A hop older than the last answered one (which the caller already told apart from a retry of it):
 * a cumulative text with fewer segments than those consumed (taken for a prefix of the consumed
 * text: only the last text's digest is stored, so a shorter one cannot be checked, and it runs
 * nothing either way; one as long that is not the last text is refused before, see process), or
 * a hop numbered below the last answered hop's (for a wrapping number, up to half its cycle
 * behind). Hops without a number (SMPP by user_message_reference, Hubtel without a Sequence) are
 * never stale: nothing orders them.
 */
function isStale(record: SessionRecord, req: HopRequest, segments: number): boolean {
  if (req.mode === "cumulative") return segments < record.consumed;
  if (req.opens) return true;
  if (req.seq === undefined || record.seq === undefined) return false;
  if (req.seqModulo === undefined) return req.seq < record.seq;
  const behind = (((record.seq - req.seq) % req.seqModulo) + req.seqModulo) % req.seqModulo;
  return behind > 0 && behind < req.seqModulo / 2;
}

/**
 * The screen after the resume offer, counted with the offer: the offer was a screen this session
 * showed and the customer answered (the interrupted session's own stages were metered with it).
 */
function offerAnswered(next: SessionRecord): SessionRecord {
  return next.menu ? { ...next, menu: { ...next.menu, stages: next.menu.stages + 1 } } : next;
}

/**
 * The hop can only be its session's first: Africa's Talking's empty text (a shortcut dial's first
 * text cannot be told from a continuation), Hubtel's Initiation, the generic `begin`, USSD over
 * SMPP's begin. A single-input hop that is none of these continues a session.
 */
function opensSession(req: HopRequest): boolean {
  return req.mode === "cumulative" ? req.text === "" : req.opens === true || req.fresh === true;
}

/**
 * A session's record once the network ended it: closed, and any hop of it again hears that it has
 * ended. One our END already closed stays as it is: its last hop's retry still gets that END.
 */
function endedRecord(record: SessionRecord): SessionRecord {
  if (record.closed) return { ...record, networkEnded: true };
  const { refusedEnd: _metered, ...rest } = record;
  return { ...rest, reply: { lines: [{ key: "err.session_ended" }] }, ends: true, page: 0, closed: true, networkEnded: true };
}

/**
 * Whether a close after our error END that wrote `lastTry` over `found` (its commit failed, or was
 * refused) may have landed, so that its session is to be metered now rather than closed again:
 * - the record is the one it wrote, but for `networkEnded` (the network's end came in between and
 *   kept it closed, metering nothing: it found it closed). Before 2026-11-30 only the exact bytes
 *   were recognised, and the session went unmetered;
 * - it closed an open record of a session that is no longer there (deleted, as USSD over SMPP's
 *   begin does with a closed record, or replaced by another session, as a generic begin does:
 *   supersedes). Had the write not landed, the record was open, and whoever deleted it metered it
 *   (same key: this metering is a no-op); a begin cannot supersede an open record. Before
 *   2026-11-30 the next try closed the new session instead, and metered it in place of the old.
 * A record of the same session that differs (a hop of it answered meanwhile) is closed afresh.
 */
function closeLanded(lastTry: Rewrite, found: SessionRecord | null, now: SessionRecord | null): boolean {
  const written = decodeRecord(lastTry.writes[0]?.value ?? null);
  if (!written) return false;
  if (now && sameRecord(now, written)) return true;
  const closedOpen = found !== null && !found.closed && found.startedAtMs === written.startedAtMs;
  return closedOpen && (now === null || now.startedAtMs !== written.startedAtMs);
}

/** The same record, but for whether the network's end has seen it (endedRecord adds only that to a closed one). */
function sameRecord(a: SessionRecord, b: SessionRecord): boolean {
  const { networkEnded: _a, ...left } = a;
  const { networkEnded: _b, ...right } = b;
  return JSON.stringify(left) === JSON.stringify(right);
}

/** A one-hop session the network reports and we hold no record of: that hop's END was its one screen. */
function loneRecord(lone: NonNullable<EndOptions["lone"]>): SessionRecord {
  return { v: 1, msisdn: lone.msisdn, menu: null, reply: { lines: [] }, ends: true, page: 0, consumed: 0, hop: "", nav: 0, closed: false, startedAtMs: lone.startedAtMs, network: lone.networkCode };
}

/**
 * A first hop of an aggregator that reuses its session ids (HopRequest.reusesIds: the generic
 * `begin`) finding the session closed: a new session under the id. The network's end said the
 * session was over, so after it a begin is always a new one; a session only our END closed may
 * instead see its own last hop re-delivered (our answer was lost: same caller, same hop, soon after
 * the session started, so the begin of a one-hop session), which gets that END again rather than
 * open a second session inside the telco's one. Before 2026-11-30 such a begin heard "this session
 * has ended" until the closed record lapsed (3 minutes): the integrator's next session under the
 * id never opened.
 */
function supersedes(req: HopRequest, record: SessionRecord, hop: string): boolean {
  if (req.reusesIds !== true || req.opens !== true || !record.closed) return false;
  if (record.networkEnded) return true;
  const redelivered = record.msisdn === req.msisdn && record.hop === hop && Date.now() - record.startedAtMs < REDELIVERY_WINDOW_MS;
  return !redelivered;
}

/** A flow's last screen that is still being paged (a long receipt) is over: nothing to continue. */
function isResumable(next: SessionRecord): boolean {
  return !next.closed && !next.ends && next.menu !== null && next.menu.flow !== "main" && next.menu.flow !== "agent";
}

function parseInterrupted(raw: string | null): { menu: MenuState; reply: Reply } | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as { menu: MenuState; reply: Reply };
    return parsed.menu && parsed.reply ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * What a log line may say about the input: for cumulative text, how many segments it has and the
 * newest one unless it could hold a PIN; never the whole text. A hop known to answer a PIN prompt
 * is not described at all (see handle), but some hops are logged before their record is read (a
 * replay, a busy lock, a failed read): so any input with four digits or more is masked, whatever
 * surrounds them (" 4827", "4827#", a PIN typed with more digits), and only short choices, names
 * and the like are shown.
 */
export function redactedInput(req: HopRequest): string {
  const latest = req.mode === "cumulative" ? (req.text.split("*").at(-1) ?? "") : req.text;
  const shown = (latest.match(/\d/g)?.length ?? 0) >= 4 ? "****" : latest.slice(0, 32);
  return req.mode === "cumulative" ? `[${req.text === "" ? 0 : req.text.split("*").length}] ${shown}` : shown;
}

function errorSummary(error: unknown): { name: string; message: string } {
  // Messages from our own code and drivers; never the request, which may hold a PIN.
  return error instanceof Error ? { name: error.name, message: error.message.slice(0, 200) } : { name: "unknown", message: "" };
}

/**
 * What a hop that threw says: a step that moves money or writes something else may have done so
 * before the failure, so only a hop at neither may say that nothing was changed.
 */
function failedAnswer(hop: Pick<HopState, "movesMoney" | "writes">): string {
  if (hop.movesMoney) return "err.payment_unknown";
  return hop.writes ? "err.outcome_unknown" : "err.unavailable";
}

/** Inputs typed in another script's digits (a phone set to Hindi) are the same inputs in ASCII digits. */
function withAsciiDigits(req: HopRequest): HopRequest {
  const text = asciiDigits(req.text);
  const shortcut = req.shortcut?.map(asciiDigits);
  const same = text === req.text && (shortcut ?? []).every((segment, i) => segment === req.shortcut![i]);
  return same ? req : { ...req, text, ...(shortcut ? { shortcut } : {}) };
}

/**
 * A first hop's shortcut from Africa's Talking's text. It carries at most a menu number and two
 * values (a trailing "*" adds nothing); null for anything longer, which no dial string carries:
 * the continuation of a session whose record was lost (expired, evicted), whose inputs must not be
 * replayed as a new dial (its payment would be offered again under a new id).
 */
function firstHopShortcut(segments: string[]): string[] | null {
  let end = segments.length;
  while (end > 0 && segments[end - 1] === "") end--;
  return end > MAX_SHORTCUT_SEGMENTS ? null : segments.slice(0, end);
}
