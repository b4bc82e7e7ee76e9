/**
 * The wrong-PIN answers of recent requests, so that a retry of the very same request (its id and
 * every field of its body, the PIN included) is answered pin_wrong again without the PIN service
 * counting another wrong PIN. An agent's app or an aggregator retries a request until it hears an
 * answer: until 2026-11-30 each retry of one typo counted, and three locked the agent (or, on a
 * withdrawal, the customer) out.
 *
 * Safe for the lockout: repeating a guess already counted and answered tells nothing new, and only
 * the same PIN is answered from here; another PIN under the same request id, or the same PIN under
 * another request, is a new guess, checked and counted. Only pin_wrong is remembered, never
 * pin_locked (a lock may have met a right PIN, which must go through once it ends) nor success.
 *
 * What is kept is a keyed digest (HMAC-SHA-256 under a random key made by this process and never
 * written anywhere), not the PIN: a short PIN's plain hash could be reversed by trying every PIN.
 * In this process only, bounded in count and time: a retry reaching another instance, or coming
 * later than the window, is checked and counted as before.
 */
import { createHmac, randomBytes } from "node:crypto";

/** How long a wrong-PIN answer is replayed: longer than any client's retries of one request. */
export const WRONG_PIN_REPLAY_MS = 15 * 60_000;
/** Requests remembered at most (about 100 bytes each); the oldest go first. */
export const MAX_WRONG_PIN_REPLAYS = 20_000;

/** A request as its PIN was checked: whose PIN, which operation, and everything the caller sent. */
export interface PinRequest {
  subject: { type: "agent" | "customer"; id: string };
  /** The operation ("cash_in", "withdraw", "cash_out"): the same body under another is another request. */
  operation: string;
  /** The request's fields, the PIN and request id among them; flat (strings, numbers, bigints). */
  body: object;
  /** When the subject's PIN was set, as it stood when the answer was given: a PIN set again since is another. */
  pinSetAt: string;
}

export class WrongPinReplays {
  private readonly key = randomBytes(32);
  /** Digest of a request answered pin_wrong → when that answer stops being replayed (ms). */
  private readonly until = new Map<string, number>();
  /** Subject → when its newest remembered answer stops being replayed: who is worth a look at all. */
  private readonly subjects = new Map<string, number>();

  constructor(
    private readonly ttlMs = WRONG_PIN_REPLAY_MS,
    private readonly max = MAX_WRONG_PIN_REPLAYS,
  ) {}

  /** Whether any request of this subject is remembered (so the PIN's standing is worth reading). */
  has(subjectId: string, nowMs: number): boolean {
    return (this.subjects.get(subjectId) ?? 0) > nowMs;
  }

  /** Whether this very request was answered pin_wrong within the window. */
  answeredWrong(request: PinRequest, nowMs: number): boolean {
    const digest = this.digest(request);
    const until = this.until.get(digest);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.until.delete(digest);
    return false;
  }

  rememberWrong(request: PinRequest, nowMs: number): void {
    const digest = this.digest(request);
    // Re-inserted as the newest: a Map iterates in insertion order, so the oldest go first.
    setNewest(this.until, digest, nowMs + this.ttlMs, this.max);
    setNewest(this.subjects, request.subject.id, nowMs + this.ttlMs, this.max);
  }

  private digest(request: PinRequest): string {
    return createHmac("sha256", this.key).update(canonical(request)).digest("base64url");
  }
}

/** Sets key as the map's newest (a Map iterates in insertion order), dropping the oldest beyond max. */
function setNewest(map: Map<string, number>, key: string, value: number, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) for (const oldest of map.keys()) {
    map.delete(oldest);
    break;
  }
}

/**
 * One text per request, the same for the same fields whatever their order; each value with its
 * type, so that 5000n and "5000" (or an absent field and an empty one) are told apart.
 */
function canonical({ subject, operation, body, pinSetAt }: PinRequest): string {
  const fields = Object.entries(body)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => [name, typeof value, String(value)]);
  return JSON.stringify([subject.type, subject.id, pinSetAt, operation, fields]);
}
