import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { PeriodKeys } from "./periods.js";
import type { LimitChannel, LimitPolicy, LimitTier, LimitUsage } from "./types.js";

export interface LimitPolicyKey {
  institutionId: string;
  channel: LimitChannel;
  tier: LimitTier;
}

export interface StoredLimitPolicy extends LimitPolicyKey {
  policy: LimitPolicy;
  updatedAt: Date;
}

/** Persistence for the policies banks set; a cell without a row uses its security level's default. */
export interface LimitPolicyStore {
  list(institutionId: string): Promise<StoredLimitPolicy[]>;
  /**
   * In one transaction: lock the cell, read what it held, write `policy` (null removes the row,
   * i.e. back to the default) and append the audit entries built from what it held. Returns what
   * it held (null: the default).
   */
  put(
    key: LimitPolicyKey,
    policy: LimitPolicy | null,
    now: Date,
    audit: (before: LimitPolicy | null) => AuditEntryInput[],
  ): Promise<LimitPolicy | null>;
  /**
   * What an account has sent in a local day and month, as the ledger's last batch counted it. Read
   * outside any batch, so only advisory (a quote's early answer): the ledger decides under lock.
   */
  usage(accountId: string, periods: PeriodKeys): Promise<LimitUsage>;
}
