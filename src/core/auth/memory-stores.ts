import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { InMemoryAuditLog } from "../audit/memory-audit-log.js";
import type { Notice } from "../notices/types.js";
import { CLEARED_COUNTER, countAttempt, isLocked, settleRight } from "./lockout.js";
import { coolingRunStart } from "./cooling-run.js";
import type { AttemptReservation, LockRule, PinCredential, PinStore, SeenCredential, SeenOutcome, SimSwapEvent, StoredPin, SimSwapStore } from "./ports.js";

/**
 * In-memory stores for unit tests and tools. Each method runs without awaiting in between, which
 * makes it atomic on Node's single thread, and appends its audit entries in the same step.
 */
export class InMemoryPinStore implements PinStore {
  readonly rows = new Map<string, PinCredential>();
  /** The outbox notices written with changes, in order. */
  readonly notices: Notice[] = [];

  constructor(private readonly audit: InMemoryAuditLog) {}

  async find(subjectId: string): Promise<PinCredential | null> {
    const row = this.rows.get(subjectId);
    return row ? { ...row } : null;
  }

  async insert(credential: PinCredential, now: Date, audit: AuditEntryInput[], notices: Notice[] = []): Promise<boolean> {
    if (this.rows.has(credential.subjectId)) return false;
    this.audit.appendNow(audit, now);
    this.notices.push(...notices);
    this.rows.set(credential.subjectId, { ...credential });
    return true;
  }

  async countAttempt(subjectId: string, now: Date, rule: LockRule): Promise<AttemptReservation> {
    const row = this.rows.get(subjectId);
    if (!row) return { kind: "unknown" };
    const { next, reservation } = countAttempt(row, now, rule);
    if (next) this.rows.set(subjectId, next);
    return reservation;
  }

  async settleSuccess(subjectId: string, pinHash: string, attemptSeq: number, now: Date, audit: AuditEntryInput[], rekeyed?: StoredPin): Promise<boolean> {
    const row = this.rows.get(subjectId);
    if (!row || row.pinHash !== pinHash) return false;
    this.audit.appendNow(audit, now);
    const stored = rekeyed ? { pinHash: rekeyed.pinHash, pinScheme: rekeyed.scheme } : {};
    this.rows.set(subjectId, { ...row, ...stored, ...settleRight(row, attemptSeq) });
    return true;
  }

  async settleSeen(subjectId: string, seen: SeenCredential, outcome: SeenOutcome, now: Date, audit: AuditEntryInput[]): Promise<boolean> {
    const row = this.rows.get(subjectId);
    if (!row || row.pinHash !== seen.pinHash || row.failedAttempts !== seen.failedAttempts || row.lockCount !== seen.lockCount || row.attemptSeq !== seen.attemptSeq || row.lockedAt !== null) return false;
    this.audit.appendNow(audit, now);
    // A verify decided here is an attempt like a counted one: it gets the next number.
    this.rows.set(subjectId, { ...row, ...outcome, attemptSeq: seen.attemptSeq + 1 });
    return true;
  }

  /** Audits only: this store keeps no known-wrong count, so its locks are final by age or in-process knowledge. */
  async settleWrong(subjectId: string, pinHash: string, _attemptSeq: number, now: Date, audit: AuditEntryInput[]): Promise<boolean> {
    const row = this.rows.get(subjectId);
    if (!row || row.pinHash !== pinHash) return false;
    this.audit.appendNow(audit, now);
    return true;
  }

  async refundAttempt(subjectId: string, pinHash: string, lockedNow: boolean): Promise<void> {
    const row = this.rows.get(subjectId);
    if (!row || row.pinHash !== pinHash) return;
    const lock = lockedNow ? { lockedAt: null, lockedUntil: null, lockCount: Math.max(row.lockCount - 1, 0) } : {};
    this.rows.set(subjectId, { ...row, ...lock, failedAttempts: Math.max(row.failedAttempts - 1, 0) });
  }

  async replaceHash(subjectId: string, expectedHash: string | null, next: StoredPin, now: Date, audit: AuditEntryInput[], notices: Notice[] = []): Promise<boolean> {
    const row = this.rows.get(subjectId);
    if (!row || (expectedHash !== null && row.pinHash !== expectedHash)) return false;
    this.audit.appendNow(audit, now);
    this.notices.push(...notices);
    this.rows.set(subjectId, { ...row, pinHash: next.pinHash, pinScheme: next.scheme, pinSetAt: now, ...CLEARED_COUNTER });
    return true;
  }

  async unlock(subjectId: string, now: Date, audit: AuditEntryInput[]): Promise<{ wasLocked: boolean } | null> {
    const row = this.rows.get(subjectId);
    if (!row) return null;
    this.audit.appendNow(audit, now);
    this.rows.set(subjectId, { ...row, ...CLEARED_COUNTER });
    return { wasLocked: isLocked(row, now) };
  }
}

export class InMemorySimSwapStore implements SimSwapStore {
  readonly events: SimSwapEvent[] = [];
  /**
   * What left each reported number, by number and then by the start of the cooling run it left in
   * (coolingRunStart when it was taken), as SqlSimSwapStore's rows: a run counts every row whose
   * start is at or after its own, so runs that a late report joins count together.
   */
  readonly spent = new Map<string, Map<number, bigint>>();

  async spend(msisdn: string, amountMinor: bigint, maxMinor: bigint, coolingMs: number): Promise<Date | null> {
    const since = coolingRunStart(this.events.filter((e) => e.msisdn === msisdn).map((e) => e.occurredAt), coolingMs);
    if (since === null) return null;
    const runs = this.spent.get(msisdn) ?? new Map<number, bigint>();
    if (this.spentInRun(msisdn, since) + amountMinor > maxMinor) return null;
    runs.set(since.getTime(), (runs.get(since.getTime()) ?? 0n) + amountMinor);
    this.spent.set(msisdn, runs);
    return since;
  }

  async giveBack(msisdn: string, since: Date, amountMinor: bigint): Promise<void> {
    const runs = this.spent.get(msisdn);
    const taken = runs?.get(since.getTime());
    if (!runs || taken === undefined) return;
    const left = taken - amountMinor;
    runs.set(since.getTime(), left > 0n ? left : 0n);
  }

  /** What counts towards the allowance of the run starting at since (its rows and those of runs joined to it). */
  spentInRun(msisdn: string, since: Date): bigint {
    let total = 0n;
    for (const [start, minor] of this.spent.get(msisdn) ?? []) if (start >= since.getTime()) total += minor;
    return total;
  }

  constructor(private readonly audit: InMemoryAuditLog) {}

  async record(event: SimSwapEvent, audit: AuditEntryInput[]): Promise<void> {
    this.audit.appendNow(audit, event.reportedAt);
    this.events.push({ ...event });
  }

  async latest(msisdn: string): Promise<SimSwapEvent | null> {
    let latest: SimSwapEvent | null = null;
    for (const e of this.events) {
      if (e.msisdn === msisdn && (!latest || e.occurredAt.getTime() > latest.occurredAt.getTime())) latest = e;
    }
    return latest ? { ...latest } : null;
  }
}
