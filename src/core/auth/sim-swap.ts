import { randomUUID } from "node:crypto";
import { ACTOR_TYPES, CHANNELS, type ActorType, type AuditEntryInput } from "../audit/audit-entry.js";
import { normalizeMsisdn } from "../directory/msisdn.js";
import type { SimSwapEvent, SimSwapKind, SimSwapStore } from "./ports.js";
import { isE164, isValidContext, type AuthContext, type InvalidActor, type InvalidMsisdn, type NotAuthorized, type Ok, type SimSwapCooling } from "./types.js";

/**
 * After a SIM swap or a recycled number, whoever holds the SIM may not be the customer: the SIM,
 * one of the two factors, is in doubt. For a cooling period the guard lets small payments through
 * (a stranded customer can still buy airtime), up to a total, and refuses larger ones and PIN resets.
 */
export interface SimSwapPolicy {
  coolingHours: number;
  /**
   * What may leave the number in all while it cools; more is refused. Overlapping cooling periods
   * (a second swap, the telco reporting again) share one allowance; a report after the number's
   * cooling had fully ended starts a new one.
   */
  maxOutgoingMinor: bigint;
}

export const DEFAULT_SIM_SWAP_POLICY: SimSwapPolicy = { coolingHours: 72, maxOutgoingMinor: 1_000n };
const MAX_COOLING_HOURS = 30 * 24;
/** Reporters' clocks drift; a swap "in the future" by more than this is a bad report. */
const CLOCK_SKEW_MS = 5 * 60_000;
const KINDS: readonly SimSwapKind[] = ["sim_swap", "number_recycled"];
/** The telco, the bank, the gateway's operators and its own jobs (a telco feed poller) may report. */
const REPORTERS: readonly ActorType[] = ["telco", "bank_user", "operator", "system"];

export function resolveSimSwapPolicy(o: Partial<SimSwapPolicy> = {}): SimSwapPolicy {
  const hours = typeof o.coolingHours === "number" && Number.isFinite(o.coolingHours) ? Math.trunc(o.coolingHours) : 72;
  const max = typeof o.maxOutgoingMinor === "bigint" && o.maxOutgoingMinor >= 0n ? o.maxOutgoingMinor : 1_000n;
  return { coolingHours: Math.min(MAX_COOLING_HOURS, Math.max(0, hours)), maxOutgoingMinor: max };
}

export type SimSwapCheck = Ok | SimSwapCooling | InvalidMsisdn | { ok: false; code: "invalid_amount" };

/** The cooling a payment falls in: the number whose allowance (over its cooling run) it spends from. */
export interface Cooling {
  msisdn: string;
  endsAt: Date;
}

/**
 * The binding check of money leaving a number: as SimSwapCheck, and when it passes during a
 * cooling period, that period, whose allowance the payment must then take (SimSwapGuard.spend).
 */
export type SpendCheck = (Ok & { cooling: Cooling | null }) | Exclude<SimSwapCheck, Ok>;

export type ReportSimSwapResult =
  | (Ok & { event: SimSwapEvent; coolingEndsAt: Date })
  | InvalidMsisdn
  | InvalidActor
  | NotAuthorized
  | { ok: false; code: "invalid_kind" }
  | { ok: false; code: "invalid_time" };

export interface ReportSimSwapInput extends AuthContext {
  msisdn: string;
  kind: SimSwapKind;
  /** When the swap happened; defaults to now. */
  occurredAt?: Date;
}

export interface SimSwapGuardDeps {
  store: SimSwapStore;
  policy?: Partial<SimSwapPolicy>;
  clock?: () => Date;
}

export class SimSwapGuard {
  readonly policy: SimSwapPolicy;
  private readonly store: SimSwapStore;
  private readonly clock: () => Date;

  constructor(deps: SimSwapGuardDeps) {
    this.store = deps.store;
    this.policy = resolveSimSwapPolicy(deps.policy);
    this.clock = deps.clock ?? (() => new Date());
  }

