import { createHash, randomBytes } from "node:crypto";

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

// Lower-case hex digits by char code, and where the dashes go: the writer checks every id of every
// transfer several times (keys, validation), and this loop costs a fraction of a regular
// expression's test. Same language as /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.
const HEX = new Uint8Array(128);
for (const c of "0123456789abcdef") HEX[c.charCodeAt(0)] = 1;
const DASH = 45;

export function isUuid(value: unknown): value is string {
  if (typeof value !== "string" || value.length !== 36) return false;
  for (let i = 0; i < 36; i += 1) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== DASH) return false;
    } else if (c >= 128 || HEX[c] !== 1) return false;
  }
  return value !== NIL_UUID;
}

function format(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// One getrandom call per 4 KiB instead of one per id: ids are made on the hot path.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function takeRandom(target: Buffer, at: number, length: number): void {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  pool.copy(target, at, poolOffset, poolOffset + length);
  poolOffset += length;
}

/**
 * UUIDv7 (RFC 9562): a millisecond timestamp then randomness, so new ids land at the end of the
 * transfers index instead of scattering writes across it.
 */
export function uuidv7(nowMs = Date.now()): string {
  const bytes = Buffer.allocUnsafe(16);
  takeRandom(bytes, 6, 10);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return format(bytes);
}

/**
 * A transfer's reference as people see it on receipts, statements and SMS: the last 10 hex digits
 * of its id, upper case. That is a UUIDv7's random tail and a derived id's hash; a UUIDv7's first
 * digits are its clock, the same for every transfer made in the same quarter second.
 */
export function transferReference(id: string): string {
  return id.replace(/-/g, "").slice(-10).toUpperCase();
}

/**
 * A UUIDv8 derived from a name: the same name always gives the same id. Used where a retry must
 * map to the transfer it already made (an expiry void, a USSD step).
 */
export function derivedUuid(name: string): string {
  const bytes = createHash("sha256").update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return format(Buffer.from(bytes));
}
