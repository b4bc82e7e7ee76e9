import { z } from "zod";
import { MAX_AMOUNT_MINOR } from "../../core/ledger/types.js";

/** Request and response building blocks. Money travels as decimal strings of minor units. */

export const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "must be a lower-case UUID");

const DIGITS = /^(0|[1-9][0-9]{0,18})$/;

/** "150000" → 150000n. Never a JSON number: those lose precision above 2^53. */
export const amountMinor = z
  .string()
  .regex(DIGITS, "must be a decimal string of minor units, e.g. \"150000\"")
  // Refinements run even after the pattern failed, so this one checks the pattern again first.
  .refine((s) => !DIGITS.test(s) || BigInt(s) <= MAX_AMOUNT_MINOR, `must not exceed ${MAX_AMOUNT_MINOR}`)
  .transform((s) => BigInt(s))
  .meta({ description: "amount in minor units as a decimal string", examples: ["150000"] });

/** Amounts in responses: decimal strings of minor units. */
export const amountOut = z.string().regex(DIGITS).meta({ description: "amount in minor units as a decimal string" });

/** A balance-like figure in responses that may fall below zero (a report's net): "-150000". */
export const signedAmountOut = z.string().regex(/^(0|-?[1-9][0-9]{0,18})$/).meta({ description: "amount in minor units as a decimal string, possibly negative" });

// Dates and instants from 1970 on: JavaScript takes year 0, which PostgreSQL refuses (a 500), and
// nothing a bank configures or asks about here (tariffs, SIM swaps, reports) lies before.
const EARLIEST_MS = 0;
const EARLIEST = "must be in 1970 or later";

export const localDate = z
  .string()
  .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, "must be a date like 2026-11-25")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "must be a real calendar date")
  .refine((s) => !(Date.parse(`${s}T00:00:00Z`) < EARLIEST_MS), EARLIEST);

/** An ISO 8601 instant with its offset, in UTC from 1970 on (an offset may not carry it before). */
export const timestamp = z.iso
  .datetime({ offset: true })
  .refine((s) => !(Date.parse(s) < EARLIEST_MS), EARLIEST)
  .transform((s) => new Date(s));

/** A count or size in a query string. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ title: "Error" });

export const institutionParams = z.object({ institutionId: uuid });

/** Problems of a local date range: from after to, or longer than maxDays. */
export function rangeCheck(maxDays: number) {
  return (r: { from: string; to: string }, ctx: z.RefinementCtx): void => {
    if (r.from > r.to) ctx.addIssue({ code: "custom", message: "must not be before from", path: ["to"] });
    else if ((Date.parse(r.to) - Date.parse(r.from)) / 86_400_000 >= maxDays) {
      ctx.addIssue({ code: "custom", message: `the range may span at most ${maxDays} days`, path: ["to"] });
    }
  };
}

/** ?from=2026-11-01&to=2026-11-30: local days, both included, at most maxDays of them. */
export function dayRangeQuery(maxDays: number) {
  return z.strictObject({ from: localDate, to: localDate }).superRefine(rangeCheck(maxDays));
}
