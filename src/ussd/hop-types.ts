/**
 * What a USSD hop takes and gives, whatever the dialect: the request a dialect parses, the reply it
 * formats, the ended session the tariff meter reads, and the processor's limits and dependencies.
 * HopProcessor (hop.ts) is the one thing that runs them.
 */
import type { SessionStore } from "../menus/engine/session-store.js";
import type { MenuContext, MenuEngine } from "../menus/index.js";
import type { Translator } from "../infra/i18n/index.js";
import type { ScreenBudget } from "./gsm.js";

export interface HopRequest {
  /** Which configured aggregator (names the session key space). */
  aggregator: string;
  sessionId: string;
  /** E.164. */
  msisdn: string;
  serviceCode: string;
  /**
   * cumulative: `text` holds every input so far joined by `*` (Africa's Talking); single: `text`
   * is this hop's input only (Hubtel, generic).
   */
  mode: "cumulative" | "single";
  text: string;
  /** What identifies this hop for retry detection (the cumulative text, or a sequence number). */
  hopKey: string;
  /**
   * Single-input dialects that number their hops (Hubtel's Sequence, the generic `seq`, SMPP's
   * its_session_info sequence): this hop's number. One below the last answered hop's is a late
   * retry of an older hop (stale): it runs nothing.
   */
  seq?: number;
  /** When `seq` wraps (SMPP's 7 bits: 128), "below" is within half the cycle behind, across the wrap. */
  seqModulo?: number;
  /** Extra dial-string segments on a new session (*384*1# → ["1"]). */
  shortcut?: string[];
  /**
   * The request can only be a session's first hop (Hubtel's Initiation, the generic `begin`): on a
   * session already under way it is a late re-delivery, answered with the current screen, even
   * without a `seq`. A single-input hop without it (nor `fresh`) continues a session: for one
   * unknown here it is refused as expired, never opens one.
   */
  opens?: boolean;
  /** The caller's mobile network as the aggregator names it (MCC+MNC), for the session's tariff. */
  networkCode?: string;
  /**
   * The dial that opens a session under a reused id whose predecessor was just ended (USSD over
   * SMPP's begin, after endSession): a record found other than this hop's own (a re-delivered
   * begin's) is the predecessor's, written back by a hop of it still under way on another
   * instance when the end went ahead without the lock. It is replaced by a new session, never
   * continued (the new dial got the old screen, and its next input ran the old step).
   */
  fresh?: boolean;
  /**
   * The aggregator hands its session ids out again and marks a session's first hop explicitly (the
   * generic dialect's `begin`): such a first hop (`opens`) on a session record that is closed (ended
   * by our END or by the network's end) starts a new session under the id, metered on its own,
   * instead of hearing that the session has ended. Only the closed record's own last hop
   * re-delivered soon after the session started (the begin of a one-hop session, retried) gets its
   * answer again. An open record is never replaced this way (its begin re-delivered gets the
   * current screen).
   */
  reusesIds?: boolean;
}

/** A session that is over, as the tariff meter needs it. */
export interface EndedUssdSession {
  aggregator: string;
  sessionId: string;
  msisdn: string;
  networkCode: string | null;
  /** Screens shown: flow stages, paging hops and the first menu. */
  stages: number;
  startedAt: Date;
  endedAt: Date;
  endReason: "end" | "abort" | "timeout";
  /** The registered customer behind the number, if any (who pays when the plan says customer). */
  customer: { id: string; walletAccountId: string } | null;
}

export interface HopReply {
  end: boolean;
  text: string;
  /** The hop was older than the last one answered (delivered late): it ran nothing and the session's last hop is still that one. */
  stale?: true;
  /** The hop was the last one again (a retry): answered as before, nothing stored, the record's idle TTL not renewed. */
  replayed?: true;
}

export interface HopLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HopLimits {
  idleTtlSec: number;
  /** How long one hop may hold the session's lock. */
  lockTtlMs: number;
  /** How long a hop waits for the lock held by another instance. */
  lockWaitMs: number;
  maxNavHops: number;
  /** Characters of `text` accepted at all (cumulative dialects grow it each hop). */
  maxTextChars: number;
  /** The answer is due within this (aggregators give up after ~10 s). */
  hopBudgetMs: number;
  /** How long an interrupted session can be continued by dialling again. */
  resumeTtlSec: number;
}

export const DEFAULT_HOP_LIMITS: HopLimits = {
  idleTtlSec: 180,
  lockTtlMs: 10_000,
  lockWaitMs: 5_000,
  maxNavHops: 24,
  maxTextChars: 1_024,
  hopBudgetMs: 7_000,
  resumeTtlSec: 300,
};

export interface HopDeps {
  engine: MenuEngine;
  translator: Translator;
  sessions: SessionStore;
  /** Everything a MenuContext holds except the per-session fields. */
  menu: Omit<MenuContext, "sessionId" | "msisdn">;
  /** Keys the hop digests (retry detection), so a stored digest cannot be reversed to a PIN. */
  hopSecret: Uint8Array;
  logger: HopLogger;
  limits?: Partial<HopLimits>;
  budget?: ScreenBudget;
  /** Called once a session is over (END shown, user abort, timeout): meters its tariff. */
  onSessionEnd?: (session: EndedUssdSession) => Promise<unknown>;
}

/** A session still open in the store, as openSessions finds it. */
export interface OpenSession {
  /** `${aggregator}:${sessionId}`. */
  key: string;
  msisdn: string;
  /** Keyed digest of its last answered hop. */
  hopDigest: string;
  /** When its record lapses (epoch ms). */
  expiresAtMs: number;
}
