import { createHash } from "node:crypto";
import type { AuditEntryInput } from "../audit/audit-entry.js";
import { MAX_PAYLOAD_CHARS, prepareEntry, type PreparedEntry } from "../audit/chain.js";
import type { BatchDecision } from "./snapshot.js";
import type { Transfer } from "./types.js";

/** Transfers and failures named by one audit entry; keeps each entry well under the payload cap. */
export const TRANSFERS_PER_AUDIT_ENTRY = 200;

export const LEDGER_BATCH_ACTION = "ledger.batch";

/**
 * The digest's line format of the entries the ledger writes now (payload `v`). Version 1 (entries
 * with no `v`, written until 2026-11-30) left out a pending's timeout and expiry, so either could be
 * changed behind the ledger's back unnoticed; `audit verify` still reads those entries as written.
 */
export const LEDGER_DIGEST_VERSION = 2;

/** One transfer as the digest sees it: every stored field the ledger acts on, in a fixed order. */
export function transferDigestLine(t: Transfer, createdAt = t.createdAt.toISOString(), version = LEDGER_DIGEST_VERSION): string {
  const v1 = `${t.id}|${t.kind}|${t.debitAccountId}|${t.creditAccountId}|${t.amountMinor}|${t.currency}|${t.pendingId ?? ""}|${
    t.code}|${t.reference ?? ""}|${createdAt}`;
  return version === 1 ? v1 : `${v1}|${t.timeoutSec ?? ""}|${t.expiresAt?.toISOString() ?? ""}`;
}

/** SHA-256 of the lines, each ended by a newline; hashed as one string (one call into the hash, not two a line). */
export function digestOf(lines: string[]): string {
  return createHash("sha256").update(lines.length === 0 ? "" : `${lines.join("\n")}\n`).digest("hex");
}

/** What one ledger audit entry names: up to TRANSFERS_PER_AUDIT_ENTRY references and their digest. */
interface LedgerAuditChunk {
  digest: string;
  failures: string[];
  transfers: string[];
}

/** The batch's transfers, then its failures, in chunks of TRANSFERS_PER_AUDIT_ENTRY, each with the digest of its lines. */
function ledgerAuditChunks(decision: BatchDecision): LedgerAuditChunk[] {
  const { transfers, failures } = decision;
  const total = transfers.length + failures.length;
  const chunks: LedgerAuditChunk[] = [];
  // A batch's transfers share one timestamp: formatted once, not once per line.
  let at: Date | undefined;
  let atText = "";
  for (let start = 0; start < total; start += TRANSFERS_PER_AUDIT_ENTRY) {
    const end = Math.min(total, start + TRANSFERS_PER_AUDIT_ENTRY);
    const chunk: LedgerAuditChunk = { digest: "", failures: [], transfers: [] };
    // The lines as digestOf hashes them (each ended by a newline), built as one string.
    let lines = "";
    for (let i = start; i < end; i += 1) {
      if (i < transfers.length) {
        const t = transfers[i]!;
        if (t.createdAt !== at) {
          at = t.createdAt;
          atText = at.toISOString();
        }
        chunk.transfers.push(t.id);
        lines += `${transferDigestLine(t, atText)}\n`;
      } else {
        const f = failures[i - transfers.length]!;
        chunk.failures.push(`${f.id}:${f.result}`);
        lines += `${f.id}|${f.result}\n`;
      }
    }
    chunk.digest = createHash("sha256").update(lines).digest("hex");
    chunks.push(chunk);
  }
  return chunks;
}

const LEDGER_ENTRY = { actorType: "system", actorId: "ledger", action: LEDGER_BATCH_ACTION, channel: "system", outcome: "ok" } as const;

/**
 * The audit entries for a written batch: one per TRANSFERS_PER_AUDIT_ENTRY records, naming them
 * and carrying a SHA-256 digest of their full content. Chained in the same transaction as the
 * transfers, they make the ledger rows themselves tamper-evident at the cost of one audit row per
 * chunk instead of one per transfer (which would halve the ledger's throughput).
 */
export function ledgerAuditEntries(decision: BatchDecision): AuditEntryInput[] {
  return ledgerAuditChunks(decision).map(({ transfers, failures, digest }) => ({ ...LEDGER_ENTRY, payload: { transfers, failures, digest, v: LEDGER_DIGEST_VERSION } }));
}

// Only what UUIDs, result codes and "id:result" references are made of: no character that JSON
// escapes, that cleanString replaces, and no string near its length cap.
const PLAIN_REFS = /^[0-9a-z:_,-]*$/;

/**
 * ledgerAuditEntries already prepared for the chain (prepareEntry of each), built directly: the
 * generic path redacts, normalizes and serializes a payload of a few hundred strings key by key,
 * which cost the writer a tenth of its CPU per transfer. Its payload is the canonical JSON of
 * { digest, failures, transfers, v } written by hand, which equals what prepareEntry makes whenever
 * every reference is plain (UUIDs and result codes always are; anything else takes the generic
 * path). A unit test holds the two equal.
 */
export function ledgerAuditPrepared(decision: BatchDecision): PreparedEntry[] {
  return ledgerAuditChunks(decision).map(({ transfers, failures, digest }) => {
    const payload = { digest, failures, transfers, v: LEDGER_DIGEST_VERSION };
    const transferList = transfers.join(",");
    const failureList = failures.join(",");
    const payloadJson = `{"digest":"${digest}","failures":[${quoted(failureList)}],"transfers":[${quoted(transferList)}],"v":${LEDGER_DIGEST_VERSION}}`;
    // Anything else, or a payload past the cap (which prepareEntry refuses), as the generic path has it.
    if (!PLAIN_REFS.test(transferList) || !PLAIN_REFS.test(failureList) || payloadJson.length > MAX_PAYLOAD_CHARS) {
      return prepareEntry({ ...LEDGER_ENTRY, payload });
    }
    return { ...LEDGER_ENTRY, subject: null, payload, payloadJson };
  });
}

/** A comma-separated list of plain references as the items of a JSON array. */
const quoted = (list: string) => (list === "" ? "" : `"${list.replaceAll(",", '","')}"`);

