/**
 * Canonical JSON for the audit hash chain. Two processes, or the verifier years later, must turn
 * the same entry into the same bytes, so the form is fixed here and nowhere else:
 *
 * - objects: keys sorted by UTF-16 code units ascending (JavaScript's default sort, as RFC 8785),
 *   properties whose value is undefined, a function or a symbol are left out;
 * - no whitespace anywhere;
 * - strings: escaped as JSON.stringify does; lone surrogates and U+0000 become U+FFFD first,
 *   because PostgreSQL's jsonb and text cannot store them and the stored row must hash the same;
 * - numbers: finite ones as JSON.stringify writes them (ECMAScript shortest form), NaN and
 *   ±Infinity as null; bigint as a decimal string ("12345678901234567890");
 * - Date: its ISO-8601 UTC string, e.g. "2026-11-25T09:00:00.000Z";
 * - arrays keep their order; anything else (Map, Buffer, class instances) is refused.
 *
 * normalizeJson() applies these rules and returns plain JSON values; canonicalJson() serializes.
 * The audit log stores the normalized payload, so reading it back and serializing again gives the
 * same text.
 */

/** Deeper structures are cut off: an audit payload is a summary, not a document. */
export const MAX_JSON_DEPTH = 16;
/** Longer strings are truncated (with a marker) so user input cannot bloat the log. */
export const MAX_STRING_CHARS = 1_024;

const TRUNCATED = "…[truncated]";
// A high surrogate not followed by a low one, a low one not preceded by a high one, or NUL (which
// is the point of this pattern, hence the lint exception).
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class NotJsonError extends TypeError {
  constructor(what: string) {
    super(`audit payloads hold plain JSON values only, not ${what}`);
    this.name = "NotJsonError";
  }
}

/** Well-formed, NUL-free and bounded: what PostgreSQL text and jsonb accept unchanged. */
export function cleanString(value: string, maxChars = MAX_STRING_CHARS): string {
  // The marker fits inside maxChars, so cleaning a cleaned string changes nothing.
  const s = value.length > maxChars ? value.slice(0, maxChars - TRUNCATED.length) + TRUNCATED : value;
  return s.replace(UNSTORABLE, "\uFFFD");
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function skipped(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

export function normalizeJson(value: unknown, depth = 0): JsonValue {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
      return cleanString(value);
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object":
      return normalizeObject(value, depth);
    default:
      // undefined, functions and symbols inside arrays become null, as JSON.stringify does.
      return null;
  }
}

function normalizeObject(value: object, depth: number): JsonValue {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new NotJsonError("an invalid Date");
    return value.toISOString();
  }
  if (depth >= MAX_JSON_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((item) => normalizeJson(item, depth + 1));
  if (!isPlainObject(value)) throw new NotJsonError(value.constructor?.name ?? "an exotic object");
  // No prototype, so a key named "__proto__" (JSON.parse makes those) stays a plain key.
  const out: { [key: string]: JsonValue } = Object.create(null);
  for (const [key, item] of Object.entries(value)) {
    if (skipped(item)) continue;
    out[cleanString(key, 128)] = normalizeJson(item, depth + 1);
  }
  return out;
}

/**
 * Serializes an already normalized value (or one read back from jsonb) with sorted keys and no
 * whitespace. The verifier uses this directly so that it hashes exactly what is stored.
 */
export function serializeJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(serializeJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${serializeJson(value[k]!)}`).join(",")}}`;
}

export function canonicalJson(value: unknown): string {
  return serializeJson(normalizeJson(value));
}
