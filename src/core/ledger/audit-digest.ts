import { createHash } from "node:crypto";
import type { AuditEntryInput } from "../audit/audit-entry.js";
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
