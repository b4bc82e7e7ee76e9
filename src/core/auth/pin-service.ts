import { randomInt } from "node:crypto";
import { ACTOR_TYPES, CHANNELS, type AuditEntryInput, type AuditLog, type AuditOutcome } from "../audit/audit-entry.js";
import type { Notice } from "../notices/types.js";
import { PIN_MAX_DIGITS, PIN_MIN_DIGITS, resolvePinPolicy, type PinPolicy } from "./pin-policy.js";
import { pinFormatProblem, weakPinReason } from "./pin-rules.js";
import { CLEARED_COUNTER, wrongAttempt } from "./lockout.js";
import type { AttemptReservation, PinCredential, PinHasher, PinStore, SeenCredential, StoredPin } from "./ports.js";
import type { SimSwapCheck } from "./sim-swap.js";
import {
  isE164,
  isSubjectId,
  isValidContext,
  type AuthContext,
  type ChangePinResult,
  type PinInvalid,
  type PinLocked,
  type PinWrong,
  type ResetPinResult,
  type SetPinResult,
  type UnlockPinResult,
  type VerifyPinResult,
} from "./types.js";

export interface SetPinInput extends AuthContext {
  subjectId: string;
  /** The subject's number in E.164, kept for the weak-PIN rule. */
  msisdn: string;
  pin: string;
}

export interface VerifyPinInput extends AuthContext {
  subjectId: string;
  pin: string;
}

export interface ChangePinInput extends AuthContext {
  subjectId: string;
  oldPin: string;
  newPin: string;
}

/** By a bank user only, after the bank has checked the customer's identity in person. */
export interface ResetPinInput extends AuthContext {
  subjectId: string;
  newPin: string;
  /**
   * The subject's number (E.164), from the bank's own records: for a subject with no PIN at all
   * (its registration failed between the customer and the PIN), the reset then sets the first one.
   */
  msisdn?: string;
}

export interface UnlockPinInput extends AuthContext {
  subjectId: string;
}

export interface PinServiceDeps {
  store: PinStore;
  /** The current scheme: new PINs are hashed with it, and credentials of other schemes are re-keyed to it. */
  hasher: PinHasher;
  /** Older schemes whose credentials still verify until their next success re-keys them. */
  previous?: PinHasher[];
  audit: AuditLog;
  /** The SIM-swap guard: a PIN reset during cooling could hand the account to a SIM thief. */
  simSwap: { checkPinReset(msisdn: string): Promise<SimSwapCheck> };
  policy?: Partial<PinPolicy>;
  clock?: () => Date;
  /** How many subjects' counters this process keeps for the one-write verify (0: none). */
  seenCredentials?: number;
  /**
   * How long an attempt that meets a lock which may still be lifted (made with attempts in flight)
   * waits for them to settle before it answers pin_locked; also how old such a lock must be to
   * count as final. Default LOCK_SETTLE_MS.
   */
  lockSettleMs?: number;
}

/** A subject's credential as this process last wrote or read it. */
interface Seen extends SeenCredential {
  pinScheme: string;
}

/**
 * An attempt that was counted and checked: right (not yet settled) or refused (already counted;
 * `wrong`: the counted attempt whose PIN was checked and found wrong, for settleWrong).
 */
type Attempt =
  | { ok: true; pinHash: string; scheme: string; msisdn: string; attemptSeq: number; rekeyed?: StoredPin }
  | { ok: false; result: PinWrong | PinLocked; detail: Record<string, unknown>; wrong?: { pinHash: string; attemptSeq: number } };

const WRONG: PinWrong = { ok: false, code: "pin_wrong" };
/** Subjects whose counters a process keeps for the one-write verify (~200 bytes each). */
const DEFAULT_SEEN_CREDENTIALS = 20_000;
/**
 * How long a lock may still be the product of attempts in flight (see countSettled): far longer
 * than an attempt takes from its count to its settle (milliseconds; ~33 ms with Argon2id).
 */
