import { AUDIT_CHAINS, genesisHash, type AuditChain } from "./audit-entry.js";

/**
 * An anchor: where the audit chains stood at a moment, as one line of text that an operator or a
 * bank copies out of the system. Walking a chain cannot notice entries cut from its end when the
 * head row was moved back with them (what remains is a valid chain); the anchor, kept outside the
 * database, can: the chain must still hold the anchored entry with exactly that hash, and since
 * each hash covers every entry before it, the whole chain up to that entry is bound.
 *
 *   fingate-audit-anchor v1 at=2026-11-29T19:00:00.000Z chain1=123:<64 hex> chain2=45:<64 hex>
 *
 * `at` is informative (when the anchor was taken); each `chainN=seq:hash` names an entry of chain
 * N (seq 0 with the chain's genesis hash: the chain was empty). At least one chain is named.
 */
export const ANCHOR_PREFIX = "fingate-audit-anchor";
export const ANCHOR_VERSION = "v1";

export interface AnchorPoint {
  chain: AuditChain;
  seq: bigint;
  hash: string;
}

export interface AuditAnchor {
  at?: Date;
  /** In chain order, each chain at most once. */
  points: AnchorPoint[];
}

/** PostgreSQL's bigint. */
const MAX_SEQ = 2n ** 63n - 1n;
const POINT_RE = /^chain([0-9]+)=(0|[1-9][0-9]{0,18}):([0-9a-fA-F]{64})$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** A line longer than this is not an anchor (two chains' worth is about 200 characters). */
const MAX_ANCHOR_CHARS = 512;

export class InvalidAnchor extends Error {
  constructor(message: string) {
    super(`not an audit anchor: ${message}`);
    this.name = "InvalidAnchor";
  }
}

export function formatAnchor(anchor: AuditAnchor): string {
  const parts = [ANCHOR_PREFIX, ANCHOR_VERSION];
  if (anchor.at) parts.push(`at=${anchor.at.toISOString()}`);
  for (const p of [...anchor.points].sort((a, b) => a.chain - b.chain)) parts.push(`chain${p.chain}=${p.seq}:${p.hash}`);
  return parts.join(" ");
}

/** Reads an anchor line (surrounding whitespace and runs of spaces allowed); throws InvalidAnchor saying what is wrong. */
export function parseAnchor(line: string): AuditAnchor {
  if (typeof line !== "string" || line.length > MAX_ANCHOR_CHARS) throw new InvalidAnchor(`expected one line of at most ${MAX_ANCHOR_CHARS} characters`);
  const words = line.trim().split(/\s+/);
  if (words[0] !== ANCHOR_PREFIX) throw new InvalidAnchor(`it must start with "${ANCHOR_PREFIX} ${ANCHOR_VERSION}"`);
  if (words[1] !== ANCHOR_VERSION) throw new InvalidAnchor(`version "${words[1] ?? ""}" is unknown (this gateway reads ${ANCHOR_VERSION})`);
  const anchor: AuditAnchor = { points: [] };
  for (const word of words.slice(2)) {
    if (word.startsWith("at=")) {
      const at = word.slice(3);
      if (anchor.at || !ISO_RE.test(at) || Number.isNaN(Date.parse(at))) throw new InvalidAnchor(`"${word}" is not one ISO-8601 UTC time`);
      anchor.at = new Date(at);
      continue;
    }
    const m = POINT_RE.exec(word);
    if (!m) throw new InvalidAnchor(`"${word.slice(0, 80)}" is not chainN=seq:hash (seq a whole number, hash 64 hex digits)`);
    const chain = Number(m[1]) as AuditChain;
    if (!AUDIT_CHAINS.includes(chain)) throw new InvalidAnchor(`there is no chain ${m[1]} (chains: ${AUDIT_CHAINS.join(", ")})`);
    if (anchor.points.some((p) => p.chain === chain)) throw new InvalidAnchor(`chain ${chain} is named twice`);
    const seq = BigInt(m[2]!);
    if (seq > MAX_SEQ) throw new InvalidAnchor(`seq ${m[2]} is out of range`);
    anchor.points.push({ chain, seq, hash: m[3]!.toLowerCase() });
  }
  if (anchor.points.length === 0) throw new InvalidAnchor("it names no chain (chainN=seq:hash)");
  anchor.points.sort((a, b) => a.chain - b.chain);
  return anchor;
}

/**
 * Refused: the chains do not verify up to the entries an anchor would name. An anchor binds every
 * entry before it, so one taken over a broken chain would vouch for the break: a later cut of the
 * tail back to it, or a rewrite up to it, would then pass `verify --anchor`.
 */
export class AuditChainUnverified extends Error {
  constructor(readonly problems: string[]) {
    super(`refusing to anchor the audit chains: they do not verify (${problems.join("; ")}); an anchor taken now would vouch for this, see fingate audit verify`);
    this.name = "AuditChainUnverified";
  }
}

/** What the store found for an anchored point. */
export interface AnchorFinding {
  /** The hash stored at the point's seq, null when no such entry is there (or, scoped, none the caller sees). */
  storedHash: string | null;
  /** Whether the chain's head now lies before the point's seq. */
  beyondHead: boolean;
  /** The chain head's seq now, when the caller may know it (not a bank: it counts every bank's entries). */
  headSeq?: bigint;
  /** The lookup saw only the caller's own entries (a bank's anchor). */
  scoped?: boolean;
}

/** One anchored point the chain no longer holds, named by chain and seq. */
export interface AnchorProblem {
  chain: AuditChain;
  seq: bigint;
  reason: string;
}

export interface AnchorCheck {
  ok: boolean;
  problems: AnchorProblem[];
}

/**
 * Decides whether the chains still hold each anchored entry. A chain that walks clean and holds the
 * anchored entry with its hash extends from it: every link up to the head was checked, and the
 * hash at the anchor binds everything before it.
 */
export function judgeAnchor(anchor: AuditAnchor, find: (point: AnchorPoint) => AnchorFinding): AnchorCheck {
  const problems: AnchorProblem[] = [];
  for (const point of anchor.points) {
    const reason = pointProblem(point, find(point));
    if (reason) problems.push({ chain: point.chain, seq: point.seq, reason });
  }
  return { ok: problems.length === 0, problems };
}

function pointProblem(point: AnchorPoint, found: AnchorFinding): string | null {
  const { seq } = point;
  if (seq === 0n) {
    return point.hash === genesisHash(point.chain) ? null : `seq 0 must carry chain ${point.chain}'s genesis hash: this anchor is not of this gateway's chain`;
  }
  // Scoped, a missing entry says nothing of where the head is: a bank could otherwise learn how
  // many entries every bank wrote by asking about seqs that are not its own.
  if (found.storedHash === null && found.scoped) {
    return `the anchored entry ${seq} is gone: the chain no longer holds this institution's entry ${seq} (cut from its end or deleted), or it never was this institution's`;
  }
  if (found.storedHash === null && found.beyondHead) {
    if (found.headSeq === undefined) return `the anchored entry ${seq} is missing: the chain now ends before it (entries were cut from its end)`;
    const from = found.headSeq + 1n;
    const cut = from === seq ? `entry ${seq} and any after it` : `entries ${from}..${seq} and any after them`;
    return `the anchored entry ${seq} is missing: the chain now ends at entry ${found.headSeq}, so ${cut} were cut from its end`;
  }
  if (found.storedHash === null) return `the anchored entry ${seq} is missing (deleted)`;
  if (found.storedHash !== point.hash) {
    return `entry ${seq} no longer has the anchored hash ${point.hash.slice(0, 12)}…: the chain was rewritten at or before entry ${seq}`;
  }
  if (found.beyondHead) {
    const head = found.headSeq === undefined ? "the chain head" : `the chain head (entry ${found.headSeq})`;
    return `${head} lies before the anchored entry ${seq}: the head was moved back`;
  }
  return null;
}