  async report(input: ReportSimSwapInput): Promise<ReportSimSwapResult> {
    if (!isValidContext(input, ACTOR_TYPES, CHANNELS)) return { ok: false, code: "invalid_actor" };
    if (!REPORTERS.includes(input.actor.type)) return { ok: false, code: "not_authorized" };
    // Stored as the canonical number the checks look up (customers' and agents' numbers are stored
    // normalized): "+2540712345678" (trunk 0 kept) is "+254712345678", or the report never applies.
    const msisdn = canonicalE164(input.msisdn);
    if (msisdn === null) return { ok: false, code: "invalid_msisdn" };
    if (!KINDS.includes(input.kind)) return { ok: false, code: "invalid_kind" };
    const now = this.clock();
    const occurredAt = input.occurredAt ?? now;
    if (!(occurredAt instanceof Date) || Number.isNaN(occurredAt.getTime()) || occurredAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
      return { ok: false, code: "invalid_time" };
    }
    const event: SimSwapEvent = {
      id: randomUUID(),
      msisdn,
      kind: input.kind,
      occurredAt,
      reportedAt: now,
      reporterType: input.actor.type,
      reporterId: input.actor.id,
    };
    const coolingEndsAt = this.endOfCooling(occurredAt);
    await this.store.record(event, [auditReport(input, event, coolingEndsAt)]);
    return { ok: true, event, coolingEndsAt };
  }

  /**
   * Whether msisdn may send amountMinor now, as advice (a menu's confirmation screen): amounts
   * within the allowance skip the lookup. What decides is checkSpend and spend, where the money moves.
   */
  async checkOutgoing(msisdn: string, amountMinor: bigint): Promise<SimSwapCheck> {
    if (typeof amountMinor !== "bigint" || amountMinor < 0n) return { ok: false, code: "invalid_amount" };
    if (!isE164(msisdn)) return { ok: false, code: "invalid_msisdn" };
    if (amountMinor <= this.policy.maxOutgoingMinor) return { ok: true };
    return this.checkCooling(msisdn);
  }

  /**
   * checkSpend split for a caller that knows the number before the final amount (a payment whose
   * fee is yet to be quoted): the swap lookup starts now, and the check returned decides for the
   * final amount. A lookup left unused must not end as an unhandled rejection; awaiting it through
   * the check still throws.
   */
  outgoingCheck(msisdn: string): (amountMinor: bigint) => Promise<SpendCheck> {
    const early = isE164(msisdn) ? this.store.latest(msisdn) : null;
    early?.catch(() => undefined);
    return (amountMinor) => (early ? this.decideSpend(amountMinor, early) : this.checkSpend(msisdn, amountMinor));
  }

  /**
   * The binding check of amountMinor leaving msisdn. The cooling period's allowance is a total
   * over the period, not a figure per payment (or a thief who knows the PIN would drain the wallet
   * in many small payments): so the lookup runs whatever the amount, and a payment that passes
   * during cooling says so, for the caller to take its amount from the allowance with spend()
   * around the move. Outside cooling nothing more is read or written.
   */
  async checkSpend(msisdn: string, amountMinor: bigint): Promise<SpendCheck> {
    if (!isE164(msisdn)) return { ok: false, code: "invalid_msisdn" };
    return this.decideSpend(amountMinor, this.store.latest(msisdn));
  }

