import type { AuditLog } from "../audit/audit-entry.js";
import type { ActionContext, Outcome } from "./types.js";

/** Ids, codes, validated names and last-four digits only: never a full number, card or raw input. */
export type AuditPayload = Record<string, unknown>;

/**
 * Appends one entry for a state-changing directory action, refused or not. A refusal records only
 * its code: the rejected input may be hostile (10 KB, control characters) and has no place in a
 * log that can never be rewritten.
 */
export async function recordAction(
  audit: AuditLog,
  ctx: ActionContext,
  action: string,
  subject: string | undefined,
  result: Outcome<unknown>,
  payload: AuditPayload,
): Promise<void> {
  await audit.append([
    {
      actorType: ctx.actorType,
      actorId: ctx.actorId,
      channel: ctx.channel,
      action,
      outcome: result.ok ? "ok" : "refused",
      ...(subject === undefined ? {} : { subject }),
      payload: result.ok ? payload : { ...payload, code: result.code },
    },
  ]);
}
