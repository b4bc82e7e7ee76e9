import { open, readFile } from "node:fs/promises";
import { AUDIT_CHAINS, type AuditChain } from "../../core/audit/audit-entry.js";
import {
  formatAnchor,
  InvalidAnchor,
  judgeAnchor,
  parseAnchor,
  type AnchorCheck,
  type AnchorFinding,
  type AnchorPoint,
  type AuditAnchor,
} from "../../core/audit/anchor.js";
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

/** Appends one line to `file` (created with mode 0640 if missing) and syncs it to disk before returning. */
async function appendLine(file: string, line: string): Promise<void> {
  const handle = await open(file, "a", 0o640);
  try {
    await handle.appendFile(`${line}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export interface AnchorWriter {
  /** Takes an anchor and appends it when a head moved since the last line this writer wrote. */
  writeNow(): Promise<boolean>;
  /** Stops the timer and writes a last anchor (a failure is logged, not thrown). */
  stop(): Promise<void>;
}

/**
 * FINGATE_AUDIT_ANCHOR_FILE: the gateway appends an anchor line to a file outside the database at
 * start, every `everyMs` while a head has moved, and at shutdown, so that entries cut from a
 * chain's end later are named by `fingate audit verify --anchor-file`. The first write happens
 * here and its failure stops the start (a path that cannot be written is a configuration error);
 * later failures are logged and retried at the next tick. Several instances may append to one file.
 */
export async function startAnchorWriter(options: {
  db: SqlExecutor;
  file: string;
  everyMs: number;
  onError: (error: unknown) => void;
}): Promise<AnchorWriter> {
  let last = "";
  let running: Promise<boolean> | null = null;
  const writeNow = (): Promise<boolean> => {
    // One write at a time: a slow disk must not pile up ticks.
    running ??= (async () => {
      try {
        const anchor = await takeAuditAnchor(options.db);
        const heads = anchor.points.map((p) => `${p.chain}=${p.seq}:${p.hash}`).join(" ");
        if (heads === last) return false;
        await appendLine(options.file, formatAnchor(anchor));
        last = heads;
        return true;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  try {
    await writeNow();
  } catch (error) {
    throw new Error(`FINGATE_AUDIT_ANCHOR_FILE: cannot append an anchor to ${options.file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const timer = setInterval(() => void writeNow().catch(options.onError), options.everyMs);
  timer.unref();
  return {
    writeNow,
    stop: async () => {
      clearInterval(timer);
      await (running ?? Promise.resolve()).catch(() => undefined);
      await writeNow().catch(options.onError);
    },
  };
}

/**
 * The anchor of an anchor file: its last line (the newest anchor binds every entry before it). A
 * last line that is not an anchor is refused, naming its line number, rather than skipped: a file
 * whose end was damaged must not quietly verify against an older anchor.
 */
export async function readAnchorFile(file: string): Promise<AuditAnchor> {
  const lines = (await readFile(file, "utf8")).split("\n");
  let at = lines.length - 1;
  while (at >= 0 && lines[at]!.trim() === "") at -= 1;
  if (at < 0) throw new InvalidAnchor(`${file} holds no anchor line`);
  try {
    return parseAnchor(lines[at]!);
  } catch (error) {
    if (error instanceof InvalidAnchor) throw new InvalidAnchor(`${file} line ${at + 1}: ${error.message.replace(/^not an audit anchor: /, "")}`);
    throw error;
  }
}
