import type { FeeBand, FeeQuote, FeeSchedule } from "./types.js";

const NO_FEE: FeeQuote = Object.freeze({ ok: true, feeMinor: 0n, agentCommissionMinor: 0n, band: null });

/**
 * Pure: the fee for amountMinor under schedule (null: the institution charges none for this
 * type). Bands are validated contiguous, so the first whose maximum reaches the amount is the one.
 */
export function quoteFee(schedule: FeeSchedule | null, amountMinor: bigint): FeeQuote {
  if (!schedule || schedule.bands.length === 0) return NO_FEE;
  const first = schedule.bands[0]!;
  const last = schedule.bands[schedule.bands.length - 1]!;
  const band = findBand(schedule.bands, amountMinor);
  if (!band) return { ok: false, code: "amount_outside_fee_bands", minMinor: first.minMinor, maxMinor: last.maxMinor };
  return { ok: true, feeMinor: band.feeMinor, agentCommissionMinor: commission(band.feeMinor, schedule.agentShareBps), band };
}

/** Binary search: schedules are short, but this runs on every payment screen. */
function findBand(bands: FeeBand[], amount: bigint): FeeBand | null {
  let lo = 0;
  let hi = bands.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const band = bands[mid]!;
    if (amount < band.minMinor) hi = mid - 1;
    else if (amount > band.maxMinor) lo = mid + 1;
    else return band;
  }
  return null;
}

export function commission(feeMinor: bigint, shareBps: number): bigint {
  return (feeMinor * BigInt(shareBps)) / 10_000n;
}