const LOCK_SETTLE_MS = 1_500;
/** Pauses between looks at such a lock, in ms; settles in this process wake the waiters sooner. */
const LOCK_POLL_MS = [2, 4, 8, 16, 32, 64, 100];
/**
 * Sets key to value as the map's newest entry (a Map iterates in insertion order) and drops the
 * oldest beyond max: the per-subject memories a process keeps stay bounded, least recent out first.
 */
function setNewest<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) for (const oldest of map.keys()) {
    map.delete(oldest);
    break;
  }
}

/** The dummy verifier's subject: unknown subjects are checked against it (and never match). */
const DUMMY_SUBJECT = "00000000-0000-0000-0000-000000000000";

/**
 * PINs of customers and agents (the subject): set once, verified with lockout, changed with the
 * old PIN, reset and unlocked by the bank. A PIN is only ever passed to the hasher; results,
 * audit entries and errors never contain it. Each credential records its scheme; a right PIN on a
 * credential of an older scheme is re-keyed to the current one in the write that settles it.
 */
export class PinService {
  readonly policy: PinPolicy;
  private readonly clock: () => Date;
  private dummy: Promise<string> | undefined;
  private readonly hashers = new Map<string, PinHasher>();
  /** Counters seen per subject, oldest use first (a Map iterates in insertion order). */
  private readonly seen = new Map<string, Seen>();
  private readonly maxSeen: number;
  /** Per subject, the numbers of this process's latest counted attempts that were wrong (bounded). */
  private readonly wrongSeqs = new Map<string, number[]>();
  /** Attempts waiting for a subject's attempts in flight to settle (see countSettled). */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly lockSettleMs: number;

  constructor(private readonly deps: PinServiceDeps) {
    this.policy = resolvePinPolicy(deps.policy);
    this.maxSeen = deps.seenCredentials ?? DEFAULT_SEEN_CREDENTIALS;
    this.clock = deps.clock ?? (() => new Date());
    this.lockSettleMs = deps.lockSettleMs ?? LOCK_SETTLE_MS;
    for (const h of [...(deps.previous ?? []), deps.hasher]) this.hashers.set(h.scheme, h);
  }

  async setPin(input: SetPinInput): Promise<SetPinResult> {
    const bad = checkRequest(input);
    if (bad) return bad;
    if (!isE164(input.msisdn)) return { ok: false, code: "invalid_msisdn" };
    const invalid = this.newPinProblem(input.pin);
    if (invalid) return invalid;
    const weak = weakPinReason(input.pin, input.msisdn);
    if (weak) return this.refuse(input, "pin.set", { ok: false, code: "pin_weak", reason: weak });
    const now = this.clock();
    const credential = await this.firstCredential(input.subjectId, input.msisdn, input.pin, now);
    if (await this.deps.store.insert(credential, now, [entry(input, "pin.set", "ok")])) return { ok: true };
    return this.refuse(input, "pin.set", { ok: false, code: "pin_already_set" });
  }

  async verifyPin(input: VerifyPinInput): Promise<VerifyPinResult> {
    const bad = checkRequest(input) ?? anyPinProblem(input.pin);
    if (bad) return bad;
    try {
      return await this.verifyChecked(input);
    } finally {
      this.wake(input.subjectId);
    }
  }

  private async verifyChecked(input: VerifyPinInput): Promise<VerifyPinResult> {
    const now = this.clock();
    const decided = await this.verifySeen(input, now);
    if (decided) return decided;
    const attempt = await this.attempt(input.subjectId, input.pin, now);
    if (!attempt.ok) return this.refuseAttempt(input, "pin.verify", attempt, now);
    const audit = (rekeyed: StoredPin | undefined) => [entry(input, "pin.verify", "ok", rekeyed ? { rekeyedTo: rekeyed.scheme } : {})];
    let settled: Awaited<ReturnType<PinService["settleRight"]>>;
    try {
      settled = await this.settleRight(input.subjectId, input.pin, attempt, now, audit);
    } catch (error) {
      // A right PIN left counted by a failed write (a dropped connection) would count towards a lock:
      // three blips while the customer types the right PIN would lock them out. Tried once more;
      // the caller hears "ok" only if that settled (durable and audited), the first error otherwise.
      settled = await this.settleRight(input.subjectId, input.pin, attempt, now, audit).catch(() => null);
      if (!settled) throw error;
    }
    if (settled) {
      this.remember(input.subjectId, { ...settled, failedAttempts: 0, lockCount: 0, attemptSeq: attempt.attemptSeq });
      return { ok: true };
    }
    // The PIN was changed or reset between the count and the check: the old one no longer counts.
    this.seen.delete(input.subjectId);
    return this.refuse(input, "pin.verify", WRONG, { code: "pin_wrong", changedMeanwhile: true });
  }

