import { digestOf, LEDGER_BATCH_ACTION, LEDGER_DIGEST_VERSION, transferDigestLine } from "../../core/ledger/audit-digest.js";
import { TRANSFER_COLUMNS, toTransfer, type TransferRow } from "./ledger-rows.js";
import type { SqlExecutor } from "./sql.js";

export interface LedgerAuditReport {
  ok: boolean;
  /** Transfers covered by a ledger.batch audit entry whose digest matched. */
  covered: number;
  transfers: number;
  /** Recorded failures named, with their result, by a ledger.batch audit entry whose digest matched. */
  coveredFailures: number;
  failures: number;
  problems: string[];
}

interface BatchEntry {
  seq: string;
  /** `v`: the digest's line format (absent: 1, see LEDGER_DIGEST_VERSION). */
  payload: { transfers?: string[]; failures?: string[]; digest?: string; v?: number };
}

/** Seqs of chain 1 read per query (a range, not "the next n rows": see audit-store's PAGE). */
const RANGE = 2_000n;
const MAX_PROBLEMS = 50;

/**
 * Binds the ledger to the audit chain: every ledger.batch entry's digest must match the transfers
 * it names as they are stored now, and together the entries must name every transfer. A transfer
 * edited or inserted behind the ledger's back (with the append-only trigger disabled) shows here.
 * So does a recorded failure removed, forged or given another result: a retry is answered from
 * that row, so one deleted would let a refused transfer move money later. (The digest holds a
 * failure's id and result only, so its other columns are not bound.)
 */
export async function verifyLedgerAgainstAudit(db: SqlExecutor): Promise<LedgerAuditReport> {
  const problems: string[] = [];
  let covered = 0;
  let coveredFailures = 0;
  // Ledger entries are on chain 1, up to its head (rows beyond it, or a head moved far beyond
  // them, are verifyAuditChain's to report: `fingate audit verify` runs it first). The head and
  // the transfers are counted in one statement, one snapshot: a transfer commits with its entry,
  // so those counted are those the entries up to that head cover, whatever posts meanwhile.
  const snapshot = await db.query<{ end: string; n: string; f: string }>(
    "SELECT (SELECT last_seq FROM audit_head WHERE id = 1)::text AS end, (SELECT count(*) FROM transfers)::text AS n, (SELECT count(*) FROM transfer_failures)::text AS f",
  );
  const end = BigInt(snapshot.rows[0]!.end);
  const transfers = Number(snapshot.rows[0]!.n);
  const failures = Number(snapshot.rows[0]!.f);
  for (let from = 0n; from < end && problems.length < MAX_PROBLEMS; from += RANGE) {
    const page = await db.query<BatchEntry>(
      "SELECT seq::text AS seq, payload FROM audit_log WHERE chain = 1 AND seq > $2::bigint AND seq <= $3::bigint AND action = $1 ORDER BY seq",
      [LEDGER_BATCH_ACTION, from.toString(), (from + RANGE).toString()],
    );
    for (const entry of page.rows) {
      const problem = await checkEntry(db, entry);
      if (problem) problems.push(problem);
      else {
        covered += entry.payload.transfers?.length ?? 0;
        coveredFailures += entry.payload.failures?.length ?? 0;
      }
    }
  }
  if (problems.length === 0 && covered !== transfers) {
    problems.push(`${transfers - covered} transfer(s) are not covered by any ledger.batch audit entry`);
  }
  if (problems.length === 0 && coveredFailures !== failures) {
    problems.push(`${failures - coveredFailures} recorded failure(s) are not covered by any ledger.batch audit entry`);
  }
  return { ok: problems.length === 0, covered, transfers, coveredFailures, failures, problems };
}

async function checkEntry(db: SqlExecutor, entry: BatchEntry): Promise<string | null> {
  const ids = entry.payload.transfers ?? [];
  const rows = await db.query<TransferRow>(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = ANY($1::uuid[])`, [ids]);
  const byId = new Map(rows.rows.map((r) => [r.id, toTransfer(r)]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) return `audit entry ${entry.seq} names missing transfer ${missing[0]}`;
  const version = entry.payload.v ?? 1;
  if (version !== 1 && version !== LEDGER_DIGEST_VERSION) return `audit entry ${entry.seq}: unknown digest version ${String(version)}`;
  const lines = ids.map((id) => { const t = byId.get(id)!; return transferDigestLine(t, t.createdAt.toISOString(), version); });
  const named = entry.payload.failures ?? [];
  for (const failure of named) lines.push(failure.replace(":", "|"));
  if (digestOf(lines) !== entry.payload.digest) return `audit entry ${entry.seq}: its transfers no longer match their digest`;
  return named.length === 0 ? null : checkFailures(db, entry.seq, named);
}

/** The failures an entry names ("id:result", the digest already checked) as stored now. */
async function checkFailures(db: SqlExecutor, seq: string, named: string[]): Promise<string | null> {
  const ids = named.map((f) => f.slice(0, f.indexOf(":")));
  const rows = await db.query<{ id: string; result: string }>("SELECT id, result FROM transfer_failures WHERE id = ANY($1::uuid[])", [ids]);
  const stored = new Map(rows.rows.map((r) => [r.id, r.result]));
  const missing = ids.find((id) => !stored.has(id));
  if (missing) return `audit entry ${seq} names missing failure ${missing}`;
  if (named.some((f, i) => f !== `${ids[i]}:${stored.get(ids[i]!)}`)) return `audit entry ${seq}: its failures no longer match their digest`;
  return null;
}
