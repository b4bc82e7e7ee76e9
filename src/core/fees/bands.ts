import type { FieldProblem } from "../institutions/types.js";
import { MAX_AMOUNT_MINOR } from "../ledger/types.js";
import { MAX_FEE_BANDS, MAX_SHARE_BPS, type FeeBand, type FeeSchedule } from "./types.js";

/**
 * The largest fee a band may charge: the largest amount a payment or an agent's transaction may
 * carry (10^15 minor units). A fee up to BIGINT's ceiling was accepted, and amount plus fee then
 * overflowed the quote's total and the limits' sums in SQL (an error where a refusal was due).
 */
export const MAX_FEE_MINOR = 1_000_000_000_000_000n;

/**
 * Why a schedule cannot be stored, or [] when it can. Bands must start at 1 minor unit or more,
 * be listed in ascending order and be contiguous: each band starts one minor unit after the
 * previous one ends. A gap would leave amounts without a price, an overlap two prices for one.
 */
export function scheduleProblems(schedule: Pick<FeeSchedule, "bands" | "agentShareBps">): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { bands, agentShareBps } = schedule;
  if (!Number.isInteger(agentShareBps) || agentShareBps < 0 || agentShareBps > MAX_SHARE_BPS) {
    problems.push({ path: ["agentShareBps"], message: `must be an integer from 0 to ${MAX_SHARE_BPS}` });
  }
  if (bands.length === 0) problems.push({ path: ["bands"], message: "must hold at least one band" });
  if (bands.length > MAX_FEE_BANDS) problems.push({ path: ["bands"], message: `must hold at most ${MAX_FEE_BANDS} bands` });
  bands.forEach((band, i) => problems.push(...bandProblems(band, i)));
  for (let i = 1; i < bands.length; i++) {
    const problem = joinProblem(bands[i - 1]!, bands[i]!);
    if (problem) problems.push({ path: ["bands", i, "minMinor"], message: problem });
  }
  return problems;
}

function bandProblems(band: FeeBand, i: number): FieldProblem[] {
  const at = (field: keyof FeeBand, message: string): FieldProblem => ({ path: ["bands", i, field], message });
  const problems: FieldProblem[] = [];
  if (band.minMinor < 1n) problems.push(at("minMinor", "must be at least 1"));
  if (band.maxMinor > MAX_AMOUNT_MINOR) problems.push(at("maxMinor", `must not exceed ${MAX_AMOUNT_MINOR}`));
  if (band.maxMinor < band.minMinor) problems.push(at("maxMinor", "must not be below minMinor"));
  if (band.feeMinor < 0n) problems.push(at("feeMinor", "must not be negative"));
  if (band.feeMinor > MAX_FEE_MINOR) problems.push(at("feeMinor", `must not exceed ${MAX_FEE_MINOR}`));
  return problems;
}

function joinProblem(previous: FeeBand, band: FeeBand): string | null {
  const expected = previous.maxMinor + 1n;
  if (band.minMinor === expected) return null;
  if (band.minMinor <= previous.minMinor) return "bands must be in ascending order of minMinor";
  if (band.minMinor < expected) return `overlaps the previous band, which ends at ${previous.maxMinor}; must be ${expected}`;
  return `leaves a gap after the previous band, which ends at ${previous.maxMinor}; must be ${expected}`;
}