  /**
   * Settles a counted right PIN (settleSuccess) with the entries `audit` makes for the re-keying it
   * writes, if any. The settle matches the verifier the attempt was counted and checked against; when
   * that has changed meanwhile, the PIN is checked again against the verifier as it is now and settled
   * against that one if it is right there. A concurrent right PIN that re-keyed the credential (an
   * Argon2id verifier replaced by the keyed one: the same PIN) must not turn this one into a wrong
   * PIN whose counted attempt is never forgiven; a change or reset to another PIN still makes it
   * wrong. The verifier it settled against, or null when the PIN is not right as things stand.
   */
  private async settleRight(
    subjectId: string,
    pin: string,
    attempt: Extract<Attempt, { ok: true }>,
    now: Date,
    audit: (rekeyed: StoredPin | undefined) => AuditEntryInput[],
  ): Promise<{ pinHash: string; pinScheme: string } | null> {
    let { pinHash, scheme, rekeyed } = attempt;
    // Each round follows a change of the verifier that kept this PIN right; a few at most in practice.
    for (let round = 0; round < 3; round++) {
      if (await this.deps.store.settleSuccess(subjectId, pinHash, attempt.attemptSeq, now, audit(rekeyed), rekeyed)) {
        return { pinHash: rekeyed?.pinHash ?? pinHash, pinScheme: rekeyed?.scheme ?? scheme };
      }
      const current = await this.stillRight(subjectId, pin, pinHash);
      if (!current) return null;
      ({ pinHash, pinScheme: scheme } = current);
      rekeyed = current.pinScheme === this.deps.hasher.scheme ? undefined : await this.stored(pin, subjectId);
    }
    return null;
  }

  /**
   * The credential as it is now, when its verifier is no longer `pinHash` but the PIN, already
   * counted and found right against `pinHash`, is right against it too (the same PIN re-keyed by a
   * concurrent right PIN); null when unchanged, gone, or changed to another PIN. Not a new attempt:
   * the same PIN, counted once, checked against the verifier that replaced the one it matched.
   */
  private async stillRight(subjectId: string, pin: string, pinHash: string): Promise<PinCredential | null> {
    const current = await this.deps.store.find(subjectId);
    if (!current || current.pinHash === pinHash) return null;
    const hasher = this.hashers.get(current.pinScheme);
    return hasher && (await hasher.verify(current.pinHash, pin, subjectId)) ? current : null;
  }

