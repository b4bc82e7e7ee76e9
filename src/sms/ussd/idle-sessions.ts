/**
 * USSD sessions over SMPP that are waiting for the subscriber's next answer. The HTTP aggregators
 * tell us when a session ends (Africa's Talking's notice, Hubtel's Timeout), but an SMPP link
 * whose network sends no abort op says nothing when the subscriber walks away: the session's
 * record would lapse with the idle TTL unmetered, and the telco still bills the bank for it. So
 * each session answered with a continue is remembered here with the key of that hop; one still
 * waiting shortly before its record would lapse is ended as timed out (metered once, by the hop
 * processor, only if no later hop was answered here or on another instance).
 *
 * Bounded: past `maxTracked` sessions the oldest wait is dropped (reported through onError), not
 * ended early, which would cut off a subscriber who is still typing. A process that stops forgets
 * what it tracked; the process that starts next takes over the sessions still open in the store
 * (`adopt`, from ussd-over-smpp.ts), each ended before its own record lapses.
 */

/** The last hop answered: by its key when this process answered it, by its stored digest when adopted. */
export type LastHop = { hopKey: string } | { hopDigest: string };

export interface IdleEnder {
  /** false: the session's lock was held elsewhere, ask again shortly. */
  endIdleSession(aggregator: string, sessionId: string, lastHop: LastHop): Promise<boolean>;
}

/** A session whose lock was busy is asked about again at most this many times (by default every 2 s, inside the TTL's margin). */
const BUSY_RETRIES = 5;

export interface IdleSessionsOptions {
  /** How long after its last answer a session is ended; under the store's idle TTL, so the record is still there. */
  endAfterMs: number;
  /** How often waits are checked (default 5 s). */
  sweepEveryMs?: number;
  /** How long after a busy lock the end is tried again (default 2 s). */
  busyRetryMs?: number;
  /** Sessions tracked at most (default 100,000, ~15 MB). */
  maxTracked?: number;
  clock?: () => number;
  onError(error: unknown, aggregator: string, sessionId: string): void;
}

interface Waiting {
  aggregator: string;
  sessionId: string;
  hop: LastHop;
  dueAtMs: number;
  /** Ends tried while another instance held the session's lock. */
  busy: number;
}

export class IdleSessions {
  /** In order of the last answer (a Map keeps insertion order), so the due ones are at its head. */
  private readonly waiting = new Map<string, Waiting>();
  /**
   * Ends due out of `waiting`'s order, so kept apart: those to try again (their lock was busy),
   * and the sessions adopted at start-up.
   */
  private readonly retrying = new Map<string, Waiting>();
  private closed = false;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private readonly ending = new Set<Promise<void>>();

  constructor(
    private readonly ender: IdleEnder,
    private readonly options: IdleSessionsOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** The session was answered with a continue under hopKey: it now waits for the subscriber. */
  answered(aggregator: string, sessionId: string, hopKey: string): void {
    // A hop that finishes after close() (inbound PDUs are handled without being awaited) starts nothing.
    if (this.closed) return;
    const key = `${aggregator}:${sessionId}`;
    this.waiting.delete(key);
    this.retrying.delete(key);
    this.waiting.set(key, { aggregator, sessionId, hop: { hopKey }, dueAtMs: this.clock() + this.options.endAfterMs, busy: 0 });
    if (this.waiting.size > (this.options.maxTracked ?? 100_000)) this.drop(this.waiting.keys().next().value!);
    this.startTimer();
  }

  /**
   * A session left open by a process that stopped: ended at dueAtMs unless this process answers
   * it meanwhile (then `answered` tracks it) or it has moved on by then (the end checks the hop).
   */
  adopt(aggregator: string, sessionId: string, hopDigest: string, dueAtMs: number): boolean {
    const key = `${aggregator}:${sessionId}`;
    if (this.closed || this.waiting.has(key) || this.retrying.has(key)) return false;
    if (this.size >= (this.options.maxTracked ?? 100_000)) {
      this.options.onError(new Error("too many sessions waiting: this one is not metered if the subscriber leaves it"), aggregator, sessionId);
      return false;
    }
    this.retrying.set(key, { aggregator, sessionId, hop: { hopDigest }, dueAtMs, busy: 0 });
    this.startTimer();
    return true;
  }

  private startTimer(): void {
    this.timer ??= setInterval(() => this.sweep(), this.options.sweepEveryMs ?? 5_000).unref();
  }

  /** The session ended (our END, the network's abort, a new begin on its number): nothing to wait for. */
  over(aggregator: string, sessionId: string): void {
    this.waiting.delete(`${aggregator}:${sessionId}`);
    this.retrying.delete(`${aggregator}:${sessionId}`);
  }

  /** Ends the sessions whose wait is over; what the timer runs. */
  sweep(nowMs = this.clock()): void {
    for (const [key, w] of this.waiting) {
      if (w.dueAtMs > nowMs) break;
      this.waiting.delete(key);
      this.endNow(key, w);
    }
    for (const [key, w] of this.retrying) {
      if (w.dueAtMs > nowMs) continue;
      this.retrying.delete(key);
      this.endNow(key, w);
    }
  }

  get size(): number {
    return this.waiting.size + this.retrying.size;
  }

  /** Stops the timer and waits for the ends under way; what is still waiting is left to its record's TTL. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.ending.size > 0) await Promise.all([...this.ending]);
  }

  private drop(key: string): void {
    const w = this.waiting.get(key)!;
    this.waiting.delete(key);
    this.options.onError(new Error("too many sessions waiting: this one is not metered if the subscriber leaves it"), w.aggregator, w.sessionId);
  }

  private endNow(key: string, w: Waiting): void {
    const ending: Promise<void> = this.ender
      .endIdleSession(w.aggregator, w.sessionId, w.hop)
      .then((done) => {
        // Its lock was held elsewhere: that hop may take the session over (then it is tracked
        // there), or be a stale one that changes nothing, so this end is tried again.
        if (done || this.closed || w.busy >= BUSY_RETRIES || this.waiting.has(key)) return;
        this.retrying.set(key, { ...w, dueAtMs: this.clock() + (this.options.busyRetryMs ?? 2_000), busy: w.busy + 1 });
      })
      .catch((error: unknown) => this.options.onError(error, w.aggregator, w.sessionId))
      .finally(() => this.ending.delete(ending));
    this.ending.add(ending);
  }
}
