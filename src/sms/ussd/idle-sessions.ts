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
 * ended early, which would cut off a subscriber who is still typing. A process that stops forgets what it tracked; those sessions are metered only if their number
 * comes back while the record lives (a new begin ends the old session).
 */

export interface IdleEnder {
  endIdleSession(aggregator: string, sessionId: string, lastHopKey: string): Promise<void>;
}

export interface IdleSessionsOptions {
  /** How long after its last answer a session is ended; under the store's idle TTL, so the record is still there. */
  endAfterMs: number;
  /** How often waits are checked (default 5 s). */
  sweepEveryMs?: number;
  /** Sessions tracked at most (default 100,000, ~15 MB). */
  maxTracked?: number;
  clock?: () => number;
  onError(error: unknown, aggregator: string, sessionId: string): void;
}

interface Waiting {
  aggregator: string;
  sessionId: string;
  hopKey: string;
  dueAtMs: number;
}

export class IdleSessions {
  /** In order of the last answer (a Map keeps insertion order), so the due ones are at its head. */
  private readonly waiting = new Map<string, Waiting>();
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
    const key = `${aggregator}:${sessionId}`;
    this.waiting.delete(key);
    this.waiting.set(key, { aggregator, sessionId, hopKey, dueAtMs: this.clock() + this.options.endAfterMs });
    if (this.waiting.size > (this.options.maxTracked ?? 100_000)) this.drop(this.waiting.keys().next().value!);
    this.timer ??= setInterval(() => this.sweep(), this.options.sweepEveryMs ?? 5_000).unref();
  }

  /** The session ended (our END, the network's abort, a new begin on its number): nothing to wait for. */
  over(aggregator: string, sessionId: string): void {
    this.waiting.delete(`${aggregator}:${sessionId}`);
  }

  /** Ends the sessions whose wait is over; what the timer runs. */
  sweep(nowMs = this.clock()): void {
    for (const [key, w] of this.waiting) {
      if (w.dueAtMs > nowMs) break;
      this.endNow(key);
    }
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Stops the timer and waits for the ends under way; what is still waiting is left to its record's TTL. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.ending.size > 0) await Promise.all([...this.ending]);
  }

  private drop(key: string): void {
    const w = this.waiting.get(key)!;
    this.waiting.delete(key);
    this.options.onError(new Error("too many sessions waiting: this one is not metered if the subscriber leaves it"), w.aggregator, w.sessionId);
  }

  private endNow(key: string): void {
    const w = this.waiting.get(key)!;
    this.waiting.delete(key);
    const ending: Promise<void> = this.ender
      .endIdleSession(w.aggregator, w.sessionId, w.hopKey)
      .catch((error: unknown) => this.options.onError(error, w.aggregator, w.sessionId))
      .finally(() => this.ending.delete(ending));
    this.ending.add(ending);
  }
}
