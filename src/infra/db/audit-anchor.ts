import { AUDIT_CHAINS, type AuditChain } from "../../core/audit/audit-entry.js";
import { judgeAnchor, type AnchorCheck, type AnchorFinding, type AnchorPoint, type AuditAnchor } from "../../core/audit/anchor.js";
import { visibleTo } from "./admin-queries.js";
import type { SqlExecutor } from "./sql.js";

/** Both heads, read in one statement (one snapshot). */
const HEADS = `SELECT id, last_seq::text AS seq, last_hash AS hash FROM audit_head WHERE id = ANY($1::smallint[]) ORDER BY id`;

/**
 * The platform's anchor: each chain's head (its last entry's seq and hash) now. An empty chain is
 * anchored at seq 0 with its genesis hash.
 */
export async function takeAuditAnchor(db: SqlExecutor, now: Date = new Date()): Promise<AuditAnchor> {
  const heads = await db.query<{ id: number; seq: string; hash: string }>(HEADS, [AUDIT_CHAINS]);
  if (heads.rows.length !== AUDIT_CHAINS.length) throw new Error("audit_head lacks a chain's row: the audit migrations have not run");
  return { at: now, points: heads.rows.map((r) => ({ chain: r.id as AuditChain, seq: BigInt(r.seq), hash: r.hash })) };
}

// An institution's newest entry on a chain, up to the head (a row beyond it is forged, for the walk to name).
const NEWEST_OWN = `SELECT a.seq::text AS seq, a.hash FROM audit_log a
  WHERE a.chain = $2::smallint AND a.seq <= (SELECT last_seq FROM audit_head WHERE id = $2::smallint) AND ${visibleTo("a")}
  ORDER BY a.seq DESC LIMIT 1`;

/**
 * A bank's anchor: on each chain, its own newest entry (one it sees in its audit query, so the
 * anchor tells it nothing of other banks' entries, not even how many there are). A chain without
 * any of its entries is left out; null when it has none at all.
 */
export async function takeInstitutionAnchor(db: SqlExecutor, institutionId: string, now: Date = new Date()): Promise<AuditAnchor | null> {
  const points: AnchorPoint[] = [];
  for (const chain of AUDIT_CHAINS) {
    const row = (await db.query<{ seq: string; hash: string }>(NEWEST_OWN, [institutionId, chain])).rows[0];
    if (row) points.push({ chain, seq: BigInt(row.seq), hash: row.hash });
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
