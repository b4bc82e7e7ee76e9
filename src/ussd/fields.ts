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

/** A dial string's or a service code's segments, with or without the `*` and `#`: "*711*2#" and "711*2" → ["711", "2"]. */
function dialSegments(code: string): string[] {
  return code.replace(/^\*/, "").replace(/#$/, "").split("*");
}

/**
 * The dial string's segments after the service code's own: "*384*2*0712345678*500#" on "*384#" →
 * ["2", "0712345678", "500"]; "*711*2*1#" on "711*2" → ["1"]. A code with an extension has more
 * than one segment of its own, and reading its extension as a shortcut would open that flow on
 * every plain dial. A dial that does not start with the code gives none (the main menu). Empty
 * segments are kept, as Africa's Talking's text keeps them.
 */
export function shortcutOf(dialed: string, serviceCode: string): string[] {
  const code = dialSegments(serviceCode);
  const dial = dialSegments(dialed);
  if (dial.length <= code.length || code.some((segment, i) => segment !== dial[i])) return [];
  return dial.slice(code.length);
}
