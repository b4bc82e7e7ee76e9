/** Shape checks for aggregator fields: anything else is refused before it reaches a session. */

const SESSION_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
// "*384#", "*711*2#", "#144#": runs of digits after a leading * or #, apart by *, then #. Any
// mix of those characters passed before 2026-11-30 ("*", "#", Hubtel's empty ServiceCode as "*#").
const SERVICE_CODE_RE = /^[*#][0-9]{1,10}(?:\*[0-9]{1,10})*#$/;
const MSISDN_RE = /^\+?[1-9][0-9]{6,14}$/;

export function sessionIdOf(value: unknown): string | null {
  return typeof value === "string" && SESSION_ID_RE.test(value) ? value : null;
}

export function serviceCodeOf(value: unknown): string | null {
  return typeof value === "string" && value.length <= 40 && SERVICE_CODE_RE.test(value) ? value : null;
}

/**
 * Whether a request's service code is the aggregator's configured one (any, when none is): the
 * same, or that code with its extension left out ("*711#" for "*711*2#"), as some aggregators send
 * it. Another code is another service's traffic, which this institution must not answer.
 */
export function servesCode(requested: string, configured: string | undefined): boolean {
  if (configured === undefined || requested === configured) return true;
  return requested.endsWith("#") && configured.startsWith(`${requested.slice(0, -1)}*`);
}

/** E.164 with the plus, from "+254712…" or "254712…". */
export function msisdnOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  // Spaces and dashes only (a form's unencoded "+" arrives as a space): \s also took line breaks,
  // tabs and Unicode spaces out, so "+2547…\n…" was read as a number.
  const compact = value.replace(/[ -]/g, "");
  if (!MSISDN_RE.test(compact)) return null;
  return compact.startsWith("+") ? compact : `+${compact}`;
}

// A leading 0, then digits, spaces and dashes: at most 32 characters (the directory's longest input).
const LOCAL_NUMBER_RE = /^0[0-9 -]{1,31}$/;

/**
 * A number in national format ("0241 310 001", as Hubtel may send Mobile), or null: only what
 * could be one is handed on, to be read with the institution's country (Directory.normalizeMsisdn),
 * so that anything else is refused without a look-up.
 */
export function localNumberOf(value: unknown): string | null {
  return typeof value === "string" && LOCAL_NUMBER_RE.test(value) ? value : null;
}

/** MCC+MNC, e.g. "63902"; anything else is dropped rather than trusted. */
export function networkCodeOf(value: unknown): string | undefined {
  return typeof value === "string" && /^[0-9]{5,6}$/.test(value) ? value : undefined;
}

/**
 * What no keypad types: control characters (C0, DEL, C1), U+FFFD (what an undecodable byte of the
 * body became: "%FF" in a form, a stray byte in JSON) and a lone surrogate (JSON's "\ud800").
 */
// eslint-disable-next-line no-control-regex
const NOT_TEXT_RE = /[\u0000-\u001f\u007f-\u009f\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Input text: a string of at most maxChars, well-formed and without control characters. */
export function textOf(value: unknown, maxChars: number): string | null {
  if (value === undefined) return "";
  if (typeof value !== "string" || value.length > maxChars) return null;
  return NOT_TEXT_RE.test(value) ? null : value;
}