  /**
   * The one-write verify: with a fast hasher and the subject's credential as this process last
   * saw it, the PIN is checked first and the outcome (counter cleared, or the attempt counted,
   * locking at the limit) written with its audit entry in one statement that applies only if the
   * row is still exactly as seen and unlocked. The entry and the answer are the ones the counted
   * path gives. Counting first protects a slow hash's CPU; here a concurrent attempt changes the
   * counter, so of several at once one applies and the rest take the counted path, which serializes
   * them: no more wrong PINs are counted than the limit allows. Null: not applied, nothing written.
   */
  private async verifySeen(input: VerifyPinInput, now: Date): Promise<VerifyPinResult | null> {
    const seen = this.seen.get(input.subjectId);
    if (!seen || seen.pinScheme !== this.deps.hasher.scheme || !this.deps.hasher.fastVerify) return null;
    // Taken out now and put back only once applied: a failure leaves the subject to the counted path.
    this.seen.delete(input.subjectId);
    const right = await this.deps.hasher.verify(seen.pinHash, input.pin, input.subjectId).catch(() => null);
    if (right === null) return null;
    if (right) {
      if (!(await this.deps.store.settleSeen(input.subjectId, seen, CLEARED_COUNTER, now, [entry(input, "pin.verify", "ok")]))) return null;
      this.remember(input.subjectId, { ...seen, failedAttempts: 0, lockCount: 0, attemptSeq: seen.attemptSeq + 1 });
      return { ok: true };
    }
    const after = wrongAttempt(seen, now, this.policy);
    const locked = after.lockedAt !== null;
    const detail = { code: "pin_wrong", failedAttempts: after.failedAttempts, locked, lockedUntil: after.lockedUntil };
    if (!(await this.deps.store.settleSeen(input.subjectId, seen, after, now, [entry(input, "pin.verify", "refused", detail)]))) return null;
    // This wrong PIN is attempt seen.attemptSeq + 1 (the write matched the row's number): known wrong.
    this.recordWrong(input.subjectId, seen.attemptSeq + 1);
    if (!locked) this.remember(input.subjectId, { ...seen, failedAttempts: after.failedAttempts, lockCount: after.lockCount, attemptSeq: seen.attemptSeq + 1 });
    return locked ? { ok: false, code: "pin_locked", lockedUntil: after.lockedUntil } : WRONG;
  }

  private remember(subjectId: string, seen: Seen): void {
    if (this.maxSeen > 0) setNewest(this.seen, subjectId, seen, this.maxSeen);
  }

  async changePin(input: ChangePinInput): Promise<ChangePinResult> {
    this.seen.delete(input.subjectId); // what it writes makes the seen counter stale
    const bad = checkRequest(input) ?? withField(anyPinProblem(input.oldPin), "oldPin") ?? withField(this.newPinProblem(input.newPin), "newPin");
    if (bad) return bad;
    if (input.oldPin === input.newPin) return { ok: false, code: "pin_unchanged" };
    try {
      return await this.changeChecked(input);
    } finally {
      this.wake(input.subjectId);
    }
  }

  private async changeChecked(input: ChangePinInput): Promise<ChangePinResult> {
    const now = this.clock();
    // The old PIN goes through the same counted attempt as a verify: change must not be a way
    // around the lockout.
    const attempt = await this.attempt(input.subjectId, input.oldPin, now);
    if (!attempt.ok) return this.refuseAttempt(input, "pin.change", attempt, now);
    try {
      return await this.changeRight(input, attempt, now);
    } catch (error) {
      // The old PIN was right: a step after the check that fails (the SIM-swap lookup, the write)
      // must not leave its attempt counted, or a few database blips lock out a customer who typed
      // the right PIN. Settled best-effort, audited as an error, before the failure is passed on.
      const failed = () => [entry(input, "pin.change", "error", { code: "unavailable" })];
      await this.settleRight(input.subjectId, input.oldPin, attempt, now, failed).catch(() => null);
      throw error;
    }
  }

  /** A change whose old PIN was right (attempt, counted, not yet settled): refused and settled, or done. */
  private async changeRight(input: ChangePinInput, attempt: Extract<Attempt, { ok: true }>, now: Date): Promise<ChangePinResult> {
    // Right after a SIM swap, whoever holds the SIM and knows the PIN must not lock the owner out
    // by changing it (the bank's reset is refused in that window too). The old PIN was right: settled.
    const swap = await this.deps.simSwap.checkPinReset(attempt.msisdn);
    if (!swap.ok && swap.code === "sim_swap_cooling") {
      const refused = entry(input, "pin.change", "refused", { code: "sim_swap_cooling", endsAt: swap.endsAt.toISOString() });
      if (await this.settleRight(input.subjectId, input.oldPin, attempt, now, () => [refused])) return swap;
      return this.refuse(input, "pin.change", WRONG, { code: "pin_wrong", changedMeanwhile: true });
    }
    const weak = weakPinReason(input.newPin, attempt.msisdn);
    if (weak) {
      // The old PIN was right, so its attempt is settled as a success; the new PIN is refused.
      const refused = entry(input, "pin.change", "refused", { code: "pin_weak", reason: weak });
      if (await this.settleRight(input.subjectId, input.oldPin, attempt, now, () => [refused])) return { ok: false, code: "pin_weak", reason: weak };
      return this.refuse(input, "pin.change", WRONG, { code: "pin_wrong", changedMeanwhile: true });
    }
    const next = await this.stored(input.newPin, input.subjectId);
    const notices = [pinNotice(attempt.msisdn, "notice.pin_changed")];
    let expected = attempt.pinHash;
    // Each round follows a re-keying of the verifier to the same PIN (as in settleRight): without
    // it, a change racing a concurrent verify's re-keying was told its right old PIN was wrong.
    for (let round = 0; round < 3; round++) {
      if (await this.deps.store.replaceHash(input.subjectId, expected, next, now, [entry(input, "pin.change", "ok")], notices)) return { ok: true };
      const current = await this.stillRight(input.subjectId, input.oldPin, expected);
      if (!current) break;
      expected = current.pinHash;
    }
    return this.refuse(input, "pin.change", WRONG, { code: "pin_wrong", changedMeanwhile: true });
  }

