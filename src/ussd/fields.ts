/** Shape checks for aggregator fields: anything else is refused before it reaches a session. */

const SESSION_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const SERVICE_CODE_RE = /^[*#0-9]{1,40}$/;
const MSISDN_RE = /^\+?[1-9][0-9]{6,14}$/;

export function sessionIdOf(value: unknown): string | null {
  return typeof value === "string" && SESSION_ID_RE.test(value) ? value : null;
}

export function serviceCodeOf(value: unknown): string | null {
  return typeof value === "string" && SERVICE_CODE_RE.test(value) ? value : null;
}

/** E.164 with the plus, from "+254712…" or "254712…". */
export function msisdnOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const compact = value.replace(/[\s-]/g, "");
  if (!MSISDN_RE.test(compact)) return null;
  return compact.startsWith("+") ? compact : `+${compact}`;
}

/** MCC+MNC, e.g. "63902"; anything else is dropped rather than trusted. */
export function networkCodeOf(value: unknown): string | undefined {
  return typeof value === "string" && /^[0-9]{5,6}$/.test(value) ? value : undefined;
}

/** Input text: a string of at most maxChars, without control characters other than none at all. */
export function textOf(value: unknown, maxChars: number): string | null {
  if (value === undefined) return "";
  if (typeof value !== "string" || value.length > maxChars) return null;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(value) ? null : value;
}

