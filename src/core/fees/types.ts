/** Fee vocabulary. Amounts are bigint minor units of the institution's currency. */

export const FEE_TYPES = ["p2p", "cash_in", "cash_out", "bill", "merchant"] as const;
export type FeeType = (typeof FEE_TYPES)[number];

/** Amounts from minMinor to maxMinor, both included, pay feeMinor (M-Pesa's tariff table shape). */
export interface FeeBand {
  minMinor: bigint;
  maxMinor: bigint;
  feeMinor: bigint;
}

export interface FeeSchedule {
  type: FeeType;
  /** Contiguous, ascending, non-overlapping; validated by scheduleProblems(). */
  bands: FeeBand[];
  /** The agent's share of each fee, in basis points (0..10,000), when an agent handled the payment. */
  agentShareBps: number;
}

export const MAX_FEE_BANDS = 50;
export const MAX_SHARE_BPS = 10_000;

export type FeeQuote =
  | {
      ok: true;
      feeMinor: bigint;
      /** The part of feeMinor passed on to the agent, rounded down: the bank keeps the remainder. */
      agentCommissionMinor: bigint;
      /** The band that priced it; null when the institution charges no fee for this type. */
      band: FeeBand | null;
    }
  | {
      ok: false;
      /** The amount lies outside every band: the bank does not allow such a payment. */
      code: "amount_outside_fee_bands";
      minMinor: bigint;
      maxMinor: bigint;
    };