  /**
   * Where a subject's PIN stands, read without counting or checking anything: when it was last set
   * (changed by a set, change or reset, not by a re-keying of the same PIN) and whether it is locked
   * now. null: no PIN. For a caller that replays an answer it already had for a PIN (the agents'
   * WrongPinReplays): the answer holds only while the PIN set then is still the one set, unlocked.
   */
  async pinStanding(subjectId: string): Promise<{ setAt: string; locked: boolean } | null> {
    const credential = await this.deps.store.find(subjectId);
    if (!credential) return null;
    const now = this.clock().getTime();
    const locked = credential.lockedAt !== null && (credential.lockedUntil === null || credential.lockedUntil.getTime() > now);
    return { setAt: credential.pinSetAt.toISOString(), locked };
  }

  async resetPin(input: ResetPinInput): Promise<ResetPinResult> {
    this.seen.delete(input.subjectId); // what it writes makes the seen counter stale
    const bad = checkRequest(input) ?? withField(this.newPinProblem(input.newPin), "newPin");
    if (bad) return bad;
    if (input.actor.type !== "bank_user") return this.refuse(input, "pin.reset", { ok: false, code: "not_authorized" });
    const credential = await this.deps.store.find(input.subjectId);
    if (!credential) return this.firstPin(input);
    const refused = await this.resetRefusal(input, credential.msisdn);
    if (refused) return refused;
    const now = this.clock();
    const next = await this.stored(input.newPin, input.subjectId);
    const audit = [entry(input, "pin.reset", "ok", { wasLocked: credential.lockedAt !== null })];
    const notices = [pinNotice(credential.msisdn, "notice.pin_reset")];
    if (await this.deps.store.replaceHash(input.subjectId, null, next, now, audit, notices)) return { ok: true };
    return this.refuse(input, "pin.reset", { ok: false, code: "pin_not_set" });
  }

  /** A bank's reset for a subject that has no PIN: the first one, with the reset's checks and audit. */
  private async firstPin(input: ResetPinInput): Promise<ResetPinResult> {
    if (input.msisdn === undefined || !isE164(input.msisdn)) return this.refuse(input, "pin.reset", { ok: false, code: "pin_not_set" });
    const refused = await this.resetRefusal(input, input.msisdn);
    if (refused) return refused;
    const now = this.clock();
    const credential = await this.firstCredential(input.subjectId, input.msisdn, input.newPin, now);
    // The customer hears of it, as of any reset: a PIN they did not choose must not go unnoticed.
    const notices = [pinNotice(input.msisdn, "notice.pin_reset")];
    if (await this.deps.store.insert(credential, now, [entry(input, "pin.reset", "ok", { first: true })], notices)) return { ok: true };
    // Set meanwhile (the customer finished registering): not overwritten; the bank sees the PIN is
    // there and must decide on a reset of it knowingly.
    return this.refuse(input, "pin.reset", { ok: false, code: "pin_already_set" });
  }

