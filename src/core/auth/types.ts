import type { ActorType, Channel } from "../audit/audit-entry.js";
import type { PinFormatProblem, WeakPinReason } from "./pin-rules.js";

/** Who is asking, and through which channel: every PIN operation is audited with both. */
export interface Actor {
  type: ActorType;
  id: string;
}

export interface AuthContext {
  actor: Actor;
  channel: Channel;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// E.164: a plus, a country code that does not start with 0, at most 15 digits in all. The
// directory normalizes numbers with a numbering library; here we only insist on the result.
const E164_RE = /^\+[1-9][0-9]{6,14}$/;

export function isSubjectId(value: unknown): value is string {
  return typeof value === "string" && UUID_RE.test(value);
}

export function isE164(value: unknown): value is string {
  return typeof value === "string" && E164_RE.test(value);
}

export type Ok = { ok: true };

/** Business refusals of the PIN service: values to map to a screen or an HTTP status, never thrown. */
/** field says which PIN of a change was malformed. */
export type PinInvalid = { ok: false; code: "pin_invalid"; reason: PinFormatProblem; field?: "oldPin" | "newPin" };
export type PinWeak = { ok: false; code: "pin_weak"; reason: WeakPinReason };
/** The same shape whether the PIN was wrong or the subject does not exist. */
export type PinWrong = { ok: false; code: "pin_wrong" };
/** lockedUntil null: locked until the bank unlocks it. */
export type PinLocked = { ok: false; code: "pin_locked"; lockedUntil: Date | null };
export type PinAlreadySet = { ok: false; code: "pin_already_set" };
export type PinNotSet = { ok: false; code: "pin_not_set" };
export type PinUnchanged = { ok: false; code: "pin_unchanged" };
export type NotAuthorized = { ok: false; code: "not_authorized" };
export type InvalidSubject = { ok: false; code: "invalid_subject" };
export type InvalidMsisdn = { ok: false; code: "invalid_msisdn" };
export type InvalidActor = { ok: false; code: "invalid_actor" };
/** endsAt: when the cooling period after a SIM swap or number recycling ends. */
export type SimSwapCooling = { ok: false; code: "sim_swap_cooling"; endsAt: Date };

export type SetPinResult = Ok | PinInvalid | PinWeak | PinAlreadySet | InvalidSubject | InvalidMsisdn | InvalidActor;
export type VerifyPinResult = Ok | PinInvalid | PinWrong | PinLocked | InvalidSubject | InvalidActor;
export type ChangePinResult = Ok | PinInvalid | PinWeak | PinWrong | PinLocked | PinUnchanged | SimSwapCooling | InvalidSubject | InvalidActor;
export type ResetPinResult = Ok | PinInvalid | PinWeak | PinNotSet | PinAlreadySet | NotAuthorized | SimSwapCooling | InvalidSubject | InvalidActor;
export type UnlockPinResult = (Ok & { wasLocked: boolean }) | PinNotSet | NotAuthorized | InvalidSubject | InvalidActor;

const ACTOR_ID_MAX_CHARS = 128;

/** Actor and channel must be ones the audit log accepts; checked before anything is done. */
export function isValidContext(ctx: unknown, actorTypes: readonly string[], channels: readonly string[]): ctx is AuthContext {
  const c = ctx as Partial<AuthContext> | null | undefined;
  const actor = c?.actor;
  return (
    typeof actor === "object" && actor !== null &&
    actorTypes.includes(actor.type as string) &&
    typeof actor.id === "string" && actor.id.length > 0 && actor.id.length <= ACTOR_ID_MAX_CHARS &&
    channels.includes(c?.channel as string)
  );
}
