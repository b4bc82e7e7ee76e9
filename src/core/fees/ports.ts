import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { FeeSchedule, FeeType } from "./types.js";

export interface StoredFeeSchedule extends FeeSchedule {
  updatedAt: Date;
}

/** Persistence for fee schedules; a type without a schedule is free. */
export interface FeeScheduleStore {
  list(institutionId: string): Promise<StoredFeeSchedule[]>;
  get(institutionId: string, type: FeeType): Promise<StoredFeeSchedule | null>;
  /**
   * In one transaction: lock the schedule, read it, replace it and its bands (null removes it) and
   * append the audit entries built from what it was. Returns what it was.
   */
  put(
    institutionId: string,
    type: FeeType,
    schedule: FeeSchedule | null,
    now: Date,
    audit: (before: FeeSchedule | null) => AuditEntryInput[],
  ): Promise<FeeSchedule | null>;
}
