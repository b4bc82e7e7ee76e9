import type { AuditEntryInput } from "../audit/audit-entry.js";
import type { MeteredSession, TariffPlan, TariffTerms, Telco, TelcoIdentifierKind } from "./types.js";

export type TelcoWrite = "ok" | "telco_code_taken" | "telco_identifier_taken";
/**
 * effective_from_billed: sessions the plan would take over (started from its effectiveFrom until
 * the telco's next plan) were already metered under another plan, or none.
 */
export type PlanWrite = "ok" | "telco_not_found" | "effective_from_taken" | "effective_from_billed";
/**
 * Why a plan's billing terms may not be changed (see planEditRefusal); effective_from_past: a plan
 * may not start before the moment it is created or moved (planStartRefusal).
 */
export type PlanEditRefusal = "plan_in_use" | "plan_in_effect" | "effective_from_past";

export interface TelcoFields {
  name: string;
  networkCodes: string[];
  smppLinkIds: string[];
}

/** Persistence for telcos and tariff plans. Writes commit their audit entries in the same transaction. */
export interface TariffStore {
  insertTelco(telco: Telco, audit: AuditEntryInput[]): Promise<TelcoWrite>;
  /** Replaces name and identifiers; null when there is no such telco. */
  updateTelco(id: string, fields: TelcoFields, audit: (before: Telco) => AuditEntryInput[]): Promise<{ before: Telco; write: TelcoWrite } | null>;
  getTelco(id: string): Promise<Telco | null>;
  listTelcos(): Promise<Telco[]>;
  findTelco(kind: TelcoIdentifierKind, value: string): Promise<Telco | null>;

  insertPlan(plan: TariffPlan, audit: AuditEntryInput[]): Promise<PlanWrite>;
  /**
   * Replaces the plan's terms unless planEditRefusal(before, terms, now, inUse) refuses them, inUse
   * telling whether metered sessions refer to the plan (read under the plan's lock).
   */
  updatePlan(
    id: string,
    terms: TariffTerms,
    now: Date,
    audit: (before: TariffPlan) => AuditEntryInput[],
  ): Promise<{ before: TariffPlan; write: PlanWrite | PlanEditRefusal } | null>;
  /**
   * "plan_in_use" when metered sessions refer to it: billing history must keep its plan;
   * "plan_in_effect" when it took effect by `now`: sessions under way are priced by it.
   */
  deletePlan(id: string, now: Date, audit: (before: TariffPlan) => AuditEntryInput[]): Promise<{ before: TariffPlan; write: "ok" | PlanEditRefusal } | null>;
  getPlan(id: string): Promise<TariffPlan | null>;
  /** By telco, then effective date (earliest first). */
  listPlans(telcoId?: string): Promise<TariffPlan[]>;
  /** The telco's plan with the latest effectiveFrom at or before `at`. */
  planInEffect(telcoId: string, at: Date): Promise<TariffPlan | null>;
}

/** Persistence for metered sessions, keyed by institution and session id. */
export interface SessionLog {
  /**
   * Inserts the session unless the institution has one with its id; either way returns the stored
   * one. Safe to call concurrently for one key: exactly one insert wins and both callers see its row.
   */
  record(session: MeteredSession): Promise<{ session: MeteredSession; inserted: boolean }>;
  /** Sets the posting outcome once; a later answer for the same session does not overwrite it. */
  settle(institutionId: string, sessionId: string, chargeResult: string): Promise<void>;
  /**
   * One page of the institution's sessions ended before `endedBefore`, the next `limit` at most
   * after `after` in (end, session id) order, settled or not: of those, the ones with a charge whose
   * outcome is still unknown (charge_result NULL, a charge above zero in a currency), oldest end
   * first; the key of the last session of the page (null when it was empty), where the next page
   * starts; and how many sessions the page held (fewer than `limit`: nothing more before `endedBefore`).
   */
  unposted(institutionId: string, after: SweepKey, endedBefore: Date, limit: number): Promise<UnpostedPage>;
  /** Where the institution's sweeps of unposted charges reached (saved by any instance), or null before the first. */
  sweepMark(institutionId: string): Promise<SweepKey | null>;
  /** Saves where a sweep reached; a key before the saved one (an instance lagging behind another) changes nothing. */
  saveSweepMark(institutionId: string, reached: SweepKey): Promise<void>;
}

/** A place in the (ended at, session id) order of an institution's metered sessions. */
export interface SweepKey {
  endedAt: Date;
  /** "" before every session that ended at endedAt. */
  sessionId: string;
}

export interface UnpostedPage {
  sessions: MeteredSession[];
  last: SweepKey | null;
  read: number;
}