  /** Why a reset to input.newPin must not happen for the holder of `msisdn` (a weak PIN, a recent SIM swap); null when it may. */
  private async resetRefusal(input: ResetPinInput, msisdn: string): Promise<ResetPinResult | null> {
    const weak = weakPinReason(input.newPin, msisdn);
    if (weak) return this.refuse(input, "pin.reset", { ok: false, code: "pin_weak", reason: weak });
    const swap = await this.deps.simSwap.checkPinReset(msisdn);
    return !swap.ok && swap.code === "sim_swap_cooling" ? this.refuse(input, "pin.reset", swap) : null;
  }

  /** A subject's first credential: the PIN under the current scheme, no attempts, no lock. */
  private async firstCredential(subjectId: string, msisdn: string, pin: string, now: Date): Promise<PinCredential> {
    const next = await this.stored(pin, subjectId);
    return { subjectId, msisdn, pinHash: next.pinHash, pinScheme: next.scheme, failedAttempts: 0, lockCount: 0, attemptSeq: 0, lockedAt: null, lockedUntil: null, pinSetAt: now };
  }

  async unlockPin(input: UnlockPinInput): Promise<UnlockPinResult> {
    this.seen.delete(input.subjectId); // what it writes makes the seen counter stale
    const bad = checkRequest(input);
    if (bad) return bad;
    if (input.actor.type !== "bank_user") return this.refuse(input, "pin.unlock", { ok: false, code: "not_authorized" });
    const now = this.clock();
    const unlocked = await this.deps.store.unlock(input.subjectId, now, [entry(input, "pin.unlock", "ok")]);
    if (!unlocked) return this.refuse(input, "pin.unlock", { ok: false, code: "pin_not_set" });
    return { ok: true, wasLocked: unlocked.wasLocked };
  }

  /**
   * Counts the attempt first, then checks the hash. An unknown subject costs the same
   * verification (against a dummy made by the current scheme) and gets the same pin_wrong, so
   * neither the answer nor its timing says whether the subject exists.
   */
  private async attempt(subjectId: string, pin: string, now: Date): Promise<Attempt> {
    const counted = await this.countSettled(subjectId, now);
    if (counted.kind === "locked") {
      const result: PinLocked = { ok: false, code: "pin_locked", lockedUntil: counted.lockedUntil };
      return { ok: false, result, detail: { code: "pin_locked", lockedUntil: counted.lockedUntil } };
    }
    if (counted.kind === "unknown") {
      await this.deps.hasher.verify(await this.dummyHash(), pin, subjectId);
      return { ok: false, result: WRONG, detail: { code: "pin_wrong", known: false } };
    }
    const matched = await this.check(subjectId, pin, counted);
    if (matched) {
      const hasher = this.hashers.get(counted.pinScheme)!;
      const rekeyed = hasher === this.deps.hasher ? undefined : await this.stored(pin, subjectId);
      return { ok: true, pinHash: counted.pinHash, scheme: counted.pinScheme, msisdn: counted.msisdn, attemptSeq: counted.attemptSeq, rekeyed };
    }
    this.recordWrong(subjectId, counted.attemptSeq);
    this.wake(subjectId);
    const detail = { code: "pin_wrong", failedAttempts: counted.failedAttempts, locked: counted.lockedNow, lockedUntil: counted.lockedUntil };
    if (counted.lockedNow) this.seen.delete(subjectId);
    else this.remember(subjectId, { pinHash: counted.pinHash, pinScheme: counted.pinScheme, failedAttempts: counted.failedAttempts, lockCount: counted.lockCount, attemptSeq: counted.attemptSeq });
    // The attempt that reaches the limit says so, so that the user learns why the next one fails.
    const result: PinWrong | PinLocked = counted.lockedNow ? { ok: false, code: "pin_locked", lockedUntil: counted.lockedUntil } : WRONG;
    return { ok: false, result, detail, wrong: { pinHash: counted.pinHash, attemptSeq: counted.attemptSeq } };
  }

