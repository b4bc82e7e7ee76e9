/**
 * A phone set to Hindi (or Bengali, Tamil, Arabic …) may type its own script's digits: a PIN typed
 * as "४८२७" or an amount as "५००" is the customer's 4827 and 500, and is read as such by every
 * channel. Only whole decimal digit blocks of the scripts our markets write are mapped.
 */
const DIGIT_ZEROS = [
  0x0660, // Arabic-Indic
  0x06f0, // Extended Arabic-Indic (Persian, Urdu)
  0x0966, // Devanagari
  0x09e6, // Bengali
  0x0a66, // Gurmukhi
  0x0ae6, // Gujarati
  0x0b66, // Oriya
  0x0be6, // Tamil
  0x0c66, // Telugu
  0x0ce6, // Kannada
  0x0d66, // Malayalam
  0xff10, // Fullwidth (East Asian keyboards)
] as const;

const OTHER_DIGIT = new RegExp(`[${DIGIT_ZEROS.map((zero) => `\\u${hex(zero)}-\\u${hex(zero + 9)}`).join("")}]`, "g");

function hex(codePoint: number): string {
  return codePoint.toString(16).padStart(4, "0");
}

function asciiOf(digit: string): string {
  const code = digit.charCodeAt(0);
  const zero = DIGIT_ZEROS.find((z) => code >= z && code <= z + 9)!;
  return String.fromCharCode(0x30 + code - zero);
}

/** The text with every digit of those scripts written as its ASCII digit; the same string when it has none. */
export function asciiDigits(text: string): string {
  // The common case, ASCII input, costs one scan and no allocation.
  OTHER_DIGIT.lastIndex = 0;
  if (!OTHER_DIGIT.test(text)) return text;
  return text.replace(OTHER_DIGIT, asciiOf);
}
