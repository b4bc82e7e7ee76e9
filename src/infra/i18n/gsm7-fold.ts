/**
 * Text we generate (dates from Intl, not the translators' strings) brought into the GSM 03.38
 * basic alphabet where that only costs a diacritic: "août" → "aout". Letters with diacritics that
 * GSM-7 has (é, è, à, ü …) are kept. Channels keep the full tables (src/ussd/gsm.ts,
 * src/sms/gsm-alphabet.ts); infra may not import a channel, so the few letters needed live here.
 */

/** The accented letters of the GSM 03.38 basic table. */
const GSM7_ACCENTED = new Set("àÄäÅåÇÉéèìÑñòÖöØøùÜü");

const NON_ASCII = /[^ -~\t\n\r]/gu;
const COMBINING_MARKS = /\p{M}+/gu;

export function foldToGsm7(text: string): string {
  return text.replace(NON_ASCII, (ch) => {
    if (GSM7_ACCENTED.has(ch)) return ch;
    // A letter whose decomposition is a base letter and marks keeps the base; anything else stays.
    return ch.normalize("NFD").replace(COMBINING_MARKS, "") || ch;
  });
}
