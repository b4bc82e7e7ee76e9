import type { AuditLog } from "../audit/audit-entry.js";
import type { PinService } from "../auth/pin-service.js";
import type { Cooling, SimSwapGuard } from "../auth/sim-swap.js";
import type { Directory } from "../directory/directory.js";
import { normalizeMsisdn } from "../directory/msisdn.js";
import type { Customer } from "../directory/types.js";
import type { FeeSchedules } from "../fees/schedules.js";
import type { FeeType } from "../fees/types.js";
import type { InstitutionStore } from "../institutions/ports.js";
import { ensureSystemAccount, type SystemAccountLedger } from "../institutions/system-accounts.js";
import type { Institution } from "../institutions/types.js";
import { isUuid } from "../ledger/ids.js";
import type { Ledger } from "../ledger/ledger.js";
import type { LimitPolicies } from "../limits/policies.js";
import type { LimitChannel, LimitPolicy, LimitTier } from "../limits/types.js";
import type { AgentStore } from "./ports.js";
import { KeyedSerial } from "./serial.js";
import { WrongPinReplays, type PinRequest } from "./wrong-pin-replays.js";
import { refuse } from "./refusals.js";
import { AGENT_CHANNELS, MAX_AGENT_AMOUNT_MINOR, type Agent, type AgentChannel, type AgentLimits, type AgentRefusal, type AgentResult, type CashReceipt } from "./types.js";

export interface AgentsDeps {
  store: AgentStore;
  ledger: Pick<Ledger, "submitLinked" | "getTransfer" | "getFailures" | "abandon" | "getAccounts" | "createAccounts" | "listAccountTransfers"> & SystemAccountLedger;
  directory: Pick<Directory, "getCustomer" | "resolvePayee">;
  pins: Pick<PinService, "verifyPin" | "setPin" | "pinStanding">;
  simSwap: Pick<SimSwapGuard, "checkSpend" | "spend">;
  institutions: Pick<InstitutionStore, "get">;
  limits: Pick<LimitPolicies, "effective" | "walletCap" | "check">;
  fees: Pick<FeeSchedules, "quote">;
  audit: AuditLog;
  /** The institution's default country (ISO 3166-1), for numbers typed without a country code. */
  defaultCountry(institutionId: string): Promise<string | null>;
  clock?: () => Date;
  /** How long a customer has to approve an agent-initiated cash-out, unless the request says. */
  cashOutTimeoutSec?: number;
}

export interface Fee {
  feeMinor: bigint;
  commissionMinor: bigint;
}

export interface CustomerParty {
  customer: Customer;
  /** The account the customer receives into (default instrument) or pays from (wallet). */
  accountId: string;
  /**
   * The customer's wallets other than accountId: what they hold counts towards the customer's
   * balance cap when accountId receives (TransferLimits.payeeHoldingAccountIds).
   */
  otherWalletAccountIds: string[];
  maskedName: string;
}

/** True for a positive bigint no larger than the input ceiling. */
export function isAmount(value: unknown): value is bigint {
  return typeof value === "bigint" && value > 0n && value <= MAX_AGENT_AMOUNT_MINOR;
}

export function isAgentChannel(value: unknown): value is AgentChannel {
  return (AGENT_CHANNELS as readonly unknown[]).includes(value);
}

/**
 * The agent's limits as a ledger policy on its float, for one direction. "out" is the payer's
 * policy of a cash-in; "in" is the payee's policy of a withdrawal or cash-out, sent with
 * payeeInbound so the ledger counts what the float receives in usage rows of their own. Bank
 * top-ups carry the "in" policy without payeeInbound: only the float ceiling applies to them.
 */
export function floatPolicy(limits: AgentLimits, direction: "in" | "out"): LimitPolicy {
  const daily = direction === "out" ? limits.maxDailyFloatOutMinor : limits.maxDailyFloatInMinor;
  return {
    maxPerTransactionMinor: limits.maxPerTransactionMinor,
    maxDailyAmountMinor: daily,
    maxDailyCount: limits.maxDailyCount,
    // Agents are limited per day; the month is the day's limit over the longest month.
    maxMonthlyAmountMinor: daily * 31n,
    maxBalanceMinor: limits.maxFloatBalanceMinor,
  };
}

/** The request a PIN was sent in: its operation and its whole body (WrongPinReplays). */
export type SentWith = Omit<PinRequest, "subject" | "pinSetAt">;

/** Shared look-ups of the agent flows: parties, fees, policies, system accounts. */
export class AgentKit {
  readonly now: () => Date;
  private readonly serial = new KeyedSerial();
  private readonly wrongPins = new WrongPinReplays();

