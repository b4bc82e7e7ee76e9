/**
 * The start of a number's current cooling run: its reports' cooling periods (coolingMs from each
 * occurredAt) chained while each report falls inside the cooling of the one before it, so that
 * overlapping periods count as one and share one allowance. A report after every earlier cooling
 * had ended starts a new run. null when there are no reports. With one duration for all periods,
 * the report just before a report is the one whose cooling lasts longest among the earlier ones,
 * so comparing neighbours is enough. SqlSimSwapStore's SPEND computes the same in SQL.
 */
export function coolingRunStart(occurredAts: readonly Date[], coolingMs: number): Date | null {
  const times = occurredAts.map((d) => d.getTime()).sort((a, b) => a - b);
  let start: number | null = null;
  let previous: number | null = null;
  for (const t of times) {
    if (previous === null || t >= previous + coolingMs) start = t;
    previous = t;
  }
  return start === null ? null : new Date(start);
}
