import type { Channel } from "../audit/audit-entry.js";
import type { PinService } from "../auth/pin-service.js";
import type { SimSwapGuard } from "../auth/sim-swap.js";
import type { Directory } from "../directory/directory.js";
import { canPay } from "../directory/instruments.js";
import { cutName, maskDisplayName } from "../directory/masking.js";
import type { ResolvedPayee } from "../directory/lookup.js";
import type { Customer, Outcome } from "../directory/types.js";
import { agreedFee, feeLegDiffers, paymentWithFee, postedFee } from "../fees/linked.js";
import type { FeeSchedules } from "../fees/schedules.js";
import type { InstitutionStore } from "../institutions/ports.js";
import { ensureSystemAccount, type SystemAccountLedger } from "../institutions/system-accounts.js";
import type { Institution } from "../institutions/types.js";
import { isUuid, transferReference } from "../ledger/ids.js";
import type { Ledger } from "../ledger/ledger.js";
import type { TransferResult } from "../ledger/types.js";
import type { LimitPolicies } from "../limits/policies.js";
import type { LimitPolicy, LimitTier, LimitUsage } from "../limits/types.js";
import type { Notice } from "../notices/types.js";
import { refusalFor } from "./refusals.js";
import type { P2PQuote, P2PReceipt, P2PRequest, P2PSend, PaymentRefusal } from "./types.js";

export interface PaymentsDeps {
  ledger: Pick<Ledger, "submitLinked" | "getTransfer" | "abandon"> & SystemAccountLedger;
  directory: Pick<Directory, "getCustomer" | "resolvePayee" | "listInstruments" | "getProfile">;
  pins: Pick<PinService, "verifyPin">;
  simSwap: Pick<SimSwapGuard, "checkSpend" | "outgoingCheck" | "spend">;
  institutions: Pick<InstitutionStore, "get">;
  limits: Pick<LimitPolicies, "effective" | "walletCap" | "usage" | "check">;
  fees: Pick<FeeSchedules, "quote">;
}

/** Amounts beyond this are refused as input errors before any lookup (10^15 minor units). */
const MAX_PAYMENT_MINOR = 1_000_000_000_000_000n;

/** A sender's name in the payee's receipt is cut so that the receipt stays one SMS. */
const MAX_NAME_IN_RECEIPT = 40;

/** source()'s answer for an instrument that is not the payer's (or no instrument at all). */
const NO_SUCH_INSTRUMENT = "";

const validAmount = (amount: unknown): boolean => typeof amount === "bigint" && amount > 0n && amount <= MAX_PAYMENT_MINOR;

const refuse = (code: PaymentRefusal["code"], extra: Partial<PaymentRefusal> = {}): PaymentRefusal => ({ ok: false, code, ...extra });

interface EarlyUsage {
  accountId: string;
  institutionId: string;
  usage: Promise<LimitUsage | null>;
}

interface Parties {
  payer: Customer;
  institution: Institution;
  /** As the payee lookup read it, in this request: the receipt goes to this number, in this language. */
  payee: Customer;
  payeeCustomerId: string;
  payeeAccountId: string;
  /** The payee's other wallets, whose holdings count towards the payee's balance cap with payeeAccountId's. */
  payeeOtherWalletAccountIds: string[];
  maskedName: string;
}

/**
 * Person-to-person payments: who pays whom, what it costs, and the all-or-nothing group that
 * moves the money and its fee. Limits ride with the transfer into the ledger, which checks them
 * with the accounts locked; the PIN is checked here, beside the reads of payer and payee, and no
 * money moves unless it was right.
 */
export class Payments {
  constructor(private readonly deps: PaymentsDeps) {}

  async quoteP2P(request: P2PRequest): Promise<P2PQuote | PaymentRefusal> {
    const early = this.earlyUsage(request);
    const parties = await this.parties(request);
    if ("code" in parties) return parties;
    const [fee, overLimit] = await Promise.all([this.fee(parties.institution, request.amountMinor), this.overLimit(request, parties, early)]);
    if ("code" in fee) return fee;
    if (overLimit) return overLimit;
    return {
      ok: true,
      payeeCustomerId: parties.payeeCustomerId,
      maskedName: parties.maskedName,
      amountMinor: request.amountMinor,
      feeMinor: fee.feeMinor,
      totalMinor: request.amountMinor + fee.feeMinor,
      currency: parties.institution.currency,
    };
  }

