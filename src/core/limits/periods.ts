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

/** The local day and month of an instant in timeZone. Throws RangeError for an unknown zone. */
export function periodKeys(at: Date, timeZone: string): PeriodKeys {
  if (Number.isNaN(at.getTime())) throw new RangeError("periodKeys needs a valid Date");
  const parts = formatter(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  const year = part("year").padStart(4, "0");
  const monthKey = `${year}-${part("month")}`;
  return { dayKey: `${monthKey}-${part("day")}`, monthKey };
}