  /**
   * Audits a refused attempt. A wrong PIN's entry is written by settleWrong, which also notes the
   * attempt as known wrong in the same statement (no more writes than an audit entry alone), so
   * that another process meeting a lock of such attempts answers pin_locked at once (countSettled).
   * Audited alone when the PIN changed since (nothing then left to note).
   */
  private async refuseAttempt<R extends PinWrong | PinLocked>(
    input: AuthContext & { subjectId: string },
    action: "pin.verify" | "pin.change",
    attempt: { result: R; detail: Record<string, unknown>; wrong?: { pinHash: string; attemptSeq: number } },
    now: Date,
  ): Promise<R> {
    const { wrong } = attempt;
    const audit = [entry(input, action, "refused", attempt.detail)];
    if (wrong && (await this.deps.store.settleWrong(input.subjectId, wrong.pinHash, wrong.attemptSeq, now, audit))) return attempt.result;
    return this.refuse(input, action, attempt.result, attempt.detail);
  }

  /**
   * Counts an attempt. Counting before checking is what bounds parallel guessing, but it also lets
   * the attempts in flight reach the limit together and lock the PIN although they may all be
   * right (one payer's simultaneous payments): such a lock is lifted when a right one settles
   * (settleRight). So an attempt that meets a lock does not answer pin_locked at once unless the
   * lock is final: older than lockSettleMs (its attempts have long settled), or made only by
   * attempts known wrong (noted in the store by whichever process checked them, or seen failing
   * here). Only a lock with attempts still in flight, which a right one may lift, is waited for:
   * before the store noted wrong PINs, every lock made in another process cost the next attempt
   * here the whole lockSettleMs (1.5 s of a USSD hop's few seconds). Otherwise it waits, at most lockSettleMs, for the attempts in
   * flight to settle (woken by settles in this process, polling for other processes') and counts
   * again. Waiting never checks a PIN: every check still follows a count, and a right PIN forgives
   * only what was counted up to it, so no more than maxAttempts wrong PINs are checked after a
   * success before the lock, whatever the interleaving or the number of processes. A lock that
   * wrong PINs made stays; the waiters then answer pin_locked, a little later. Nothing is written
   * or audited while waiting.
   */
  private async countSettled(subjectId: string, now: Date): Promise<AttemptReservation> {
    const started = performance.now();
    let at = now;
    for (let round = 0; ; round++) {
      const counted = await this.deps.store.countAttempt(subjectId, at, this.policy);
      if (counted.kind !== "locked" || this.lockIsFinal(subjectId, counted, at)) return counted;
      const left = this.lockSettleMs - (performance.now() - started);
      if (left <= 0) return counted;
      await this.settledOrAfter(subjectId, Math.min(LOCK_POLL_MS[Math.min(round, LOCK_POLL_MS.length - 1)]!, left));
      at = this.clock();
    }
  }

  /** Whether a lock can no longer be lifted by attempts in flight (see countSettled). */
  private lockIsFinal(subjectId: string, lock: Extract<AttemptReservation, { kind: "locked" }>, now: Date): boolean {
    if (lock.lockedAt === null) return false; // lifted between the count and the read: count again
    if (this.lockSettleMs <= 0 || now.getTime() - lock.lockedAt.getTime() >= this.lockSettleMs) return true;
    // Every attempt of the lock checked and found wrong, in whichever process: none can lift it.
    if (lock.wrongKnown !== undefined && lock.wrongKnown >= lock.failedAttempts) return true;
    const wrong = this.wrongSeqs.get(subjectId);
    if (!wrong || lock.failedAttempts <= 0) return false;
    for (let seq = lock.attemptSeq - lock.failedAttempts + 1; seq <= lock.attemptSeq; seq++) if (!wrong.includes(seq)) return false;
    return true;
  }

  private recordWrong(subjectId: string, attemptSeq: number): void {
    const wrong = this.wrongSeqs.get(subjectId) ?? [];
    wrong.push(attemptSeq);
    if (wrong.length > this.policy.maxAttempts) wrong.shift();
    setNewest(this.wrongSeqs, subjectId, wrong, DEFAULT_SEEN_CREDENTIALS);
  }