  constructor(readonly deps: AgentsDeps) {
    this.now = deps.clock ?? (() => new Date());
  }

  /** An agent that may transact now, with its institution. */
  async activeAgent(agentId: string): Promise<{ agent: Agent; institution: Institution } | AgentRefusal> {
    const agent = isUuid(agentId) ? await this.deps.store.get(agentId) : null;
    if (!agent) return refuse("agent_not_found");
    if (agent.status !== "active") return refuse("agent_unavailable");
    const institution = await this.deps.institutions.get(agent.institutionId);
    if (!institution) return refuse("agent_not_found");
    return { agent, institution };
  }

  /**
   * The customer an agent typed (number or pseudonym), scoped to the agent's institution. With
   * `confirmedId` (the customer the agent was shown for that query, from a quote), that very
   * customer, found by their own number: a pseudonym released and claimed by someone else between
   * the quote and the PIN must not move the cash to a stranger (nor a retry to another payee).
   */
  async customerByQuery(agent: Agent, typed: unknown, confirmedId?: string): Promise<CustomerParty | AgentRefusal> {
    let query = typed;
    if (confirmedId !== undefined) {
      const confirmed = isUuid(confirmedId) ? await this.deps.directory.getCustomer(confirmedId) : null;
      if (!confirmed || confirmed.institutionId !== agent.institutionId) return refuse("customer_not_found");
      query = confirmed.msisdn;
    }
    if (typeof query !== "string" || query.length === 0 || query.length > 64) return refuse("customer_not_found");
    // The payee lookup reads the customer's record and their other wallets in the same query.
    // A customer blocked or closed by the bank is not found, as an unknown number: an agent's quote
    // (before any PIN) told them apart (customer_unavailable), a way to sort numbers into customers
    // the bank blocked and numbers it never knew. The directory audits which it was, for the bank.
    const asker = { actorType: "agent", actorId: agent.id, channel: "agent" } as const;
    const found = await this.deps.directory.resolvePayee(query, { institutionId: agent.institutionId, asker });
    if (!found.ok) return refuse("customer_not_found");
    const { payee, customer, otherWalletAccountIds } = found.value;
    if (payee.institutionId !== agent.institutionId) return refuse("customer_not_found");
    if (customer.msisdn === agent.msisdn) return refuse("self_transaction");
    return { customer, accountId: payee.accountId, otherWalletAccountIds, maskedName: payee.maskedName };
  }

  async activeCustomer(customerId: string): Promise<Customer | AgentRefusal> {
    const customer = isUuid(customerId) ? await this.deps.directory.getCustomer(customerId) : null;
    if (!customer) return refuse("customer_not_found");
    if (customer.status !== "active") return refuse("customer_unavailable");
    return customer;
  }

  /** A phone number as typed, in E.164 (national forms read with the institution's country). */
  async msisdn(input: unknown, institutionId: string): Promise<string | null> {
    // Telcos send international numbers ("+…"): those need no look-up of the institution's country,
    // which matters on the USSD path, where every dial asks whether the caller is an agent. Digits
    // without "+" are read as the directory reads them, nationally first ("951716371" in Zambia is
    // +260951716371, not Myanmar's +951716371), so an agent and a customer typed alike are one number.
    if (typeof input === "string" && input.trimStart().startsWith("+")) {
      const international = normalizeMsisdn(input, null);
      if (international.ok) return international.value;
    }
    const normalized = normalizeMsisdn(input, await this.deps.defaultCountry(institutionId));
    return normalized.ok ? normalized.value : null;
  }

  async fee(institutionId: string, type: FeeType, amountMinor: bigint): Promise<Fee | AgentRefusal> {
    const quote = await this.deps.fees.quote(institutionId, type, amountMinor);
    return quote.ok ? { feeMinor: quote.feeMinor, commissionMinor: quote.agentCommissionMinor } : refuse("amount_outside_fee_bands");
  }

  customerPolicy(institutionId: string, customer: Customer, channel: LimitChannel): Promise<LimitPolicy> {
    return this.deps.limits.effective({ institutionId, channel, tier: customer.kycTier as LimitTier });
  }

  /** What caps the customer's wallet as a payee: its tier's strictest balance cap (LimitPolicies.walletCap). */
  customerCap(institutionId: string, customer: Customer): Promise<LimitPolicy> {
    return this.deps.limits.walletCap(institutionId, customer.kycTier as LimitTier);
  }

  async feeIncomeId(institution: Institution): Promise<string> {
    return ensureSystemAccount(this.deps.ledger, institution, { kind: "fee_income" });
  }

