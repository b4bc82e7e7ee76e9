/**
 * Session charges left unposted, posted on a timer. The hop processor meters a session once it
 * ends and tries its posting for a few seconds (hop.ts, METER_RETRY_MS); a charge recorded whose
 * posting failed through those tries (the ledger's database down longer), or whose process stopped
 * first, kept charge_result NULL for good: recorded for the telco's invoice, never charged. Every
 * gateway instance sweeps its institution's sessions ended more than `graceMs` ago (by then the
 * process that metered them has given up), from where its last sweep stopped. Several instances
 * sweeping the same sessions post each charge once: its transfer id is derived from the session
 * and stored with it, so the ledger answers the second posting `exists` (SessionMeter.postUnposted).
 *
 * Nothing of this runs on a hop's path. The sweep walks the institution's sessions in (end,
 * session id) order, settled or not, a page of `batch` at a time (keyset paging over the
 * (institution, ended_at) index), from a watermark that moves past each page once its charges are
 * posted: a statement reads at most `batch` rows, and a sweep at most `maxPagesPerSweep` pages.
 * The watermark is saved in the database after each page that moves it (`saveSweepMark`, only
 * forward, shared by the institution's instances). A process's first sweep starts a day back
 * (`lookbackMs`: what a stopped instance left, and a session recorded late, after some sweep had
 * passed its end), or at the saved mark when that is older: a gateway stopped for a week still
 * posts what it left. Until 2026-11-30 the watermark lived only in memory, and charges left by a
 * gateway stopped longer than the look-back were never posted. A sweep that
 * stops short of the present (a day of sessions after a restart) leaves the rest to the next, which
 * follows after `catchUpMs` rather than `everyMs`. Before
 * 2026-11-30 the first sweep read the whole day at once: each statement walked every settled
 * session of the day to fill its page of unposted ones, and the sweep went on until none was
 * left; and a full page of sessions all ended at the same instant stopped it, the watermark then
 * moving past the rest of them for good.
 */
import type { SessionMeter } from "../core/tariffs/metering.js";
import type { SweepKey } from "../core/tariffs/ports.js";
import type { HopLogger } from "./hop-types.js";

export interface ChargeSweepOptions {
  /** How often to sweep once caught up with the present (default one minute). */
  everyMs?: number;
  /** How soon the next sweep follows one that stopped short of the present (default one second). */
  catchUpMs?: number;
  /** How long after its end a session's charge is left to the process that metered it (default 5 minutes). */
  graceMs?: number;
  /** How far back the first sweep of a process reads (default one day): what a stopped instance left. */
  lookbackMs?: number;
  /** Sessions read per statement, settled or not (default 500). */
  batch?: number;
  /** Pages read per sweep at most (default 100). */
  maxPagesPerSweep?: number;
  now?: () => number;
}

const DEFAULTS = { everyMs: 60_000, catchUpMs: 1_000, graceMs: 5 * 60_000, lookbackMs: 24 * 3_600_000, batch: 500, maxPagesPerSweep: 100 };

export interface ChargeSweep {
  /** One sweep now (the timer's work; tests). Resolves with the charges settled. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

export function startChargeSweep(
  meter: Pick<SessionMeter, "postUnposted" | "sweepMark" | "saveSweepMark">,
  institutionId: string,
  logger: HopLogger,
  options: ChargeSweepOptions = {},
): ChargeSweep {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? Date.now;
  // Sessions before this were swept (or lie beyond the lookback). It moves past a page only once
  // that page's charges were posted, so a failed page is read again next time. Null until the
  // first sweep has read the saved one (a failure to read it fails that sweep; the next tries again).
  let mark: SweepKey | null = null;
  let caughtUp = false;
  let running: Promise<number> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  // The earlier of the saved mark and a day back: the saved one covers a stop longer than the
  // look-back, the day back a session recorded after an instance's sweep had passed its end.
  const startingMark = async (): Promise<SweepKey> => {
    const dayBack = { endedAt: new Date(now() - o.lookbackMs), sessionId: "" };
    const saved = await meter.sweepMark(institutionId);
    return saved && saved.endedAt.getTime() < dayBack.endedAt.getTime() ? saved : dayBack;
  };

  /** Moves the watermark to `to` and saves it (the save is skipped when it did not move). */
  const reach = async (from: SweepKey, to: SweepKey): Promise<SweepKey> => {
    if (to.endedAt.getTime() !== from.endedAt.getTime() || to.sessionId !== from.sessionId) await meter.saveSweepMark(institutionId, to);
    return to;
  };

  const sweepOnce = async (): Promise<number> => {
    let at = mark ?? (await startingMark());
    mark = at;
    const until = new Date(now() - o.graceMs);
    let settled = 0;
    for (let page = 0; page < o.maxPagesPerSweep; page++) {
      const done = await meter.postUnposted(institutionId, at, until, o.batch);
      settled += done.settled;
      const pageEnd = done.last ?? at;
      // Nothing more before `until`: the next sweep starts there.
      const exhausted = done.read < o.batch;
      const next = exhausted && until.getTime() > pageEnd.endedAt.getTime() ? { endedAt: until, sessionId: "" } : pageEnd;
      at = mark = await reach(at, next);
      if (exhausted) {
        caughtUp = true;
        return settled;
      }
    }
    caughtUp = false;
    return settled;
  };

  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => (running = null));
    return running;
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweep()
        .then(
          (settled) => {
            if (settled > 0) logger.warn({ settled }, "ussd session charges left unposted were posted");
            return caughtUp ? o.everyMs : o.catchUpMs;
          },
          (error: unknown) => {
            logger.warn({ err: error instanceof Error ? error.message.slice(0, 200) : "unknown" }, "ussd session charge sweep failed");
            return o.everyMs;
          },
        )
        .then(schedule);
    }, ms);
    timer.unref();
  };
  schedule(o.everyMs);

  return {
    sweep,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