  /** Resolves after ms, or sooner when an attempt of the subject settles in this process. */
  private settledOrAfter(subjectId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(subjectId) ?? new Set<() => void>();
      this.waiters.set(subjectId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(subjectId) === set) this.waiters.delete(subjectId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  private wake(subjectId: string): void {
    const set = this.waiters.get(subjectId);
    if (set) for (const done of [...set]) done();
  }

  /**
   * Whether the PIN matches the counted verifier. A verifier this process cannot check (a scheme
   * it lacks, or a key other than its own: a configuration error, not a wrong PIN) throws, so that
   * customers are told the service is unavailable; the attempt is taken back first, or a mis-set
   * key would lock every customer out one right PIN at a time.
   */
  private async check(subjectId: string, pin: string, counted: Extract<AttemptReservation, { kind: "counted" }>): Promise<boolean> {
    try {
      const hasher = this.hashers.get(counted.pinScheme);
      if (!hasher) throw new Error(`PIN scheme ${counted.pinScheme} is not configured`);
      return await hasher.verify(counted.pinHash, pin, subjectId);
    } catch (error) {
      await this.deps.store.refundAttempt(subjectId, counted.pinHash, counted.lockedNow);
      throw error;
    }
  }

  private async stored(pin: string, subjectId: string): Promise<StoredPin> {
    return { scheme: this.deps.hasher.scheme, pinHash: await this.deps.hasher.hash(pin, subjectId) };
  }

  private dummyHash(): Promise<string> {
    const pin = String(randomInt(0, 1_000_000)).padStart(PIN_MAX_DIGITS, "0");
    this.dummy ??= this.deps.hasher.hash(pin, DUMMY_SUBJECT).catch((error: unknown) => {
      this.dummy = undefined;
      throw error;
    });
    return this.dummy;
  }

  private newPinProblem(pin: unknown): PinInvalid | null {
    const reason = pinFormatProblem(pin, this.policy.minLength, this.policy.maxLength);
    return reason ? { ok: false, code: "pin_invalid", reason } : null;
  }

  /** Audits a refusal (its code and non-secret details) and returns it. */
  private async refuse<const R extends { ok: false; code: string }>(
    input: AuthContext & { subjectId: string },
    action: string,
    result: R,
    detail: Record<string, unknown> = { ...result, ok: undefined },
  ): Promise<R> {
    await this.deps.audit.append([entry(input, action, "refused", detail)]);
    return result;
  }
}

/**
 * Any PIN that could have been set under any policy (4 to 6 ASCII digits). A bank that raises its
 * minimum length must not lock out customers whose older, shorter PINs are still valid.
 */
function anyPinProblem(pin: unknown): PinInvalid | null {
  const reason = pinFormatProblem(pin, PIN_MIN_DIGITS, PIN_MAX_DIGITS);
  return reason ? { ok: false, code: "pin_invalid", reason } : null;
}

function withField(problem: PinInvalid | null, field: "oldPin" | "newPin"): PinInvalid | null {
  return problem ? { ...problem, field } : null;
}

/**
 * The SMS that tells a subscriber their PIN changed, so a change they did not make is noticed. It
 * takes no parameters: neither PIN, nor anything derived from one, can reach the message.
 */
function pinNotice(msisdn: string, template: "notice.pin_changed" | "notice.pin_reset"): Notice {
  return { msisdn, template, params: {}, kind: "notice" };
}

/** Malformed requests are refused before anything is counted, hashed or audited. */
function checkRequest(input: AuthContext & { subjectId: string }): { ok: false; code: "invalid_actor" | "invalid_subject" } | null {
  if (!isValidContext(input, ACTOR_TYPES, CHANNELS)) return { ok: false, code: "invalid_actor" };
  if (!isSubjectId(input.subjectId)) return { ok: false, code: "invalid_subject" };
  return null;
}

function entry(
  input: AuthContext & { subjectId: string },
  action: string,
  outcome: AuditOutcome,
  payload: Record<string, unknown> = {},
): AuditEntryInput {
  return { actorType: input.actor.type, actorId: input.actor.id, action, channel: input.channel, outcome, subject: input.subjectId, payload };
}
