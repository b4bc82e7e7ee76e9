/**
 * Days and months as the institution's customers live them: a Nairobi bank's day starts at
 * 21:00 UTC. Keys are plain strings ("2026-11-25", "2026-11") so that they work as database
 * keys and sort by time.
 */
export interface PeriodKeys {
  dayKey: string;
  monthKey: string;
}

// Formatters are costly to build and this runs once per transfer; banks use a handful of zones.
const MAX_CACHED_ZONES = 64;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-US with numeric parts gives digits in the Latin script whatever the default locale.
    f = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", calendar: "gregory", numberingSystem: "latn" });
    if (formatters.size >= MAX_CACHED_ZONES) formatters.delete(formatters.keys().next().value!);
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether timeZone is an IANA zone this runtime knows, e.g. "Africa/Nairobi" or "UTC". */
export function isValidTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Each zone's keys for the last minute asked about. Every payment asks for the current minute,
 * and formatting cost more than the rest of a limits check. Since 1972 every zone's offset is a
 * whole number of minutes (Monrovia's was −0:44:30 until 1972-01-07), so a local day never starts
 * inside a UTC minute: the minute's keys are its instants' keys. Older instants are not cached.
 */
const CACHED_FROM_MS = Date.UTC(1973, 0, 1);
const lastMinute = new Map<string, { minute: number; keys: PeriodKeys }>();

/** The local day and month of an instant in timeZone. Throws RangeError for an unknown zone. */
export function periodKeys(at: Date, timeZone: string): PeriodKeys {
  const ms = at.getTime();
  if (Number.isNaN(ms)) throw new RangeError("periodKeys needs a valid Date");
  const minute = Math.floor(ms / 60_000);
  const cached = lastMinute.get(timeZone);
  if (cached?.minute === minute) return { ...cached.keys };
  const keys = formatKeys(at, timeZone);
  if (ms >= CACHED_FROM_MS && (lastMinute.has(timeZone) || lastMinute.size < MAX_CACHED_ZONES)) lastMinute.set(timeZone, { minute, keys: { ...keys } });
  return keys;
}

function formatKeys(at: Date, timeZone: string): PeriodKeys {
  const parts = formatter(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  const year = part("year").padStart(4, "0");
  const monthKey = `${year}-${part("month")}`;
  return { dayKey: `${monthKey}-${part("day")}`, monthKey };
}
