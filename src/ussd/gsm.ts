/**
 * How long a USSD screen is on the air. GSM-7 (GSM 03.38) holds 182 characters per screen, its
 * extension table's characters (€ [ ] { } ^ ~ \ |) taking two; any other character switches the
 * whole screen to UCS-2, which holds 80 UTF-16 code units.
 */

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED = "^{}\\[~]|€\f";

const BASIC = new Set(GSM7_BASIC);
const EXTENDED = new Set(GSM7_EXTENDED);

export interface ScreenBudget {
  gsm7Chars: number;
  ucs2Units: number;
}

export const DEFAULT_BUDGET: ScreenBudget = { gsm7Chars: 182, ucs2Units: 80 };

/** Spaces that must not break a line (inside "1 234,50 KES") but are sent as plain spaces. */
const NO_BREAK_SPACES = /[\u00a0\u202f\u2007]/g;

export function toAir(text: string): string {
  return text.replace(NO_BREAK_SPACES, " ");
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!BASIC.has(ch) && !EXTENDED.has(ch)) return false;
  return true;
}

/** Septets in GSM-7, or null when the text needs UCS-2. */
function gsm7Length(text: string): number | null {
  let n = 0;
  for (const ch of text) {
    if (BASIC.has(ch)) n += 1;
    else if (EXTENDED.has(ch)) n += 2;
    else return null;
  }
  return n;
}

/** Whether a screen's text (as it will be sent) fits the budget of the encoding it needs. */
export function fits(text: string, budget: ScreenBudget = DEFAULT_BUDGET): boolean {
  const air = toAir(text);
  const septets = gsm7Length(air);
  return septets !== null ? septets <= budget.gsm7Chars : air.length <= budget.ucs2Units;
}

export function measure(text: string): { encoding: "gsm7" | "ucs2"; length: number } {
  const air = toAir(text);
  const septets = gsm7Length(air);
  return septets !== null ? { encoding: "gsm7", length: septets } : { encoding: "ucs2", length: air.length };
}
