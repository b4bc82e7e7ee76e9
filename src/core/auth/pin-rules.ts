/**
 * Rules a PIN must meet. A PIN is checked as an opaque string: nothing here logs it, echoes it in
 * a result or puts it in an error message.
 */

export type PinFormatProblem = "not_a_string" | "too_short" | "too_long" | "not_digits";
export type WeakPinReason = "same_digit" | "sequence" | "repeating" | "phone_number" | "common";

// ASCII digits only: "١٢٣٤" (Arabic-Indic) or full-width digits look the same on a screen but are
// different strings, and a phone keypad only ever sends 0-9.
const ASCII_DIGITS = /^[0-9]+$/;

/**
 * Commonly chosen PINs that the structural rules below do not already catch (from published
 * analyses of leaked PIN sets: dates, keypad columns, "love", 1004 for "angel" in Korean …).
 */
const COMMON_PINS: ReadonlySet<string> = new Set([
  "1004", "2000", "2001", "1122", "6969", "1313", "2580", "0852", "5683", "0007", "1998",
  "1999", "2002", "1379", "1470", "7410", "3698", "1478", "0258",
  "112233", "159753", "147258", "789456", "111222", "123321", "147369", "258852", "852456",
  "102030", "001122", "696969", "520520", "123654",
]);

/** Length first, so a 10 KB string costs one comparison, not a regex scan. */
export function pinFormatProblem(pin: unknown, minLength: number, maxLength: number): PinFormatProblem | null {
  if (typeof pin !== "string") return "not_a_string";
  if (pin.length < minLength) return "too_short";
  if (pin.length > maxLength) return "too_long";
  if (!ASCII_DIGITS.test(pin)) return "not_digits";
  return null;
}

function isStraightSequence(pin: string): boolean {
  // Steps of +1 or -1 modulo 10, so 7890 and 2109 count as well as 1234 and 9876.
  const step = (i: number) => (pin.charCodeAt(i + 1) - pin.charCodeAt(i) + 10) % 10;
  const first = step(0);
  if (first !== 1 && first !== 9) return false;
  for (let i = 1; i < pin.length - 1; i++) if (step(i) !== first) return false;
  return true;
}

/** 1212, 4545, 123123, 121212: a short block typed again and again. */
function isRepeatingBlock(pin: string): boolean {
  for (let size = 2; size <= pin.length / 2; size++) {
    if (pin.length % size === 0 && pin.slice(0, size).repeat(pin.length / size) === pin) return true;
  }
  return false;
}

/**
 * Why a well-formed PIN is too easy to guess, or null. msisdn is the subject's number in E.164;
 * its last digits are the first thing someone holding the phone would try.
 */
export function weakPinReason(pin: string, msisdn: string | null): WeakPinReason | null {
  if (/^(.)\1*$/.test(pin)) return "same_digit";
  if (isStraightSequence(pin)) return "sequence";
  if (isRepeatingBlock(pin)) return "repeating";
  if (msisdn !== null && msisdn.replace(/\D/g, "").endsWith(pin)) return "phone_number";
  if (COMMON_PINS.has(pin)) return "common";
  return null;
}
