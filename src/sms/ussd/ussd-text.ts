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

/** "*384*1*2#" → ["384", "1", "2"]; anything that is not a dial string → []. */
export function dialSegments(text: string): string[] {
  const trimmed = text.trim();
  if (!/^[*#]?[0-9*#]*#?$/.test(trimmed)) return [];
  return trimmed.replace(/#$/, "").split("*").filter((s) => s.length > 0);
}

/** The dial string's extra segments after the service code (*384*1# with *384# → ["1"]). */
export function shortcutOf(dialed: string, serviceCode: string): string[] {
  const code = dialSegments(serviceCode);
  const segments = dialSegments(dialed);
  if (code.length === 0 || segments.length < code.length) return [];
  for (let i = 0; i < code.length; i++) if (segments[i] !== code[i]) return [];
  return segments.slice(code.length);
}
