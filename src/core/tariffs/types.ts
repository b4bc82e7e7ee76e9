/** Telcos, their USSD tariff plans and the sessions metered against them. Amounts in minor units. */

/** How a telco is recognised: the aggregator's network code (e.g. "63902") or an SMPP link id. */
export const TELCO_IDENTIFIER_KINDS = ["network_code", "smpp_link"] as const;
export type TelcoIdentifierKind = (typeof TELCO_IDENTIFIER_KINDS)[number];

export interface Telco {
  id: string;
  /** Short lower-case handle, e.g. "safaricom-ke". */
  code: string;
  name: string;
  networkCodes: string[];
  smppLinkIds: string[];
  createdAt: Date;
}

export const SESSION_PAYERS = ["customer", "bank"] as const;
export type SessionPayer = (typeof SESSION_PAYERS)[number];

/**
 * What a telco charges for a USSD session: charge = min(ceiling, perSession + stages × perStage).
 * A plan applies to sessions that start at or after effectiveFrom, until the telco's next plan
 * takes over, so a regulator's new cap (TRAI: Rs 1.50, then Rs 0.50 with at most 8 stages) is a
 * new plan rather than an edit of history.
 */
export interface TariffPlan {
  id: string;
  telcoId: string;
  name: string;
  currency: string;
  perSessionMinor: bigint;
  perStageMinor: bigint;
  ceilingMinor: bigint;
  /** Menu stages a session may take; flows whose longest path is longer fail the stage-cap check. */
  maxStages: number;
  payer: SessionPayer;
  effectiveFrom: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type TariffTerms = Pick<TariffPlan, "name" | "currency" | "perSessionMinor" | "perStageMinor" | "ceilingMinor" | "maxStages" | "payer" | "effectiveFrom">;

export const SESSION_END_REASONS = ["end", "abort", "timeout"] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** A finished USSD session as recorded for billing, with its charge and how posting it went. */
export interface MeteredSession {
  sessionId: string;
  institutionId: string;
  telcoId: string;
  /** null: the telco had no plan in effect, so the session is free. */
  tariffPlanId: string | null;
  msisdn: string;
  stages: number;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  endReason: SessionEndReason;
  payer: SessionPayer | null;
  currency: string | null;
  chargeMinor: bigint;
  debitAccountId: string | null;
  creditAccountId: string | null;
  /**
   * Derived from institution and session id (from the session id alone for sessions recorded
   * before migration 20261128020000); null when there is nothing to post.
   */
  transferId: string | null;
  /** "posted", a ledger refusal such as "exceeds_credits", or null until the posting is answered. */
  chargeResult: string | null;
}

/** What the stage-cap check needs to know about a menu flow. */
export interface FlowStages {
  flowId: string;
  /** Screens on the longest path from the first menu to an end, the end screen included. */
  longestPathStages: number;
}

export interface StageCapViolation {
  flowId: string;
  longestPathStages: number;
  telcoId: string;
  planId: string;
  maxStages: number;
}

export const MAX_PLAN_STAGES = 100;
