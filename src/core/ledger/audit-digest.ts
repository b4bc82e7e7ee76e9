import { createHash } from "node:crypto";
import type { AuditEntryInput } from "../audit/audit-entry.js";
import { MAX_PAYLOAD_CHARS, prepareEntry, type PreparedEntry } from "../audit/chain.js";
import type { BatchDecision } from "./snapshot.js";
import type { Transfer } from "./types.js";

/** Transfers and failures named by one audit entry; keeps each entry well under the payload cap. */
export const TRANSFERS_PER_AUDIT_ENTRY = 200;

export const LEDGER_BATCH_ACTION = "ledger.batch";

/** One transfer as the digest sees it: every stored field, in a fixed order. */
export function transferDigestLine(t: Transfer, createdAt = t.createdAt.toISOString()): string {
  return `${t.id}|${t.kind}|${t.debitAccountId}|${t.creditAccountId}|${t.amountMinor}|${t.currency}|${t.pendingId ?? ""}|${
    t.code}|${t.reference ?? ""}|${createdAt}`;
}

/** SHA-256 of the lines, each ended by a newline; hashed as one string (one call into the hash, not two a line). */
export function digestOf(lines: string[]): string {
  return createHash("sha256").update(lines.length === 0 ? "" : `${lines.join("\n")}\n`).digest("hex");
}

/**
 * The audit entries for a written batch: one per TRANSFERS_PER_AUDIT_ENTRY records, naming them
 * and carrying a SHA-256 digest of their full content. Chained in the same transaction as the
 * transfers, they make the ledger rows themselves tamper-evident at the cost of one audit row per
 * chunk instead of one per transfer (which would halve the ledger's throughput).
 */
export function ledgerAuditEntries(decision: BatchDecision): AuditEntryInput[] {
  // A batch's transfers share one timestamp: formatted once, not once per line.
  let at: Date | undefined;
  let atText = "";
  const line = (t: Transfer) => {
    if (t.createdAt !== at) {
      at = t.createdAt;
      atText = at.toISOString();
    }
    return transferDigestLine(t, atText);
  };
  const records = [
    ...decision.transfers.map((t) => ({ ref: t.id, line: line(t), failure: false })),
    ...decision.failures.map((f) => ({ ref: `${f.id}:${f.result}`, line: `${f.id}|${f.result}`, failure: true })),
  ];
  const entries: AuditEntryInput[] = [];
  for (let i = 0; i < records.length; i += TRANSFERS_PER_AUDIT_ENTRY) {
    const chunk = records.slice(i, i + TRANSFERS_PER_AUDIT_ENTRY);
    entries.push({
      actorType: "system",
      actorId: "ledger",
      action: LEDGER_BATCH_ACTION,
      channel: "system",
      outcome: "ok",
      payload: {
        transfers: chunk.filter((r) => !r.failure).map((r) => r.ref),
        failures: chunk.filter((r) => r.failure).map((r) => r.ref),
        digest: digestOf(chunk.map((r) => r.line)),
      },
    });
  }
  return entries;
}

// Only what UUIDs, result codes and "id:result" references are made of: no character that JSON
// escapes, that cleanString replaces, and no string near its length cap.
const PLAIN_REFS = /^[0-9a-z:_,-]*$/;

/**
 * ledgerAuditEntries already prepared for the chain (prepareEntry of each), built directly: the
 * generic path redacts, normalizes and serializes a payload of a few hundred strings key by key,
 * which cost the writer a tenth of its CPU per transfer. Its payload is the canonical JSON of
 * { digest, failures, transfers } written by hand, which equals what prepareEntry makes whenever
 * every reference is plain (UUIDs and result codes always are; anything else takes the generic
 * path). A unit test holds the two equal.
 */
export function ledgerAuditPrepared(decision: BatchDecision): PreparedEntry[] {
  const transfers = decision.transfers;
  const failures = decision.failures;
  const total = transfers.length + failures.length;
  const entries: PreparedEntry[] = [];
  let at: Date | undefined;
  let atText = "";
  for (let start = 0; start < total; start += TRANSFERS_PER_AUDIT_ENTRY) {
    const end = Math.min(total, start + TRANSFERS_PER_AUDIT_ENTRY);
    const transferRefs: string[] = [];
    const failureRefs: string[] = [];
    let lines = "";
    for (let i = start; i < end; i += 1) {
      if (i < transfers.length) {
        const t = transfers[i]!;
        if (t.createdAt !== at) {
          at = t.createdAt;
          atText = at.toISOString();
        }
        transferRefs.push(t.id);
        lines += `${transferDigestLine(t, atText)}\n`;
      } else {
        const f = failures[i - transfers.length]!;
        failureRefs.push(`${f.id}:${f.result}`);
        lines += `${f.id}|${f.result}\n`;
      }
    }
    const transferList = transferRefs.join(",");
    const failureList = failureRefs.join(",");
    const digest = createHash("sha256").update(lines).digest("hex");
    const payload = { digest, failures: failureRefs, transfers: transferRefs };
    const payloadJson = `{"digest":"${digest}","failures":[${quoted(failureList)}],"transfers":[${quoted(transferList)}]}`;
    // Anything else, or a payload past the cap (which prepareEntry refuses), as the generic path has it.
    if (!PLAIN_REFS.test(transferList) || !PLAIN_REFS.test(failureList) || payloadJson.length > MAX_PAYLOAD_CHARS) {
      entries.push(prepareEntry({ ...LEDGER_ENTRY, payload }));
    } else {
      entries.push({ ...LEDGER_ENTRY, subject: null, payload, payloadJson });
    }
  }
  return entries;
}

/** A comma-separated list of plain references as the items of a JSON array. */
const quoted = (list: string) => (list === "" ? "" : `"${list.replaceAll(",", '","')}"`);

const LEDGER_ENTRY = { actorType: "system", actorId: "ledger", action: LEDGER_BATCH_ACTION, channel: "system", outcome: "ok" } as const;
