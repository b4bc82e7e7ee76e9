/**
 * Session charges left unposted, posted on a timer. The hop processor meters a session once it
 * ends and tries its posting for a few seconds (hop.ts, METER_RETRY_MS); a charge recorded whose
 * posting failed through those tries (the ledger's database down longer), or whose process stopped
 * first, kept charge_result NULL for good: recorded for the telco's invoice, never charged. Every
 * gateway instance sweeps its institution's sessions ended more than `graceMs` ago (by then the
 * process that metered them has given up), from where its last sweep stopped. Several instances
 * sweeping the same sessions post each charge once: its transfer id is derived from the session
 * and stored with it, so the ledger answers the second posting `exists` (SessionMeter.postUnposted).
 * Nothing of this runs on a hop's path; each sweep reads the sessions ended since the last one
 * through the (institution, ended_at) index.
 */
import type { SessionMeter } from "../core/tariffs/metering.js";
import type { HopLogger } from "./hop.js";

export interface ChargeSweepOptions {
  /** How often to sweep (default one minute). */
  everyMs?: number;
  /** How long after its end a session's charge is left to the process that metered it (default 5 minutes). */
  graceMs?: number;
  /** How far back the first sweep of a process reads (default one day): what a stopped instance left. */
  lookbackMs?: number;
  /** Sessions posted per query (default 200). */
  batch?: number;
  now?: () => number;
}

const DEFAULTS = { everyMs: 60_000, graceMs: 5 * 60_000, lookbackMs: 24 * 3_600_000, batch: 200 };

export interface ChargeSweep {
  /** One sweep now (the timer's work; tests). Resolves with the charges settled. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

export function startChargeSweep(
  meter: Pick<SessionMeter, "postUnposted">,
  institutionId: string,
  logger: HopLogger,
  options: ChargeSweepOptions = {},
): ChargeSweep {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? Date.now;
  // Sessions ended before this were swept (or lie beyond the lookback); it moves only after a sweep
  // that went through, so a failed one is read again next time.
  let cursorMs = now() - o.lookbackMs;
  let running: Promise<number> | null = null;

  const sweepOnce = async (): Promise<number> => {
    const untilMs = now() - o.graceMs;
    let from = new Date(cursorMs);
    let settled = 0;
    for (;;) {
      const done = await meter.postUnposted(institutionId, from, new Date(untilMs), o.batch);
      settled += done.settled;
      // A full page: more may follow from the last one's end (those settled are not read again).
      // (A page all ended at the same instant as the last would be read again: left to the next sweep.)
      if (done.settled < o.batch || done.lastEndedAt === null || done.lastEndedAt.getTime() === from.getTime()) break;
      from = done.lastEndedAt;
    }
    cursorMs = Math.max(cursorMs, untilMs);
    return settled;
  };

  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => (running = null));
    return running;
  };

  const timer = setInterval(() => {
    sweep()
      .then((settled) => settled > 0 && logger.warn({ settled }, "ussd session charges left unposted were posted"))
      .catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message.slice(0, 200) : "unknown" }, "ussd session charge sweep failed"));
  }, o.everyMs);
  timer.unref();

  return {
    sweep,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
