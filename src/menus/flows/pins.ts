/** PIN handling shared by flows: a PIN is checked in the step that receives it and then dropped. */
import { timingSafeEqual } from "node:crypto";
import { pinFormatProblem, weakPinReason } from "../../core/auth/pin-rules.js";
import { ask, end, withNotice } from "../engine/steps.js";
import type { Message, MenuState, StepResult } from "../engine/types.js";
import type { MenuContext } from "../ports.js";
import { refusalMessage } from "../refusals.js";

/** Why a new PIN cannot be used (format or weakness), as a refusal code; null when it can. */
export function newPinProblem(pin: string, ctx: MenuContext): string | null {
  if (pinFormatProblem(pin, ctx.limits.pinMinDigits, ctx.limits.pinMaxDigits)) return "pin_invalid";
  if (weakPinReason(pin, ctx.msisdn)) return "pin_weak";
  return null;
}

/**
 * What a new PIN is sealed under between its two entries: the caller's number and the flow, not
 * the session's id. A session interrupted there is offered to the same caller again, under a new
 * session id, and its sealed PIN must still open.
 */
export function sealContext(ctx: MenuContext, flow: "reg" | "cp"): string {
  return `${ctx.institutionId}:${ctx.msisdn}:${flow}`;
}

export function samePin(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A screen asking for a PIN: the channel redacts the answer. */
export function askPin(state: MenuState, prompt: Message, notice?: Message): StepResult {
  return withNotice(ask(state, [prompt], undefined, true), notice);
}

/** A PIN prompt under a summary of what the PIN will confirm (amount, fee, who). */
export function askPinUnder(state: MenuState, summary: Message[], prompt: Message): StepResult {
  return ask(state, [...summary, prompt], undefined, true);
}

/**
 * What to do after a PIN was refused: ask again on a wrong or malformed PIN (the service counts
 * the attempts and locks), end the session on a lock or anything else.
 */
export function afterPinRefusal(state: MenuState, refusal: { code: string; until?: Date | null }, prompt: Message): StepResult {
  if (refusal.code === "pin_wrong" || refusal.code === "pin_invalid") return askPin(state, prompt, refusalMessage(refusal));
  // Ended: nothing of the flow is needed any more, least of all a sealed new PIN (change PIN).
  return end({ ...state, data: {} }, [refusalMessage(refusal)]);
}
