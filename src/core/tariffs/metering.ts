import { ensureSystemAccount, type SystemAccountLedger, type SystemAccountPurpose } from "../institutions/system-accounts.js";
import type { Institution } from "../institutions/types.js";
import { derivedUuid, isUuid } from "../ledger/ids.js";
import type { TransferInput, TransferResult } from "../ledger/types.js";
import { sessionChargeMinor } from "./charge.js";
import type { SessionLog, SweepKey, TariffStore } from "./ports.js";
import { SESSION_END_REASONS, type MeteredSession, type SessionEndReason, type TariffPlan, type Telco } from "./types.js";

/** A USSD session that ended (END screen, user abort or timeout), as the channel reports it. */
export interface FinishedSession {
  /**
   * The gateway's or aggregator's session id: with the institution, the idempotency key of the
   * whole metering (institutions share the database, and aggregators' ids may coincide).
   */
  sessionId: string;
  telco: { networkCode: string } | { smppLinkId: string };
  institutionId: string;
  /** E.164. */
  msisdn: string;
  /** The customer's wallet; needed only when the telco's plan makes the customer pay. */
  customerAccountId: string | null;
  stages: number;
  startedAt: Date;
  endedAt: Date;
  endReason: SessionEndReason;
}

export type MeterCode = "invalid_session" | "institution_not_found" | "unknown_telco";

/** Why a session's charge cannot be posted (its chargeResult): the session is recorded all the same. */
export type UnpostableCharge = "currency_mismatch" | "payer_account_required";

/**
 * Why a session's charge can have no transfer, given the account its payer would pay from: the one
 * rule plan() names no accounts by, and post() reads a stored session's outcome by.
 */
function unpostable(s: Pick<MeteredSession, "chargeMinor" | "currency" | "payer">, institution: Institution, payerAccountId: string | null): UnpostableCharge | null {
  if (s.chargeMinor === 0n || s.currency === null) return null;
  if (s.currency !== institution.currency) return "currency_mismatch";
  return s.payer === "customer" && payerAccountId === null ? "payer_account_required" : null;
}
export type MeterResult = { ok: true; session: MeteredSession; duplicate: boolean } | { ok: false; code: MeterCode };

export interface MeteringLedger extends SystemAccountLedger {
  transfer(input: TransferInput): Promise<TransferResult>;
}

/** What the meter reads of telcos and plans; `forgetPlans` when it answers plans from a cache. */
export type MeterTariffs = Pick<TariffStore, "findTelco" | "planInEffect"> & { forgetPlans?(telcoId: string): void };

export interface SessionMeterDeps {
  tariffs: MeterTariffs;
  sessions: SessionLog;
  institutions: { get(id: string): Promise<Institution | null> };
  ledger: MeteringLedger;
}

/**
 * Transfer code of session charges, and the transfer id of a session's charge. The institution id
 * is a UUID (fixed length, no colon, lower-cased so one institution has one spelling), so no other
 * pair names the same transfer. A session recorded while the id derived from the session id alone
 * keeps that id: its charge is posted from its stored row.
 */
export const SESSION_CHARGE_CODE = "ussd_session";
export const sessionChargeTransferId = (institutionId: string, sessionId: string): string =>
  derivedUuid(`fingate:session-charge:${institutionId.toLowerCase()}:${sessionId}`);

const SESSION_ID_RE = /^[\x21-\x7e]{1,128}$/;
const E164_RE = /^\+[1-9][0-9]{6,14}$/;
const MAX_STAGES = 1_000;
const MAX_DURATION_MS = 2_147_483_647;

function valid(s: FinishedSession): boolean {
  const times = s.startedAt instanceof Date && s.endedAt instanceof Date && s.startedAt.getTime() <= s.endedAt.getTime();
  return (
    typeof s.sessionId === "string" && SESSION_ID_RE.test(s.sessionId) && E164_RE.test(s.msisdn) && isUuid(s.institutionId) &&
    Number.isSafeInteger(s.stages) && s.stages >= 0 && s.stages <= MAX_STAGES && times &&
    SESSION_END_REASONS.includes(s.endReason) && (s.customerAccountId === null || isUuid(s.customerAccountId))
  );
}

/**
 * Meters finished USSD sessions: charge = min(ceiling, per-session + stages × per-stage) under the
 * telco's plan in effect when the session started, recorded once per institution and session id and
 * posted to the ledger from the payer to the institution's payable for that telco. The transfer id
 * is derived from both, so a retry, or two reports of one session at once, post the charge once,
 * and two institutions whose aggregators reuse a session id are each charged.
 */
export class SessionMeter {
  constructor(private readonly deps: SessionMeterDeps) {}

  async meter(input: FinishedSession): Promise<MeterResult> {
    if (!valid(input)) return { ok: false, code: "invalid_session" };
    const institution = await this.deps.institutions.get(input.institutionId);
    if (!institution) return { ok: false, code: "institution_not_found" };
    const telco = await this.findTelco(input.telco);
    if (!telco) return { ok: false, code: "unknown_telco" };
    const planned = await this.planNow(input, institution, telco);
    if (!planned.ok) return planned;
    const recorded = await this.record(planned.session, input, institution, telco);
    if (!("session" in recorded)) return recorded;
    const settled = await this.post(recorded.session, institution);
    return { ok: true, session: settled, duplicate: !recorded.inserted };
  }