  /**
   * Runs move with amountMinor taken first from the number's cooling allowance (atomically: two
   * payments at once cannot together exceed it), given back when the money did not move: `moved`
   * false (a refusal, or a replay of a payment already counted), or a move that threw and whose
   * transfer certainly did not post and never will. A move that throws may have posted, or may
   * still post: a write whose connection dropped or timed out can land after its error was seen,
   * so a read that finds nothing then proves nothing. `abandon` settles it (Ledger.abandon on the
   * move's transfer id: recorded as refused unless it posted, so that a write still in flight is
   * refused when it comes) and answers true only when the transfer is refused for good. A move
   * that posted, or whose abandon fails too (outcome unknown), keeps the amount: the money may
   * have moved, and an allowance spent for nothing errs on the customer's side of safety. Without
   * cooling, just move.
   */
  async spend<R>(
    cooling: Cooling | null,
    amountMinor: bigint,
    move: () => Promise<R>,
    moved: (result: R) => boolean,
    abandon: () => Promise<boolean>,
  ): Promise<R | SimSwapCooling> {
    if (cooling === null) return move();
    const since = await this.store.spend(cooling.msisdn, amountMinor, this.policy.maxOutgoingMinor, this.policy.coolingHours * 3_600_000);
    if (since === null) return { ok: false, code: "sim_swap_cooling", endsAt: cooling.endsAt };
    let result: R;
    try {
      result = await move();
    } catch (error) {
      // The move's own error is what the caller must see; a give-back that fails too keeps the amount.
      if (await surelyAbandoned(abandon)) await this.store.giveBack(cooling.msisdn, since, amountMinor).catch(() => undefined);
      throw error;
    }
    if (!moved(result)) await this.store.giveBack(cooling.msisdn, since, amountMinor);
    return result;
  }

  private async decideSpend(amountMinor: bigint, latest: Promise<SimSwapEvent | null>): Promise<SpendCheck> {
    if (typeof amountMinor !== "bigint" || amountMinor < 0n) return { ok: false, code: "invalid_amount" };
    const event = await latest;
    const endsAt = event ? this.endOfCooling(event.occurredAt) : null;
    if (!event || !endsAt || endsAt.getTime() <= this.clock().getTime()) return { ok: true, cooling: null };
    if (amountMinor > this.policy.maxOutgoingMinor) return { ok: false, code: "sim_swap_cooling", endsAt };
    return { ok: true, cooling: { msisdn: event.msisdn, endsAt } };
  }

  async checkPinReset(msisdn: string): Promise<SimSwapCheck> {
    if (!isE164(msisdn)) return { ok: false, code: "invalid_msisdn" };
    return this.checkCooling(msisdn);
  }

  /** When the current cooling period for msisdn ends, or null when there is none. */
  async coolingEndsAt(msisdn: string): Promise<Date | null> {
    if (!isE164(msisdn)) return null;
    const latest = await this.store.latest(msisdn);
    if (!latest) return null;
    const endsAt = this.endOfCooling(latest.occurredAt);
    return endsAt.getTime() > this.clock().getTime() ? endsAt : null;
  }

  private async checkCooling(msisdn: string): Promise<SimSwapCheck> {
    const endsAt = await this.coolingEndsAt(msisdn);
    return endsAt ? { ok: false, code: "sim_swap_cooling", endsAt } : { ok: true };
  }

  private endOfCooling(occurredAt: Date): Date {
    return new Date(occurredAt.getTime() + this.policy.coolingHours * 3_600_000);
  }
}

/** True only when abandon answers that the move's transfer is refused for good; a failed abandon is no answer. */
async function surelyAbandoned(abandon: () => Promise<boolean>): Promise<boolean> {
  try {
    return (await abandon()) === true;
  } catch {
    return false;
  }
}

/** A number in international form ("+…") as the directory stores it, or null when it is none (or not a mobile's). */
function canonicalE164(msisdn: unknown): string | null {
  if (!isE164(msisdn)) return null;
  const normalized = normalizeMsisdn(msisdn);
  return normalized.ok ? normalized.value : null;
}

function auditReport(input: ReportSimSwapInput, event: SimSwapEvent, coolingEndsAt: Date): AuditEntryInput {
  return {
    actorType: input.actor.type,
    actorId: input.actor.id,
    action: "sim_swap.report",
    channel: input.channel,
    outcome: "ok",
    subject: event.msisdn,
    payload: { eventId: event.id, kind: event.kind, occurredAt: event.occurredAt, coolingEndsAt },
  };
}