  /**
   * The payer's own limits on this amount, as their usage stands: a quote answers an amount over
   * them at once, with what may still be sent, instead of after the PIN. Advisory only: the ledger
   * checks again with the account locked, and decides.
   */
  private async overLimit(request: P2PRequest, parties: Parties, early: EarlyUsage | null): Promise<PaymentRefusal | null> {
    const { payer, institution } = parties;
    const hinted = early && early.accountId === payer.walletAccountId && early.institutionId === institution.id;
    const key = { institutionId: institution.id, channel: request.channel, tier: payer.kycTier as LimitTier };
    const decision = await this.deps.limits.check(key, payer.walletAccountId, institution.timezone, request.amountMinor, hinted ? early.usage : undefined);
    return decision.ok ? null : refuse(decision.code, { availableMinor: decision.availableMinor });
  }

  /**
   * The payer's limit usage read beside the payer (one round trip fewer at the amount step), from
   * the caller's hints; used only if the payer as read has that wallet and institution. Resolves to
   * null when the hinted institution is unknown.
   */
  private earlyUsage(request: P2PRequest): EarlyUsage | null {
    const institutionId = request.payerInstitutionId;
    const accountId = request.payerWalletAccountId;
    if (institutionId === undefined || accountId === undefined) return null;
    const usage = this.deps.institutions.get(institutionId).then((i) => (i ? this.deps.limits.usage(accountId, i.timezone) : null));
    usage.catch(() => undefined); // left unused when the payer is refused first; awaiting it still throws
    return { accountId, institutionId, usage };
  }

  async sendP2P(request: P2PSend): Promise<P2PReceipt | PaymentRefusal> {
    if (!isUuid(request.paymentId)) return refuse("invalid_payment_id");
    if (!validAmount(request.amountMinor)) return refuse("invalid_amount");
    const hint = request.payerMsisdn;
    // Started beside the payer's read (one round trip fewer).
    const early = hint === undefined ? null : this.deps.simSwap.outgoingCheck(hint);
    // The PIN is checked beside the reads of payer, payee and SIM swap, not after them: a round
    // trip fewer before the money moves. Its outcome counts (a wrong PIN is a wrong attempt) even
    // when the payment is then refused, but the answer keeps its order: a refusal found before the
    // PIN check is the one given, and nothing moves without a right PIN.
    const payer = request.payerCustomerId;
    const pin = this.deps.pins.verifyPin({ actor: { type: "customer", id: payer }, channel: request.channel as Channel, subjectId: payer, pin: request.pin });
    pin.catch(() => undefined); // should the reads throw first, not an unhandled rejection
    const source = this.source(request);
    source.catch(() => undefined);
    const parties = await this.parties(request);
    // Settled before any answer (its attempt is written); a failure is thrown where it is used.
    const [checked] = await Promise.allSettled([pin]);
    // A refusal of something that may have changed since the payment posted (the payer or payee
    // blocked, the fee schedule, a SIM swap reported): a retry of a posted payment with the right
    // PIN answers its receipt instead, or the payer would believe no money moved.
    const orPosted = async (refusal: PaymentRefusal): Promise<P2PReceipt | PaymentRefusal> =>
      checked.status === "fulfilled" && checked.value.ok ? ((await this.postedReceipt(request)) ?? refusal) : refusal;
    if ("code" in parties) return orPosted(parties);
    let debitAccountId = (await source) ?? parties.payer.walletAccountId;
    if (debitAccountId === NO_SUCH_INSTRUMENT) debitAccountId = await this.alreadyPaidFrom(request);
    if (debitAccountId === NO_SUCH_INSTRUMENT) return orPosted(refuse("instrument_not_found"));
    const fee = await this.shownFee(request, parties.institution);
    if ("code" in fee) return orPosted(fee);
    const total = request.amountMinor + fee.feeMinor;
    const swap = await (early && parties.payer.msisdn === hint ? early(total) : this.deps.simSwap.checkSpend(parties.payer.msisdn, total));
    if (!swap.ok) return orPosted(swap.code === "sim_swap_cooling" ? refuse("sim_swap_cooling", { until: swap.endsAt }) : refuse("invalid_amount"));
    if (checked.status === "rejected") throw checked.reason;
    const result = checked.value;
    if (!result.ok) return result.code === "pin_locked" ? refuse("pin_locked", { until: result.lockedUntil }) : refuse(result.code === "pin_wrong" ? "pin_wrong" : "pin_invalid");
    // During a SIM swap's cooling the payment and its fee come out of the period's allowance, a
    // total (not a figure per payment), taken atomically before the money moves. A move that threw
    // gives it back only once the payment's transfer (its id is the payment's; the fee goes with it,
    // all or nothing) is abandoned: refused for good, so that a write of it still in flight cannot land.
    const abandon = () => this.deps.ledger.abandon(request.paymentId);
    const moved = await this.deps.simSwap.spend(swap.cooling, total, () => this.move(request, parties, debitAccountId, fee.feeMinor), (r) => r.ok && !r.replayed, abandon);
    if (!moved.ok && "endsAt" in moved) return orPosted(refuse("sim_swap_cooling", { until: moved.endsAt }));
    // Posted to the payee's account of then (they have a new default since): its receipt.
    return !moved.ok && moved.code === "payment_id_reused" ? orPosted(moved) : moved;
  }

