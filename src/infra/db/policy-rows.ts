/** Small helpers shared by the policy stores (limits, fees, tariffs, API keys, reports). */

/** The constraint a unique violation (SQLSTATE 23505) broke, or null for any other error. */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === "23505" ? String(e.constraint ?? "") : null;
}

/** A foreign-key violation (23503): a row still refers to the one being deleted. */
export function foreignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "23503";
}

export const iso = (d: Date): string => d.toISOString();
export const date = (d: Date | string): Date => new Date(d);
/** BIGINT columns are selected as text (exact on pg and PGlite alike) and parsed here. */
export const big = (v: string | number | bigint): bigint => BigInt(v);
export const bigOrNull = (v: string | null): bigint | null => (v === null ? null : BigInt(v));
