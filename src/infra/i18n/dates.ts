/**
 * Dates on handset screens and messages: in the institution's time zone (a customer reads "until
 * 06:04" on a Nairobi clock, not a UTC one), and folded to GSM-7 outside Hindi, so that one month's
 * name ("août") does not switch a whole USSD screen to UCS-2 (80 units instead of 182) or an SMS
 * to 70-character parts.
 */
import { foldToGsm7 } from "./gsm7-fold.js";

/** "15 août" (statements by SMS), "15 août, 13:05" (screens: statements, "locked until"), or "13:05" (the time of a payment today). */
export type DateStyle = "day" | "dayTime" | "time";

const STYLES: Record<DateStyle, Intl.DateTimeFormatOptions> = {
  day: { day: "numeric", month: "short" },
  dayTime: { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
  time: { hour: "2-digit", minute: "2-digit" },
};

// Building an Intl.DateTimeFormat costs far more than formatting with one. Languages, zones (one
// per institution) and styles are few; the bound only guards against a misuse.
const MAX_FORMATS = 1_024;
const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(lang: string, timeZone: string, style: DateStyle): Intl.DateTimeFormat {
  const id = `${lang}\u0000${timeZone}\u0000${style}`;
  let format = formats.get(id);
  if (!format) {
    format = new Intl.DateTimeFormat(lang, { ...STYLES[style], timeZone });
    if (formats.size >= MAX_FORMATS) formats.delete(formats.keys().next().value!);
    formats.set(id, format);
  }
  return format;
}

/** Throws RangeError for a zone the runtime does not know (institutions' zones are checked when created). */
export function formatDate(lang: string, date: Date, timeZone: string, style: DateStyle): string {
  const text = formatFor(lang, timeZone, style).format(date);
  // Hindi screens are UCS-2 whatever the date says; elsewhere the date must not be what forces it.
  return lang === "hi" ? text : foldToGsm7(text);
}