  /**
   * The receipt of this payment id when it posted from one of this payer's accounts, for this
   * amount; null otherwise. Read only on a refusal, so a first attempt costs nothing more.
   */
  private async postedReceipt(request: P2PSend): Promise<P2PReceipt | null> {
    const posted = await this.deps.ledger.getTransfer(request.paymentId);
    if (!posted || posted.amountMinor !== request.amountMinor || posted.code !== "p2p") return null;
    const [from, to] = await Promise.all([this.deps.ledger.getAccount(posted.debitAccountId), this.deps.ledger.getAccount(posted.creditAccountId)]);
    if (from?.ownerRef !== request.payerCustomerId) return null;
    const payee = to?.ownerRef && isUuid(to.ownerRef) ? await this.deps.directory.getCustomer(to.ownerRef) : null;
    if (!payee || !(await this.namesPayee(request.payee, payee))) return null;
    const fee = await postedFee(posted.id, (id) => this.deps.ledger.getTransfer(id));
    return {
      ok: true, paymentId: posted.id, amountMinor: posted.amountMinor, feeMinor: fee?.feeMinor ?? 0n, currency: posted.currency,
      maskedName: payee ? maskDisplayName(payee.displayName) : "", replayed: true,
    };
  }

  /**
   * Whether the request's payee is the customer a posted payment paid: as the query resolves now,
   * or, for a payee blocked since (who no longer resolves), their own number or one of their
   * pseudonyms. Another payee under the same payment id is no retry of it.
   */
  private async namesPayee(query: string, paid: Customer): Promise<boolean> {
    const found = await this.deps.directory.resolvePayee(query, { institutionId: paid.institutionId });
    if (found.ok) return found.value.customer.id === paid.id;
    if (found.code !== "payee_unavailable") return false;
    const typed = query.trim().toLowerCase();
    const digits = typed.replace(/[^0-9]/g, "").replace(/^0+/, "");
    if (/^[0-9+(]/.test(typed)) return digits.length >= 6 && paid.msisdn.endsWith(digits);
    const profile = await this.deps.directory.getProfile(paid.id);
    return profile?.aliases.some((a) => a.aliasKey === typed) ?? false;
  }

  /**
   * The account behind the instrument the payer chose to pay from, read beside the other reads;
   * null when none was chosen (the wallet). Only the payer's own wallets qualify: the other kinds'
   * accounts mirror money held elsewhere (no balance here to check), so they are paid into only.
   */
  private async source(request: P2PSend): Promise<string | null> {
    const id = request.fromInstrumentId;
    if (id === undefined) return null;
    if (!isUuid(id)) return NO_SUCH_INSTRUMENT;
    const instruments = await this.deps.directory.listInstruments(request.payerCustomerId);
    return instruments.find((i) => i.id === id && canPay(i))?.accountId ?? NO_SUCH_INSTRUMENT;
  }

  /**
   * The account a payment of this id already posted from, for a retry whose instrument was since
   * removed (a wallet emptied by this very payment may be): the retry then reports the payment as
   * posted, through the ledger's idempotency (same id, same fields), instead of "cannot pay".
   * Only an account of this payer's: another payer's payment under this id is none of theirs.
   */
  private async alreadyPaidFrom(request: P2PSend): Promise<string> {
    if (request.fromInstrumentId === undefined || !isUuid(request.fromInstrumentId)) return NO_SUCH_INSTRUMENT;
    const posted = await this.deps.ledger.getTransfer(request.paymentId);
    const from = posted ? await this.deps.ledger.getAccount(posted.debitAccountId) : null;
    return posted && from?.ownerRef === request.payerCustomerId ? posted.debitAccountId : NO_SUCH_INSTRUMENT;
  }

  private async move(request: P2PSend, parties: Parties, debitAccountId: string, feeMinor: bigint, asPosted = false): Promise<P2PReceipt | PaymentRefusal> {
    const feeIncomeId = await ensureSystemAccount(this.deps.ledger, parties.institution, { kind: "fee_income" });
    const institutionId = parties.institution.id;
    const [policy, payeePolicy] = await Promise.all([
      this.deps.limits.effective({ institutionId, channel: request.channel, tier: parties.payer.kycTier as LimitTier }),
      this.deps.limits.walletCap(institutionId, parties.payee.kycTier as LimitTier),
    ]);
    const results = await this.submit(request, parties, debitAccountId, feeIncomeId, feeMinor, policy, payeePolicy);
    // Posted before a change to the fee schedule: the retry answers with the fee it posted with.
    const posted = !asPosted && feeLegDiffers(results) ? await postedFee(request.paymentId, (id) => this.deps.ledger.getTransfer(id)) : null;
    if (posted) return this.move(request, parties, debitAccountId, posted.feeMinor, true);
    const refusal = refusalFor(results);
    if (refusal) return refusal;
    return {
      ok: true,
      paymentId: request.paymentId,
      amountMinor: request.amountMinor,
      feeMinor,
      currency: parties.institution.currency,
      maskedName: parties.maskedName,
      replayed: results[0]!.result === "exists",
    };
  }

  private submit(request: P2PSend, parties: Parties, debitAccountId: string, feeIncomeId: string, feeMinor: bigint, policy: LimitPolicy, payeePolicy: LimitPolicy): Promise<TransferResult[]> {
    const group = paymentWithFee(
      { id: request.paymentId, debitAccountId, creditAccountId: parties.payeeAccountId, amountMinor: request.amountMinor, code: "p2p" },
      { type: "p2p", feeMinor, agentCommissionMinor: 0n },
      { feeIncomeAccountId: feeIncomeId },
    );
    // Paid from a second wallet, the payer's limits still count on their primary one: per customer.
    const usage = debitAccountId === parties.payer.walletAccountId ? {} : { payerUsageAccountId: parties.payer.walletAccountId };
    // The payee's tier caps what its wallet may hold (a tier-0 wallet's maximum balance); what it
    // receives is not otherwise limited. The quote does not check this cap: answering it before
    // the PIN would let anyone bisect a stranger's balance for free. For the same reason the
    // ledger tells a payer who cannot fund the payment and its fee (from the same account) so
    // before the payee's cap: payerDebitMinor.
    const debit = feeMinor > 0n ? { payerDebitMinor: request.amountMinor + feeMinor } : {};
    // The cap is the customer's, not each wallet's: what their other wallets hold counts too.
    const others = parties.payeeOtherWalletAccountIds;
    const holdings = others.length > 0 ? { payeeHoldingAccountIds: others } : {};
    group[0]!.limits = { timeZone: parties.institution.timezone, payer: policy, payee: payeePolicy, ...usage, ...debit, ...holdings };
    // Receipts ride with the payment: the ledger writes them to the outbox only when it accepts it.
    group[0]!.notices = this.receipts(request, parties, feeMinor);
    return this.deps.ledger.submitLinked(group);
  }

  private receipts(request: P2PSend, parties: Parties, feeMinor: bigint): Notice[] {
    const { payer, payee, institution } = parties;
    const common = { amountMinor: request.amountMinor.toString(), currency: institution.currency, ref: transferReference(request.paymentId) };
    const name = cutName(payer.displayName, MAX_NAME_IN_RECEIPT);
    return [
      { msisdn: payer.msisdn, template: "receipt.p2p_sent", kind: "receipt", language: payer.language, params: { ...common, feeMinor: feeMinor.toString(), name: parties.maskedName } },
      { msisdn: payee.msisdn, template: "receipt.p2p_received", kind: "receipt", language: payee.language, params: { ...common, name } },
    ];
  }

  private async parties(request: P2PRequest): Promise<Parties | PaymentRefusal> {
    if (!validAmount(request.amountMinor)) return refuse("invalid_amount");
    const hint = request.payerInstitutionId;
    // Started beside the payer's read (one round trip fewer), unaudited: it may be left unused
    // (payer refused, stale hint). A lookup left unused must not end as an unhandled rejection;
    // awaiting it below still throws.
    const early = hint === undefined ? null : this.deps.directory.resolvePayee(request.payee, { institutionId: hint });
    early?.catch(() => undefined);
    const payer = await this.deps.directory.getCustomer(request.payerCustomerId);
    if (!payer) return refuse("payer_not_found");
    if (payer.status !== "active") return refuse("payer_unavailable");
    const institution = await this.deps.institutions.get(payer.institutionId);
    if (!institution) return refuse("payer_not_found");
    const found = await this.payee(request, payer.institutionId, early && payer.institutionId === hint ? early : null);
    // Blocked, closed or unknown: one answer before the PIN (quote and send alike), or anyone could
    // sort numbers into customers the bank blocked and numbers it never knew. The directory audited
    // which it was (directory.payee.lookup), for the bank.
    if (!found.ok) return refuse("payee_not_found");
    // Scoped to the payer's institution: no payment crosses institutions' books (no settlement leg).
    const { payee, customer, otherWalletAccountIds } = found.value;
    if (payee.customerId === payer.id) return refuse("self_payment");
    return {
      payer,
      institution,
      payee: customer,
      payeeCustomerId: payee.customerId,
      payeeAccountId: payee.accountId,
      payeeOtherWalletAccountIds: otherWalletAccountIds,
      maskedName: payee.maskedName,
    };
  }

  /**
   * The payee as the payer's institution finds them. A payee found blocked or closed is audited as
   * this payer's attempt (directory.payee.lookup, the bank's record), once, by the lookup whose
   * answer the payer gets: the early one is not audited, so a refusal it found is looked up again
   * with the payer as asker. Unknown payees too, so that a blocked one costs no more time than an
   * unknown number (the answer before the PIN must not tell them apart, by its delay neither).
   */
  private async payee(request: P2PRequest, institutionId: string, early: Promise<Outcome<ResolvedPayee>> | null): Promise<Outcome<ResolvedPayee>> {
    const found = early ? await early : null;
    if (found?.ok) return found;
    const asker = { actorType: "customer", actorId: request.payerCustomerId, channel: request.channel as Channel } as const;
    return this.deps.directory.resolvePayee(request.payee, { institutionId, asker });
  }

  /** The schedule's fee, if it is still the one the payer was shown (see agreedFee). */
  private async shownFee(request: P2PSend, institution: Institution): Promise<{ feeMinor: bigint } | PaymentRefusal> {
    const fee = await this.fee(institution, request.amountMinor);
    if ("code" in fee) return fee;
    const agreed = await agreedFee({ feeMinor: fee.feeMinor, commissionMinor: 0n }, request.quotedFeeMinor, request.paymentId, (id) => this.deps.ledger.getTransfer(id));
    return agreed ? { feeMinor: agreed.feeMinor } : refuse("fee_changed");
  }

  private async fee(institution: Institution, amountMinor: bigint): Promise<{ feeMinor: bigint } | PaymentRefusal> {
    const quote = await this.deps.fees.quote(institution.id, "p2p", amountMinor);
    return quote.ok ? { feeMinor: quote.feeMinor } : refuse("amount_outside_fee_bands");
  }
}