  async settlementId(institution: Institution): Promise<string> {
    return ensureSystemAccount(this.deps.ledger, institution, { kind: "settlement" });
  }

  /** The request with its subject's PIN standing (when that PIN was set); null while locked or with no PIN. */
  private async replayable(subject: { type: "agent" | "customer"; id: string }, request: SentWith): Promise<PinRequest | null> {
    const standing = await this.deps.pins.pinStanding(subject.id);
    return standing && !standing.locked ? { subject, ...request, pinSetAt: standing.setAt } : null;
  }

  /**
   * Verifies an agent's or a customer's PIN (the subject is the agent's or customer's id). With the
   * request it was sent in (its operation and body, the PIN included), a retry of that very request
   * already answered pin_wrong is answered so again without another count (WrongPinReplays), looked
   * up in the subject's turn so that a retry queued behind its first call finds that call's answer.
   * The answer is kept with the PIN as it then stood (when it was set): once the PIN is set, changed
   * or reset again, or while it is locked, the retry is checked as any request (found in review: a
   * PIN reset to the very PIN the retry carried was answered pin_wrong for 15 minutes, and a locked
   * PIN was answered pin_wrong rather than locked). One read of the PIN's standing, on the wrong-PIN
   * and replay paths only.
   */
  async verifyPin(subject: { type: "agent" | "customer"; id: string }, pin: string, channel: AgentChannel, request?: SentWith): Promise<AgentRefusal | null> {
    const result = await this.serial.run(`pin:${subject.id}`, async () => {
      const replay = request && this.wrongPins.has(subject.id, this.now().getTime()) ? await this.replayable(subject, request) : null;
      if (replay && this.wrongPins.answeredWrong(replay, this.now().getTime())) return { ok: false as const, code: "pin_wrong" as const };
      const checked = await this.deps.pins.verifyPin({ actor: subject, channel, subjectId: subject.id, pin });
      if (request && !checked.ok && checked.code === "pin_wrong") {
        // Unread (a database blip), it is not remembered: the answer stands, and a retry is checked.
        const wrong = await this.replayable(subject, request).catch(() => null);
        if (wrong) this.wrongPins.rememberWrong(wrong, this.now().getTime());
      }
      return checked;
    });
    if (result.ok) return null;
    if (result.code === "pin_locked") return refuse("pin_locked", { until: result.lockedUntil });
    return refuse(result.code === "pin_wrong" ? "pin_wrong" : "pin_invalid");
  }

  /**
   * The SIM-swap guard on money leaving a customer's or agent's number: a refusal, or the cooling
   * period the amount must be taken from (null outside cooling), for spendDuringCooling.
   */
  async simSwapCheck(msisdn: string, amountMinor: bigint): Promise<AgentRefusal | { cooling: Cooling | null }> {
    const swap = await this.deps.simSwap.checkSpend(msisdn, amountMinor);
    if (swap.ok) return { cooling: swap.cooling };
    return swap.code === "sim_swap_cooling" ? refuse("sim_swap_cooling", { until: swap.endsAt }) : refuse("invalid_amount");
  }

  /**
   * Moves money that leaves a number under cooling only if the cooling period's allowance (a total
   * over the period) still covers amountMinor, taken atomically first and given back when nothing
   * moved (a refusal, a replay of a move already counted, or a move that threw whose transferId,
   * the move's first transfer, Ledger.abandon then refused for good: its linked group goes with it).
   * onAbandoned runs once the transfer is refused for good (a cash-out approval voids its holds,
   * which nothing can post now); its failure is swallowed: the move's own error is what is seen,
   * and the allowance is given back all the same.
   */
  async spendDuringCooling(
    cooling: Cooling | null, amountMinor: bigint, transferId: string, move: () => Promise<AgentResult<CashReceipt>>, onAbandoned?: () => Promise<unknown>,
  ): Promise<AgentResult<CashReceipt>> {
    const abandon = async () => {
      const abandoned = await this.deps.ledger.abandon(transferId);
      if (abandoned && onAbandoned) await onAbandoned().catch(() => undefined);
      return abandoned;
    };
    const result = await this.deps.simSwap.spend(cooling, amountMinor, move, (r) => r.ok && !r.replayed, abandon);
    if (!result.ok && result.code === "sim_swap_cooling" && "endsAt" in result) return refuse("sim_swap_cooling", { until: result.endsAt });
    return result as AgentResult<CashReceipt>;
  }

  async balance(accountId: string): Promise<bigint> {
    const [account] = await this.deps.ledger.getAccounts([accountId]);
    return account ? account.creditsPosted - account.debitsPosted - account.debitsPending : 0n;
  }
}
