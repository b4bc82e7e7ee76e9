import { GENESIS_HASH, type AuditEntryInput, type AuditHead, type AuditLog, type AuditRecord, type AuditVerifyResult } from "./audit-entry.js";
import { chainEntries, MAX_AUDIT_BATCH, prepareEntry } from "./chain.js";
import { verifyRecords } from "./verify.js";

/** The audit log in memory, for unit tests and tools; it chains exactly as the SQL store does. */
export class InMemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  private head: AuditHead = { lastSeq: 0n, lastHash: GENESIS_HASH };

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async append(entries: AuditEntryInput[]): Promise<void> {
    this.appendNow(entries, this.clock());
  }

  /** Synchronous, so a caller's in-memory "transaction" can append atomically with its change. */
  appendNow(entries: AuditEntryInput[], now: Date): void {
    if (entries.length > MAX_AUDIT_BATCH) throw new RangeError(`at most ${MAX_AUDIT_BATCH} audit entries per append`);
    const chained = chainEntries(this.head, entries.map(prepareEntry), now);
    for (const { payloadJson: _, ...record } of chained.records) this.records.push(record);
    this.head = chained.head;
  }

  verify(): AuditVerifyResult {
    return verifyRecords(this.records, this.head);
  }
}