  /**
   * Posts the charges of the institution's sessions recorded but never posted (their outcome
   * unknown: the posting failed through every try of the process that metered them, or that
   * process stopped first) among one page of its sessions: the next `limit` at most after `after`
   * that ended before `endedBefore` (SessionLog.unposted). Each is posted as its stored row says,
   * under its stored (derived) transfer id: a charge that did post (its answer lost), or that
   * another instance's sweep posts at the same time, is answered `exists` by the ledger and
   * settled as posted, never posted twice. Throws on a failure (the caller tries the page again
   * later); returns how many were settled, where the next page starts, and how many sessions the
   * page held.
   */
  async postUnposted(institutionId: string, after: SweepKey, endedBefore: Date, limit: number): Promise<{ settled: number; last: SweepKey | null; read: number }> {
    const page = await this.deps.sessions.unposted(institutionId, after, endedBefore, limit);
    if (page.sessions.length === 0) return { settled: 0, last: page.last, read: page.read };
    const institution = await this.deps.institutions.get(institutionId);
    if (!institution) return { settled: 0, last: page.last, read: page.read };
    await Promise.all(page.sessions.map((s) => this.post(s, institution)));
    return { settled: page.sessions.length, last: page.last, read: page.read };
  }

  /** Where the institution's sweeps reached, saved by any instance (SessionLog.sweepMark). */
  sweepMark(institutionId: string): Promise<SweepKey | null> {
    return this.deps.sessions.sweepMark(institutionId);
  }

  /** Saves where a sweep reached; never moves the saved mark back (SessionLog.saveSweepMark). */
  saveSweepMark(institutionId: string, reached: SweepKey): Promise<void> {
    return this.deps.sessions.saveSweepMark(institutionId, reached);
  }

  /**
   * Records the session. A plan read from a cache may have been deleted since (possible only while
   * no session named it): the record then fails on its reference, so the plan is read afresh once
   * and, if that gives another plan (or none), the session is planned and recorded again.
   */
  private async record(session: MeteredSession, input: FinishedSession, institution: Institution, telco: Telco) {
    try {
      return await this.deps.sessions.record(session);
    } catch (error) {
      const tariffs = this.deps.tariffs;
      if (!tariffs.forgetPlans || session.tariffPlanId === null) throw error;
      tariffs.forgetPlans(telco.id);
      const again = await this.planNow(input, institution, telco);
      if (!again.ok) return again;
      if (again.session.tariffPlanId === session.tariffPlanId) throw error;
      return this.deps.sessions.record(again.session);
    }
  }

  /** The session planned under the telco's plan in effect when it started. */
  private async planNow(input: FinishedSession, institution: Institution, telco: Telco) {
    return this.plan(input, institution, telco, await this.deps.tariffs.planInEffect(telco.id, input.startedAt));
  }

  private findTelco(id: FinishedSession["telco"]): Promise<Telco | null> {
    return "networkCode" in id ? this.deps.tariffs.findTelco("network_code", id.networkCode) : this.deps.tariffs.findTelco("smpp_link", id.smppLinkId);
  }

  private async plan(
    input: FinishedSession,
    institution: Institution,
    telco: Telco,
    plan: TariffPlan | null,
  ): Promise<{ ok: true; session: MeteredSession } | { ok: false; code: MeterCode }> {
    const chargeMinor = plan ? sessionChargeMinor(plan, input.stages) : 0n;
    const session: MeteredSession = {
      sessionId: input.sessionId,
      institutionId: institution.id,
      telcoId: telco.id,
      tariffPlanId: plan?.id ?? null,
      msisdn: input.msisdn,
      stages: input.stages,
      startedAt: input.startedAt,
      endedAt: input.endedAt,
      durationMs: Math.min(MAX_DURATION_MS, input.endedAt.getTime() - input.startedAt.getTime()),
      endReason: input.endReason,
      payer: plan?.payer ?? null,
      currency: plan?.currency ?? null,
      chargeMinor,
      debitAccountId: null,
      creditAccountId: null,
      transferId: null,
      chargeResult: null,
    };
    // A charge that cannot be posted (a plan in another currency, a customer-paid plan and a caller
    // with no wallet) is still a session the telco bills: recorded without a transfer, its outcome
    // settled as the reason (post), so the telco's invoice can be reconciled.
    if (!plan || unpostable(session, institution, input.customerAccountId) !== null || chargeMinor === 0n) return { ok: true, session };
    session.creditAccountId = await this.account(institution, { kind: "telco_payable", telcoId: telco.id });
    session.debitAccountId = plan.payer === "customer" ? input.customerAccountId : await this.account(institution, { kind: "bank" });
    session.transferId = sessionChargeTransferId(institution.id, input.sessionId);
    return { ok: true, session };
  }

  private async account(institution: Institution, purpose: SystemAccountPurpose): Promise<string> {
    return ensureSystemAccount(this.deps.ledger, institution, purpose);
  }

  /** Posts what the stored row says (the first report wins), unless its outcome is already known. */
  private async post(session: MeteredSession, institution: Institution): Promise<MeteredSession> {
    if (session.chargeResult !== null) return session;
    // A stored charge without a transfer has no payer account: plan() named none.
    const cannot = session.transferId === null ? unpostable(session, institution, null) : null;
    if (cannot) {
      await this.deps.sessions.settle(session.institutionId, session.sessionId, cannot);
      return { ...session, chargeResult: cannot };
    }
    if (!session.transferId) return session;
    const { result } = await this.deps.ledger.transfer({
      id: session.transferId,
      kind: "single",
      debitAccountId: session.debitAccountId!,
      creditAccountId: session.creditAccountId!,
      amountMinor: session.chargeMinor,
      code: SESSION_CHARGE_CODE,
      reference: session.sessionId,
    });
    const chargeResult = result === "ok" || result === "exists" ? "posted" : result;
    await this.deps.sessions.settle(session.institutionId, session.sessionId, chargeResult);
    return { ...session, chargeResult };
  }
}
