import { GENESIS_HASH, type AuditHead, type AuditRecord, type AuditVerifyResult, type BrokenLink } from "./audit-entry.js";
import { hashRecord } from "./chain.js";

/**
 * Checks a chain fed to it in seq order, one record at a time, so a store can stream pages of any
 * size through it. It stops at the first broken link: after one, every later link is suspect.
 */
export class ChainVerifier {
  private expectedSeq = 1n;
  private prevHash: string;
  private broken: BrokenLink | undefined;
  private checkedCount = 0;

  /**
   * `genesis`: the prev_hash of the chain's first entry (genesisHash of its chain). To check only
   * the entries after one already trusted (an anchor verified earlier), pass that entry's hash and
   * its seq as `afterSeq`: the walk then starts at entry afterSeq + 1.
   */
  constructor(genesis: string = GENESIS_HASH, afterSeq = 0n) {
    this.prevHash = genesis;
    this.expectedSeq = afterSeq + 1n;
  }

  /** Returns the broken link found so far, if any; records after a break are ignored. */
  check(record: AuditRecord): BrokenLink | undefined {
    if (this.broken) return this.broken;
    this.broken = this.findBreak(record);
    if (this.broken) return this.broken;
    this.checkedCount += 1;
    this.expectedSeq = record.seq + 1n;
    this.prevHash = record.hash;
    return undefined;
  }

  private findBreak(record: AuditRecord): BrokenLink | undefined {
    const seq = this.expectedSeq;
    if (record.seq > seq) {
      const last = record.seq - 1n;
      const which = last === seq ? `entry ${seq} is` : `entries ${seq}..${last} are`;
      return { seq, reason: `${which} missing (deleted)` };
    }
    if (record.seq < seq) return { seq: record.seq, reason: `entry ${record.seq} appears out of order` };
    if (record.prevHash !== this.prevHash) {
      const previous = seq === 1n ? "the genesis hash" : `the hash of entry ${seq - 1n}`;
      return { seq, reason: `prev_hash does not match ${previous} (an entry was altered or removed)` };
    }
    if (hashRecord(record) !== record.hash) return { seq, reason: "content does not match its hash (altered)" };
    return undefined;
  }

  /**
   * Compares the end of the walk with the chain head, which the same transactions that append
   * also update: entries removed from the end show up here and nowhere else.
   */
  finish(head: AuditHead): AuditVerifyResult {
    const lastChecked = this.expectedSeq - 1n;
    if (!this.broken && lastChecked < head.lastSeq) {
      const from = this.expectedSeq;
      this.broken = { seq: from, reason: `entries ${from}..${head.lastSeq} are missing (truncated)` };
    } else if (!this.broken && lastChecked > head.lastSeq) {
      const from = head.lastSeq + 1n;
      this.broken = { seq: from, reason: `entries from ${from} on lie beyond the chain head (not appended through the log)` };
    } else if (!this.broken && this.prevHash !== head.lastHash) {
      this.broken = { seq: head.lastSeq, reason: "the chain head's hash does not match the last entry" };
    }
    const result: AuditVerifyResult = { ok: !this.broken, checked: this.checkedCount };
    if (this.broken) result.firstBroken = this.broken;
    return result;
  }

  get checked(): number {
    return this.checkedCount;
  }

  get done(): boolean {
    return this.broken !== undefined;
  }
}

/** Verifies a whole chain held in memory (tests, the in-memory log). */
export function verifyRecords(records: Iterable<AuditRecord>, head: AuditHead): AuditVerifyResult {
  const verifier = new ChainVerifier();
  for (const record of records) if (verifier.check(record)) break;
  return verifier.finish(head);
}
