/**
 * How an SMS text becomes SMPP short_message payloads: GSM 03.38 (data_coding 0) when every
 * character has a GSM encoding, UCS-2 / UTF-16BE (data_coding 8) otherwise, split into
 * concatenated parts with an 8-bit-reference UDH (05 00 03 ref total seq) when it does not fit one.
 */
import { EXTENDED, GSM_BY_CODE_UNIT, GSM_ESCAPE, gsmSeptets } from "./gsm-alphabet.js";

export interface EncodedSms {
  dataCoding: 0 | 8;
  /** short_message payloads in order, each starting with its UDH when `udhi` is set. */
  parts: Buffer[];
  /** Whether the parts carry a UDH (the submit_sm must then set esm_class bit 0x40). */
  udhi: boolean;
}

export interface EncodeOptions {
  /** Concatenation reference (0–255) shared by the parts; the caller varies it per message. */
  reference: number;
  /** Refuse texts needing more parts than this (1–255; default DEFAULT_MAX_PARTS). */
  maxParts?: number;
}

/** Phones reassemble up to 255 parts, but a receipt or notice longer than 10 parts is a bug. */
export const DEFAULT_MAX_PARTS = 10;

/** Capacities per part, in septets (GSM) or UTF-16 code units (UCS-2); the UDH takes 6 octets. */
export const GSM_SINGLE_SEPTETS = 160;
export const GSM_PART_SEPTETS = 153;
export const UCS2_SINGLE_UNITS = 70;
export const UCS2_PART_UNITS = 67;

const UDH_LENGTH = 6;

export class SmsTooLongError extends Error {
  constructor(
    readonly partsNeeded: number,
    readonly maxParts: number,
  ) {
    super(`SMS text needs at least ${partsNeeded} parts, more than the limit of ${maxParts}`);
    this.name = "SmsTooLongError";
  }
}

/**
 * A text as indivisible groups of bytes, one per character: GSM septets (an escape sequence stays
 * with its character) or UTF-16BE code units (a surrogate pair stays together). Splitting only
 * between groups is what keeps a part boundary from cutting a character in half.
 */
interface Units {
  dataCoding: 0 | 8;
  groups: Buffer[];
  /** Septets or UTF-16 code units in total. */
  size: number;
}

function gsmUnits(text: string): Units | null {
  const groups: Buffer[] = [];
  let size = 0;
  for (const char of text) {
    const septets = gsmSeptets(char);
    if (septets === null) return null;
    groups.push(Buffer.from(septets));
    size += septets.length;
  }
  return { dataCoding: 0, groups, size };
}

function ucs2Units(text: string): Units {
  const groups: Buffer[] = [];
  for (const char of text) groups.push(Buffer.from(char, "utf16le").swap16());
  // Each UTF-16 code unit is two bytes, so the byte count halves into code units.
  return { dataCoding: 8, groups, size: text.length };
}

/**
 * The common case (a receipt in a Latin-script language) without per-character allocation: the
 * septets of a GSM text that fits one part, or null to take the general path.
 */
function singleGsmPart(text: string): Buffer | null {
  if (text.length > GSM_SINGLE_SEPTETS) return null;
  const out = Buffer.allocUnsafe(GSM_SINGLE_SEPTETS);
  let size = 0;
  for (let i = 0; i < text.length; i++) {
    const code = GSM_BY_CODE_UNIT[text.charCodeAt(i)]!;
    if (code < 0) return null;
    if (code & EXTENDED) {
      if (size + 2 > GSM_SINGLE_SEPTETS) return null;
      out[size++] = GSM_ESCAPE;
      out[size++] = code & 0x7f;
    } else {
      if (size + 1 > GSM_SINGLE_SEPTETS) return null;
      out[size++] = code;
    }
  }
  return Buffer.from(out.subarray(0, size));
}

/** Greedy packing of groups into chunks whose unit count stays within `capacity`. */
function pack(units: Units, capacity: number): Buffer[][] {
  const bytesPerUnit = units.dataCoding === 0 ? 1 : 2;
  const chunks: Buffer[][] = [];
  let chunk: Buffer[] = [];
  let used = 0;
  for (const group of units.groups) {
    const width = group.length / bytesPerUnit;
    if (used + width > capacity) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(group);
    used += width;
  }
  chunks.push(chunk);
  return chunks;
}

function udh(reference: number, total: number, seq: number): Buffer {
  return Buffer.from([UDH_LENGTH - 1, 0x00, 0x03, reference, total, seq]);
}

function checkOptions(options: EncodeOptions): number {
  const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS;
  if (!Number.isInteger(options.reference) || options.reference < 0 || options.reference > 255) {
    throw new RangeError(`concatenation reference must be an integer 0–255, got ${options.reference}`);
  }
  if (!Number.isInteger(maxParts) || maxParts < 1 || maxParts > 255) {
    throw new RangeError(`maxParts must be an integer 1–255, got ${maxParts}`);
  }
  return maxParts;
}

/**
 * Encodes a text for submit_sm. An empty text is one empty GSM part (the caller decides whether
 * an empty SMS makes sense). Throws SmsTooLongError when it needs more than `maxParts` parts.
 */
export function encodeSms(text: string, options: EncodeOptions): EncodedSms {
  const maxParts = checkOptions(options);
  // Every character is at least one septet and one UTF-16 unit, so this bounds the work done
  // on an absurdly long input before any per-character loop runs.
  const upperBound = maxParts * GSM_PART_SEPTETS;
  if (text.length > upperBound) throw new SmsTooLongError(Math.ceil(text.length / GSM_PART_SEPTETS), maxParts);

  const single = singleGsmPart(text);
  if (single !== null) return { dataCoding: 0, parts: [single], udhi: false };
  const units = gsmUnits(text) ?? ucs2Units(text);
  const singleCapacity = units.dataCoding === 0 ? GSM_SINGLE_SEPTETS : UCS2_SINGLE_UNITS;
  if (units.size <= singleCapacity) {
    return { dataCoding: units.dataCoding, parts: [Buffer.concat(units.groups)], udhi: false };
  }
  const chunks = pack(units, units.dataCoding === 0 ? GSM_PART_SEPTETS : UCS2_PART_UNITS);
  if (chunks.length > maxParts) throw new SmsTooLongError(chunks.length, maxParts);
  const parts = chunks.map((chunk, i) => Buffer.concat([udh(options.reference, chunks.length, i + 1), ...chunk]));
  return { dataCoding: units.dataCoding, parts, udhi: true };
}
