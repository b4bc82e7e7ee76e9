/** What the USSD channel keeps per session between hops: small JSON, no PIN, no raw `text`. */
import type { MenuState, Reply } from "../menus/index.js";

export interface SessionRecord {
  v: 1;
  msisdn: string;
  /** The menu state; null before the first screen was produced. */
  menu: MenuState | null;
  /** The reply being shown (re-rendered for paging). */
  reply: Reply;
  /** The reply ends the session once its last page is shown. */
  ends: boolean;
  page: number;
  /** Cumulative dialects: how many `*`-separated segments of `text` were already consumed. */
  consumed: number;
  /** Keyed digest of the last hop's identity: a retry of it gets the same answer again. */
  hop: string;
  /**
   * Dialects that number their hops: the last answered hop's number (absent otherwise). A lower
   * one is a late retry of an older hop and runs nothing, as a cumulative text no longer than
   * `consumed` does.
   */
  seq?: number;
  /**
   * The answer given. Not stored (encodeRecord drops it): a retry renders `reply` at `page` again,
   * which gives the same text, and the session stays well under 1 KiB.
   */
  out?: { end: boolean; text: string };
  /** Paging hops (98/0) in this session. */
  nav: number;
  closed: boolean;
  startedAtMs: number;
  /** The caller's network code (MCC+MNC) from the first hop: which telco's tariff applies. */
  network?: string;
  /** A resume offer is shown: "1" continues this state, anything else starts afresh. */
  offer?: { menu: MenuState; reply: Reply };
  /** A resume point was written for this session (so it is deleted when the session ends). */
  resumable?: boolean;
  /**
   * Africa's Talking: a hop was refused as out of order (answered END, nothing run) since the last
   * answered one. If the session ends without going on, that END was its last screen, metered
   * with the others; the next hop that runs clears it (the session went on past it).
   */
  refusedEnd?: true;
  /**
   * The network's end notice closed it (endSession's keepClosed), not only our END: a generic
   * `begin` under its id is a new session however soon it comes (HopRequest.reusesIds).
   */
  networkEnded?: true;
}

// Records larger than this are a bug (a flow keeping too much); refuse to store them.
export const MAX_RECORD_BYTES = 4_096;

export function encodeRecord(record: SessionRecord): string {
  const { out: _answer, ...stored } = record;
  const json = JSON.stringify(stored);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a record that could be too large is measured.
  if (json.length * 3 > MAX_RECORD_BYTES && Buffer.byteLength(json) > MAX_RECORD_BYTES) throw new Error("ussd session record too large");
  return json;
}

export function decodeRecord(raw: string | null): SessionRecord | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as SessionRecord;
    return parsed && parsed.v === 1 ? parsed : null;
  } catch {
    return null;
  }
}
