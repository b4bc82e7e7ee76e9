import { AUDIT_CHAINS, genesisHash, type AuditChain, type AuditVerifyResult } from "../../core/audit/audit-entry.js";
import { AuditChainUnverified, judgeAnchor, type AnchorCheck, type AnchorFinding, type AnchorPoint, type AuditAnchor } from "../../core/audit/anchor.js";
import { institutionKeyActors, newestVisibleSeq, visibleTo } from "./admin-queries.js";
import { verifyChainSegment, walkAuditChains } from "./audit-store.js";
import type { SqlExecutor } from "./sql.js";

/** Both heads, read in one statement (one snapshot). */
const HEADS = `SELECT id, last_seq::text AS seq, last_hash AS hash FROM audit_head WHERE id = ANY($1::smallint[]) ORDER BY id`;

async function readHeads(db: SqlExecutor): Promise<AnchorPoint[]> {
  const heads = await db.query<{ id: number; seq: string; hash: string }>(HEADS, [AUDIT_CHAINS]);
  if (heads.rows.length !== AUDIT_CHAINS.length) throw new Error("audit_head lacks a chain's row: the audit migrations have not run");
  return heads.rows.map((r) => ({ chain: r.id as AuditChain, seq: BigInt(r.seq), hash: r.hash }));
}

const brokenAt = (chain: AuditChain, result: AuditVerifyResult) => `chain ${chain} is broken at entry ${result.firstBroken!.seq}: ${result.firstBroken!.reason}`;

/**
 * The platform's anchor: each chain's head (its last entry's seq and hash), once the chain is
 * verified up to it; AuditChainUnverified when it is not. An empty chain is anchored at seq 0 with
 * its genesis hash. Without `since`, both chains are walked from their genesis, as `audit verify`
 * walks them. With `since` (an anchor taken earlier, by this process or read from the anchor
 * file), that anchor must still hold and only the entries after it are walked.
 */
export async function takeAuditAnchor(db: SqlExecutor, now: Date = new Date(), since?: AuditAnchor): Promise<AuditAnchor> {
  if (!since) {
    const walked = await walkAuditChains(db);
    if (!walked.ok) throw new AuditChainUnverified([brokenAt(walked.firstBroken!.chain ?? 1, walked)]);
    return { at: now, points: walked.heads };
  }
  const heads = await readHeads(db);
  const held = await checkAuditAnchor(db, since);
  if (!held.ok) throw new AuditChainUnverified(held.problems.map((p) => `the anchor of ${since.at?.toISOString() ?? "before"} no longer holds on chain ${p.chain}: ${p.reason}`));
  for (const head of heads) {
    const from = since.points.find((p) => p.chain === head.chain) ?? { chain: head.chain, seq: 0n, hash: genesisHash(head.chain) };
    const result = await verifyChainSegment(db, from, head);
    if (!result.ok) throw new AuditChainUnverified([brokenAt(head.chain, result)]);
  }
  return { at: now, points: heads };
}

/**
 * How many of a chain's newest entries a bank's anchor walks back over before looking its entry up
 * by index: a bank active lately has one among them, found after a few rows and one hash of its
 * customers; the lookup by index costs a probe per customer, whatever the distance.
 */
export const OWN_ENTRY_WINDOW = 20_000n;

// The institution's newest entry among the chain's entries ($4, $3].
const RECENT_OWN = `SELECT a.seq::text AS seq, a.hash FROM audit_log a
  WHERE a.chain = $2::smallint AND a.seq <= $3::bigint AND a.seq > $4::bigint AND ${visibleTo("a")}
  ORDER BY a.seq DESC LIMIT 1`;

/**
 * The statement that looks up the institution's newest entry on `chain` at or before `upTo` by
 * index (newestVisibleSeq), and its parameters.
 */
