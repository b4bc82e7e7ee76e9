/**
 * The GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table, as septet values.
 * SMPP with data_coding 0 carries one septet per octet (unpacked); the SMSC packs them for the air.
 */

/** The basic table in septet order; position 0x1B is the escape to the extension table. */
const BASIC_TABLE =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** Extension characters and the septet that follows the escape for each. */
const EXTENSION_TABLE: ReadonlyArray<readonly [string, number]> = [
  ["\f", 0x0a],
  ["^", 0x14],
  ["{", 0x28],
  ["}", 0x29],
  ["\\", 0x2f],
  ["[", 0x3c],
  ["~", 0x3d],
  ["]", 0x3e],
  ["|", 0x40],
  ["€", 0x65],
];

export const GSM_ESCAPE = 0x1b;

const BASIC = new Map<string, number>();
for (let septet = 0; septet < BASIC_TABLE.length; septet++) {
  // The escape position is not a character of its own: a bare ESC in the text must not pass as GSM.
  if (septet !== GSM_ESCAPE) BASIC.set(BASIC_TABLE.charAt(septet), septet);
}
const EXTENSION = new Map<string, number>(EXTENSION_TABLE);

if (BASIC_TABLE.length !== 128) throw new Error(`GSM basic table has ${BASIC_TABLE.length} entries, not 128`);

/**
 * The septets of one character (code point): one for the basic table, two (escape + code) for the
 * extension table, or null when the character has no GSM 03.38 encoding.
 */
export function gsmSeptets(char: string): readonly number[] | null {
  const basic = BASIC.get(char);
  if (basic !== undefined) return [basic];
  const extension = EXTENSION.get(char);
  if (extension !== undefined) return [GSM_ESCAPE, extension];
  return null;
}

/**
 * The same tables indexed by UTF-16 code unit, for encoding without a lookup per character in a
 * Map: the septet for a basic character, EXTENDED | code for an extension character, -1 for none.
 * Every GSM character is in the Basic Multilingual Plane, so a surrogate is never GSM.
 */
export const EXTENDED = 0x100;
export const GSM_BY_CODE_UNIT = new Int16Array(0x10000).fill(-1);
for (const [char, septet] of BASIC) GSM_BY_CODE_UNIT[char.charCodeAt(0)] = septet;
for (const [char, code] of EXTENSION) GSM_BY_CODE_UNIT[char.charCodeAt(0)] = EXTENDED | code;
