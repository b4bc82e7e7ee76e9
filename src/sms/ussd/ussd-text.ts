/**
 * A USSD screen as one short_message: GSM 03.38 septets (unpacked, one per octet) when every
 * character has a GSM encoding, UCS-2 (UTF-16BE, data_coding 8) otherwise. Never split: the menu
 * engine's pager already fits a screen to 182 GSM or 80 UCS-2 characters.
 */
import { gsmSeptets } from "../gsm-alphabet.js";

export function encodeUssdText(text: string, gsmDataCoding: number): { dataCoding: number; payload: Buffer } {
  const septets: number[] = [];
  for (const char of text) {
    const s = gsmSeptets(char);
    if (s === null) return { dataCoding: 8, payload: Buffer.from(text, "utf16le").swap16() };
    septets.push(...s);
  }
  return { dataCoding: gsmDataCoding, payload: Buffer.from(septets) };
}