export async function newestOwnStatement(db: SqlExecutor, institutionId: string, chain: AuditChain, upTo: bigint): Promise<{ text: string; params: unknown[] }> {
  const actors = await institutionKeyActors(db, institutionId);
  const seq = newestVisibleSeq("$2::smallint", "$3::bigint", actors.map((_, i) => `$${4 + i}::text`));
  return { text: `SELECT a.seq::text AS seq, a.hash FROM audit_log a WHERE a.chain = $2::smallint AND a.seq = ${seq}`, params: [institutionId, chain, upTo.toString(), ...actors] };
}

/**
 * The institution's newest entry on `chain` at or before `upTo` (one its audit query shows), null
 * when none: among the `window` entries up to `upTo` first, then by index below them. Its cost
 * grows with the window and the institution's customers, not with the entries others wrote since.
 */
export async function newestOwnEntry(db: SqlExecutor, institutionId: string, chain: AuditChain, upTo: bigint, window = OWN_ENTRY_WINDOW): Promise<AnchorPoint | null> {
  const below = upTo - window;
  let row = (await db.query<{ seq: string; hash: string }>(RECENT_OWN, [institutionId, chain, upTo.toString(), below.toString()])).rows[0];
  if (!row && below > 0n) {
    const { text, params } = await newestOwnStatement(db, institutionId, chain, below);
    row = (await db.query<{ seq: string; hash: string }>(text, params)).rows[0];
  }
  return row ? { chain, seq: BigInt(row.seq), hash: row.hash } : null;
}

/**
 * A bank's anchor: on each chain, its own newest entry (one it sees in its audit query, so the
 * anchor tells it nothing of other banks' entries, not even how many there are), among those up
 * to `verified`: the heads a walk found each chain intact up to (walkAuditChains). The entries
 * from the bank's one to that head are walked again now, so that the anchored hash is the one the
 * walk saw (it links to the verified head's hash); AuditChainUnverified when they do not. A chain
 * without any of its entries is left out; null when it has none at all.
 */
export async function takeInstitutionAnchor(db: SqlExecutor, institutionId: string, verified: AnchorPoint[], now: Date = new Date()): Promise<AuditAnchor | null> {
  const points: AnchorPoint[] = [];
  for (const head of verified) {
    const own = await newestOwnEntry(db, institutionId, head.chain, head.seq);
    if (!own) continue;
    const result = await verifyChainSegment(db, own, head);
    if (!result.ok) throw new AuditChainUnverified([brokenAt(head.chain, result)]);
    points.push(own);
  }
  return points.length === 0 ? null : { at: now, points };
}

// Each anchored point with its chain's head and the entry at its seq (only one the institution
// `$1` sees, when given), in one statement.
const FIND = `SELECT p.chain, h.last_seq::text AS head_seq, a.hash
  FROM unnest($2::smallint[], $3::bigint[]) AS p(chain, seq)
  JOIN audit_head h ON h.id = p.chain
  LEFT JOIN audit_log a ON a.chain = p.chain AND a.seq = p.seq AND ${visibleTo("a")}`;

/**
 * Whether the chains still hold each anchored entry with its hash, and reach it. Run it with
 * verifyAuditChain: together they say the chain is intact from its genesis through the anchored
 * entry to its head. With `institutionId` (a bank's check) only the bank's own entries are looked
 * at, and no answer names the head's seq.
 */
export async function checkAuditAnchor(db: SqlExecutor, anchor: AuditAnchor, institutionId: string | null = null): Promise<AnchorCheck> {
  const rows = await db.query<{ chain: number; head_seq: string; hash: string | null }>(FIND, [
    institutionId,
    anchor.points.map((p) => p.chain),
    anchor.points.map((p) => p.seq.toString()),
  ]);
  const byChain = new Map(rows.rows.map((r) => [r.chain, r]));
  return judgeAnchor(anchor, (point): AnchorFinding => {
    const row = byChain.get(point.chain);
    if (!row) throw new Error(`audit_head has no row for chain ${point.chain}: the audit migrations have not run`);
    const headSeq = BigInt(row.head_seq);
    const finding: AnchorFinding = { storedHash: row.hash, beyondHead: headSeq < point.seq };
    if (institutionId === null) finding.headSeq = headSeq;
    else finding.scoped = true;
    return finding;
  });
}
