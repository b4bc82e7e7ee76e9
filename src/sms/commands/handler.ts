/**
 * SMS commands (MO): BAL, MINI, SEND, HELP, LANG, STOP and START in every supported language.
 * The message is recorded first (so a telco's re-delivery is recognised and a payment's id is
 * derived from the message), then run, then answered through the Replies port. SMS is stored at
 * the SMSC, so its own (lower) channel limits apply, the reply never repeats the PIN, and nothing
 * of the text but its command word is ever logged or stored.
 */
import type { PinService } from "../../core/auth/pin-service.js";
import type { Directory } from "../../core/directory/directory.js";
import type { InstitutionStore } from "../../core/institutions/ports.js";
import { derivedUuid } from "../../core/ledger/ids.js";
import type { Ledger } from "../../core/ledger/ledger.js";
import type { Payments } from "../../core/payments/payments.js";
import { transferReference } from "../../core/ledger/ids.js";
import { CoreDirectoryPort, LedgerAccountsPort } from "../../menus/adapters/core-ports.js";
import { parseAmount } from "../../menus/engine/amounts.js";
import type { CustomerRef, Language } from "../../menus/index.js";
import type { P2PReceipt, PaymentRefusal } from "../../core/payments/types.js";
import { MoClaims, REDELIVERY_WINDOW_SEC, SEND_WINDOW_SEC, type IncomingSms } from "./mo-claims.js";
import { MoLeaseHeartbeat, type HeldLease } from "./mo-heartbeat.js";
import { MO_LEASE_SEC, MO_RUN_MAX_SEC, type MoClaim, type SqlMoLog } from "./mo-log.js";
import { PendingMoRecovery, type PendingMoSealer } from "./mo-pending.js";
import type { SqlOptOuts } from "./opt-outs.js";
import { parseCommand, redactedText, type ParsedCommand } from "./parse.js";
import type { RateLimiter } from "./rate-limit.js";
import { refusalKey } from "./refusals.js";
import type { Replies } from "./replies.js";
import type { ReplyParam, Vocabulary } from "./vocabulary.js";

export type { IncomingSms } from "./mo-claims.js";
export { REDELIVERY_WINDOW_SEC, SEND_WINDOW_SEC } from "./mo-claims.js";

export interface CommandLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SmsCommandDeps {
  vocabulary: Vocabulary;
  directory: Directory;
  ledger: Ledger;
  pins: PinService;
  payments: Pick<Payments, "sendP2P">;
  moLog: SqlMoLog;
  optOuts: SqlOptOuts;
  replies: Replies;
  rateLimiter: RateLimiter;
  logger: CommandLogger;
  /**
   * Where an institution's time zone (for the dates of a statement; without it, UTC) and language
   * (for a number it does not know; without it, English) are read.
   */
  institutions?: Pick<InstitutionStore, "get">;
  defaultLanguage?: Language;
  /** How long a re-delivered message id (HTTP) is recognised as the same one (default 1 day). */
  dedupeWindowSec?: number;
  /**
   * Keys the content digest of an HTTP SEND (moDigest), so that the same SEND under two aggregator
   * ids is recognised as SMPP recognises it; without it HTTP messages are known by their id alone.
   */
  moKeySecret?: Uint8Array;
  /** A copy of a message by content within this long of the last one that ran is the network's duplicate (default REDELIVERY_WINDOW_SEC). */
  repeatAfterSec?: number;
  /** How long a paid SEND's repeat is answered "already sent" instead of paying (default SEND_WINDOW_SEC). */
  sendWindowSec?: number;
  /** Keeps each acknowledged message, sealed, until it is answered (see mo-pending.ts); without it a run that dies loses the message. */
  pendingSealer?: PendingMoSealer<IncomingSms>;
  /** The lease a run holds on its MO record (default MO_LEASE_SEC; tests shorten it); renewed while the run goes on. */
  leaseSec?: number;
  /** How long a run's lease is renewed at most (default MO_RUN_MAX_SEC): a run stuck longer lets go. */
  maxRunSec?: number;
  statementRows?: number;
  /**
   * true once the ledger writes a payment's receipts (Payments attaches them as notices) to the
   * outbox in the payment's own transaction: a successful SEND then gets no second SMS from here.
   * Default false: the command answers "Sent …" itself, with the same reference as the receipt.
   */
  receiptsViaOutbox?: boolean;
}

interface Answer {
  key: string;
  params?: Record<string, ReplyParam>;
  /** Several lines (mini-statement). */
  lines?: Answer[];
  lang?: Language;
  /** Already answered elsewhere (the payment's receipt): send nothing. */
  silent?: boolean;
  /** The attempt whose payment moved money (or may have): repeats within the SEND window replay it. */
  moved?: number;
  /** Refused for a wrong PIN (SqlMoLog.markPinRefused): a run of this attempt again, or a reopened copy, answers so unchecked. */
  pinWrong?: boolean;
}

export class SmsCommands {
  private readonly claims: MoClaims;
  private readonly directoryPort: CoreDirectoryPort;
  private readonly accounts: LedgerAccountsPort;
  /** Institutions' time zones, once read: a zone never changes (it is set when the institution is created). */
  private readonly zones = new Map<string, string>();
  /** Messages acknowledged and still running, so that a shutdown can wait for them. */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: SmsCommandDeps) {
    this.claims = new MoClaims(deps.moLog, deps);
    this.directoryPort = new CoreDirectoryPort(deps.directory, deps.ledger);
    // With the directory, as the USSD menus: BAL lists every wallet the customer holds and MINI
    // merges their payments (without it only the wallet opened at registration was read).
    this.accounts = new LedgerAccountsPort(deps.ledger, deps.directory);
  }

  /** Receives and runs a message; resolves once it is answered (or dropped). */
  async handle(sms: IncomingSms): Promise<void> {
    const claim = await this.receive(sms);
    if (claim) await this.run(sms, claim);
  }

  /**
   * Rate-limits and records the message: null when it is dropped (over the number's rate) or was
   * already answered. Once this resolves the message is durable and may be acknowledged.
   */
  async receive(sms: IncomingSms): Promise<MoClaim | null> {
    const command = redactedText(sms.text, this.deps.vocabulary);
    if (!(await this.deps.rateLimiter.allow(sms.msisdn))) {
      this.deps.logger.warn({ link: sms.linkId, command }, "sms command over the number's rate: dropped");
      return null;
    }
    let claim = await this.claims.claim(sms, command);
    if (claim.handled) claim = await this.againIfLost(sms, command, claim);
    if (claim.handled) {
      this.deps.logger.info({ link: sms.linkId, mo: claim.id, command }, "sms command re-delivered: already answered");
      return null;
    }
    if (claim.running) {
      this.deps.logger.info({ link: sms.linkId, mo: claim.id, command }, "sms command re-delivered while it runs: left to that run");
      return null;
    }
    return claim;
  }

  /**
   * A copy of an answered message within the re-delivery window is dropped as the network's
   * duplicate, unless the answer never reached the customer (the SMSC refused it for good, it
   * expired, it was given up): the customer, who heard nothing, may be asking again, and is
   * answered as a repeat (a new attempt: a read runs again, a paid SEND replays its payment and is
   * told "already sent … Ref"). Nothing can pay twice: a paid SEND's repeat replays its id.
   */
  private async againIfLost(sms: IncomingSms, command: string, claim: MoClaim): Promise<MoClaim> {
    const replies = this.deps.replies;
    // Not a record by content (an aggregator's own retry of its id): dropped as before.
    if (!replies.lost || !this.claims.byContent(sms, command, claim)) return claim;
    // The payer's receipt answered a SEND that paid in this very attempt (receiptsViaOutbox).
    const receipt = claim.paid?.attempt === claim.attempt ? { transferId: smsPaymentId(claim.id, claim.attempt), msisdn: sms.msisdn } : undefined;
    if (!(await replies.lost(claim.id, claim.attempt, receipt))) return claim;
    const reopened = await this.claims.reopen(sms, command, claim);
    if (reopened) this.deps.logger.info({ link: sms.linkId, mo: claim.id, command }, "sms command repeated: its answer never reached the customer, answered again");
    // null: another copy reopened it first and runs it.
    return reopened ?? claim;
  }

  /** Runs a recorded message and sends the reply; errors are logged, never thrown at the link. */
  run(sms: IncomingSms, claim: MoClaim): Promise<void> {
    const running = this.execute(sms, claim).finally(() => this.running.delete(running));
    this.running.add(running);
    return running;
  }

  /** Runs what earlier runs (here or in a process that died) acknowledged and left unanswered. */
  pendingRecovery(): PendingMoRecovery<IncomingSms> | null {
    const sealer = this.deps.pendingSealer;
    if (!sealer) return null;
    // Within the SEND window the customer's own repeat of the text is recognised as this message;
    // a later run could pay what the customer has since paid another way.
    const sendWindowSec = this.deps.sendWindowSec ?? SEND_WINDOW_SEC;
    return new PendingMoRecovery({ moLog: this.deps.moLog, sealer, run: (sms, claim) => this.run(sms, claim), logger: this.deps.logger, sendWindowSec, maxAgeSec: sendWindowSec, leaseSec: this.deps.leaseSec });
  }

  /** Resolves once every message being run has finished (for shutdown). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Runs the message with its leases renewed while it goes on, and no longer once it ends, however it ends. */
  private async execute(sms: IncomingSms, claim: MoClaim): Promise<void> {
    const heartbeat = MoLeaseHeartbeat.start(this.deps.moLog, heldLeases(claim), {
      leaseSec: this.deps.leaseSec ?? MO_LEASE_SEC,
      maxRunSec: this.deps.maxRunSec ?? MO_RUN_MAX_SEC,
      logger: this.deps.logger,
    });
    try {
      await this.runOnce(sms, claim);
    } finally {
      await heartbeat.stop();
    }
  }

  private async runOnce(sms: IncomingSms, given: MoClaim): Promise<void> {
    const started = Date.now();
    const parsed = parseCommand(sms.text, this.deps.vocabulary);
    let claim = given;
    try {
      claim = await this.withIdRecord(sms, given);
      const customer = await this.customer(sms);
      const lang = customer?.language ?? parsed.lang ?? this.deps.defaultLanguage ?? (await this.bankLanguage(sms.institutionId)) ?? "en";
      const answer = await this.answer(parsed, customer, claim, sms);
      if (answer.moved !== undefined) await this.recordMoved(claim, answer.moved);
      if (answer.pinWrong) await this.deps.moLog.markPinRefused(claim.id, claim.attempt);
      if (await this.superseded(claim, started)) {
        this.deps.logger.warn({ link: sms.linkId, mo: claim.id, attempt: claim.attempt, command: parsed.kind, reply: answer.key, ms: Date.now() - started }, "sms command outlived its lease and another run took it over: no reply");
        return;
      }
      const text = this.render(answer.lang ?? lang, answer);
      const linkId = sms.linkId.startsWith("http-") ? null : sms.linkId;
      if (!answer.silent) await this.deps.replies.send({ msisdn: sms.msisdn, text, linkId, from: sms.to, institutionId: sms.institutionId, inReplyTo: claim.id, attempt: claim.attempt });
      await this.deps.moLog.markHandled(claim.id, answer.moved ?? null, claim.attempt);
      if (claim.alsoHandles) await this.deps.moLog.markHandled(claim.alsoHandles);
      this.deps.logger.info({ link: sms.linkId, mo: claim.id, attempt: claim.attempt, command: parsed.kind, reply: answer.key, duplicate: claim.duplicate, ms: Date.now() - started }, "sms command");
    } catch (error) {
      // Nothing of the text: it may hold a PIN. A re-delivery will run the message again.
      const err = error instanceof Error ? { name: error.name, message: error.message.slice(0, 200) } : { name: "unknown" };
      this.deps.logger.error({ link: sms.linkId, mo: claim.id, command: parsed.kind, err }, "sms command failed");
      // Only the leases this run took, with their tokens (SqlMoLog.release): a sweep's run never
      // took the lease of the SEND's id record (withIdRecord), and either may since have passed to another run.
      if (claim.runToken !== undefined) await this.deps.moLog.release(claim.id, claim.runToken).catch(() => undefined); // else the lease lapses on its own
      if (claim.alsoHandles !== undefined && claim.alsoHandlesToken !== undefined) await this.deps.moLog.release(claim.alsoHandles, claim.alsoHandlesToken).catch(() => undefined);
    }
  }

  /**
   * A run stuck past MO_RUN_MAX_SEC (or whose renewals failed) lets its lease lapse, and the sweep
   * or a copy runs the message again (same id and attempt). Both replies have one id, so the
   * outbox keeps one; but the other run may have been answered by the payer's receipt (no reply)
   * while this one, waking, would say otherwise ("could not confirm", a refusal), a second and
   * contradicting SMS. Such a run answers nothing, nor marks the message: the run that took it
   * over does (or, failing, the sweep runs it again). Read only for a run longer than a third of
   * its lease: shorter, it still holds the lease it began with (no renewal was due yet).
   */
  private async superseded(claim: MoClaim, started: number): Promise<boolean> {
    const leaseMs = (this.deps.leaseSec ?? MO_LEASE_SEC) * 1_000;
    if (claim.runToken === undefined || Date.now() - started < leaseMs / 3) return false;
    return this.deps.moLog.superseded(claim.id, claim.runToken, claim.attempt);
  }

  /**
   * A SEND's payment moved money (or may have): recorded before the reply, not only once answered
   * (SqlMoLog.markPaid). The content record then holds the payment for the SEND window, so a copy
   * replays its id, whether or not any run ever answers it. The aggregator's id record (HTTP) is
   * answered from here by the content record's run, as for a duplicate under another id
   * (MoClaims.claim): its re-delivery must never pay, and once the sweep has dropped a message no
   * run could answer, a re-delivery after the SEND window found the id free and the content record
   * stale, and paid again under a new id. The content record stays pending, so the sweep still
   * answers the customer. Simpler than reading the ledger for the derived transfer id when the
   * sweep drops a SEND: the sweep is generic over the message and knows no payment, and neither
   * the drop nor the run could mark the id record without opening the sealed text.
   */
  private async recordMoved(claim: MoClaim, attempt: number): Promise<void> {
    await this.deps.moLog.markPaid(claim.id, attempt);
    if (claim.alsoHandles !== undefined) await this.deps.moLog.markHandled(claim.alsoHandles);
  }

  /**
   * An HTTP SEND runs under its content record, and its record by the aggregator's id is answered
   * (or released) with it: MoClaims.claim's alsoHandles. A run that comes without it, the pending
   * sweep's (mo-pending.ts re-runs the content record, which holds the sealed text, alone), looks
   * it up by the message's own key. Left unanswered, a re-delivery of the id after the SEND window
   * (the aggregator never got our 200) found it free and the content record stale, and paid the
   * SEND a second time under a new id.
   */
  private async withIdRecord(sms: IncomingSms, claim: MoClaim): Promise<MoClaim> {
    if (claim.alsoHandles !== undefined || sms.byContent || !this.deps.moKeySecret || redactedText(sms.text, this.deps.vocabulary) !== "send") return claim;
    const byId = await this.deps.moLog.idOf(sms.dedupeScope ?? sms.linkId, sms.moKey);
    return byId !== null && byId !== claim.id ? { ...claim, alsoHandles: byId } : claim;
  }

  private async customer(sms: IncomingSms): Promise<CustomerRef | null> {
    const customer = await this.directoryPort.findByMsisdn(sms.msisdn, sms.institutionId);
    return customer && customer.institutionId === sms.institutionId ? customer : null;
  }

  /**
   * The bank's language, for a number it does not know that wrote no command word: its USSD menu
   * greets such numbers in it, and SMS answered them in English. Read each time (a bank may change
   * it), and only on this path.
   */
  private async bankLanguage(institutionId: string): Promise<Language | undefined> {
    return (await this.deps.institutions?.get(institutionId))?.language;
  }

  private render(lang: Language, answer: Answer): string {
    const v = this.deps.vocabulary;
    if (answer.lines) return answer.lines.map((line) => v.render(lang, line.key, line.params)).join("\n");
    return v.render(lang, answer.key, answer.params);
  }

  private async answer(parsed: ParsedCommand, customer: CustomerRef | null, claim: MoClaim, sms: IncomingSms): Promise<Answer> {
    switch (parsed.kind) {
      case "unknown":
        return { key: "short_help" };
      case "usage":
        return { key: parsed.command === "help" || parsed.command === "stop" || parsed.command === "start" ? "help" : `usage_${parsed.command}` };
      case "help":
        return { key: "help" };
      case "stop":
        await this.deps.optOuts.optOut(sms.msisdn);
        return { key: "stopped" };
      case "start":
        await this.deps.optOuts.optIn(sms.msisdn);
        return { key: "started" };
      default:
        break;
    }
    if (!customer) return { key: "not_registered" };
    if (!customer.active) return { key: "err.account_frozen" };
    // Registered on USSD without finishing the PIN step: there is no PIN to be wrong (every PIN
    // command used to answer "Wrong PIN"); the USSD menu takes them to choosing one.
    if (customer.awaitingFirstPin && parsed.kind !== "language") return { key: "err.pin_not_set" };
    // This very text (so this PIN) was already refused for a wrong PIN: by the attempt a network
    // copy reopened because that answer was lost, or by an earlier run of this attempt whose reply
    // failed. Checked again it counted one more wrong PIN per copy, and three copies locked a
    // customer who typed one. The same refusal, unchecked: whatever the PIN it tells nothing the
    // first answer did not (no PIN oracle), and moves nothing.
    if (claim.pinRefused && parsed.kind !== "language") return { key: "err.pin_wrong", pinWrong: true };
    switch (parsed.kind) {
      case "balance":
        return this.balance(customer, parsed.pin);
      case "statement":
        return this.statement(customer, parsed.pin);
      case "send":
        return this.send(customer, parsed, claim);
      case "language":
        return this.language(customer, parsed.target);
    }
  }

  private async verify(customer: CustomerRef, pin: string): Promise<Answer | null> {
    const r = await this.deps.pins.verifyPin({ actor: { type: "customer", id: customer.id }, channel: "sms", subjectId: customer.id, pin });
    if (r.ok) return null;
    if (r.code === "pin_wrong") return { key: refusalKey(r.code), pinWrong: true };
    return r.code === "pin_locked" ? this.refusal(customer, r.code, r.lockedUntil) : { key: refusalKey(r.code) };
  }

  /**
   * A refusal's reply; one that ends at a known time (a PIN lock, a SIM swap's cooling) says when,
   * in the bank's zone, as the USSD screen does: "contact your bank" for a lock that lifts by
   * itself in 30 minutes sent customers to a branch for nothing.
   */
  private async refusal(customer: CustomerRef, code: string, until?: Date | null): Promise<Answer> {
    const key = refusalKey(code);
    if (!until || (key !== "err.pin_locked" && key !== "err.sim_swap")) return { key };
    return { key: `${key}_until`, params: { until: { date: until, timeZone: await this.timeZoneOf(customer.institutionId), time: true } } };
  }

  private async balance(customer: CustomerRef, pin: string): Promise<Answer> {
    const refused = await this.verify(customer, pin);
    if (refused) return refused;
    const { availableMinor, currency, wallets } = await this.accounts.balance(customer);
    if (!wallets || wallets.length <= 1) return { key: "balance", params: { amount: { money: availableMinor, currency } } };
    // Several wallets: one line each, by its alias (as the USSD balance screen).
    const lines: Answer[] = wallets.map((w) => ({ key: "balance_wallet", params: { name: w.name, amount: { money: w.availableMinor, currency: w.currency } } }));
    return { key: "balance_several", lines: [{ key: "balance_several" }, ...lines] };
  }

  private async statement(customer: CustomerRef, pin: string): Promise<Answer> {
    const refused = await this.verify(customer, pin);
    if (refused) return refused;
    const [rows, timeZone] = await Promise.all([this.accounts.recent(customer, this.deps.statementRows ?? 5), this.timeZoneOf(customer.institutionId)]);
    if (rows.length === 0) return { key: "statement_empty" };
    const lines: Answer[] = rows.map((row) => ({
      key: row.direction === "in" ? "statement_in" : "statement_out",
      params: { amount: { money: row.amountMinor, currency: customer.currency }, date: { date: row.at, timeZone }, ref: row.reference },
    }));
    return { key: "statement_title", lines: [{ key: "statement_title" }, ...lines] };
  }

  /** The zone the customer's bank counts its days in, so that a statement dates a payment as the bank does. */
  private async timeZoneOf(institutionId: string): Promise<string | undefined> {
    const known = this.zones.get(institutionId);
    if (known !== undefined || !this.deps.institutions) return known;
    const zone = (await this.deps.institutions.get(institutionId))?.timezone;
    // Institutions are few; the bound only guards against a misuse.
    if (zone !== undefined && this.zones.size < 1_000) this.zones.set(institutionId, zone);
    return zone;
  }

  private async send(customer: CustomerRef, parsed: Extract<ParsedCommand, { kind: "send" }>, claim: MoClaim): Promise<Answer> {
    // Read as the customer's screens and receipts write amounts: "150,500" is 150.500 in French.
    const amountMinor = parseAmount(parsed.amount, customer.currency, customer.language);
    if (amountMinor === null) return { key: "err.invalid_amount" };
    // Derived from the MO message's id and attempt: a re-delivered message submits the same payment
    // id, so the ledger answers "exists" instead of paying twice. A repeat within the SEND window of
    // a payment replays that payment's id (nothing moves); any other repeat is a new attempt.
    let payAttempt = claim.paid?.attempt ?? claim.attempt;
    let sent = await this.pay(customer, parsed, amountMinor, claim, payAttempt);
    if ("unknown" in sent) return sent.unknown;
    if (!sent.ok && sent.code === "payment_abandoned" && payAttempt !== claim.attempt) {
      // The replayed payment threw and its id was abandoned (Ledger.abandon): it never posted and
      // never will. The customer's repeat is then a new payment under its own attempt's id; it was
      // refused for the rest of the SEND window, so the customer could not pay for 5 minutes. A
      // network copy of this repeat still pays nothing more: it is dropped within the minute, and
      // later replays this attempt's id. (The PIN is checked once more: the replay checked it too.)
      payAttempt = claim.attempt;
      sent = await this.pay(customer, parsed, amountMinor, claim, payAttempt);
      if ("unknown" in sent) return sent.unknown;
    }
    const paymentId = smsPaymentId(claim.id, payAttempt);
    if (!sent.ok) {
      // "You may send up to KES 0.00 now" says nothing: with no room left it is the plain refusal.
      if (refusalKey(sent.code) === "err.limit" && sent.availableMinor !== undefined && sent.availableMinor > 0n) {
        return { key: "err.limit_remaining", params: { remaining: { money: sent.availableMinor, currency: customer.currency } } };
      }
      if (sent.code === "pin_wrong") return { key: refusalKey(sent.code), pinWrong: true };
      return this.refusal(customer, sent.code, sent.until);
    }
    // A repeat that replayed an earlier attempt's payment. A run of the attempt that paid (a re-run
    // after its reply failed: markPaid recorded it before the reply) is answered as its first run would have been.
    if (claim.paid && payAttempt === claim.paid.attempt && payAttempt !== claim.attempt && sent.replayed) return this.alreadySent(customer, sent, claim.paid, paymentId);
    // The payer's receipt (the ledger's outbox row) answers the SEND, unless they sent STOP: the
    // relay holds receipts back then, and a command must still be answered, so the reply goes.
    const receiptAnswers = this.deps.receiptsViaOutbox === true && !(await this.deps.optOuts.isOptedOut(customer.msisdn));
    return {
      key: "sent",
      silent: receiptAnswers,
      moved: payAttempt,
      params: {
        amount: { money: sent.amountMinor, currency: sent.currency },
        name: sent.maskedName,
        fee: { money: sent.feeMinor, currency: sent.currency },
        ref: transferReference(paymentId),
      },
    };
  }

  /** The SEND's payment under attempt `payAttempt`'s id; a throw is an unknown outcome, answered so. */
  private async pay(customer: CustomerRef, parsed: Extract<ParsedCommand, { kind: "send" }>, amountMinor: bigint, claim: MoClaim, payAttempt: number): Promise<P2PReceipt | PaymentRefusal | { unknown: Answer }> {
    try {
      // The sender as just read: its institution and number let the payee and SIM-swap lookups run beside the payer's read.
      return await this.deps.payments.sendP2P({
        paymentId: smsPaymentId(claim.id, payAttempt),
        payerCustomerId: customer.id,
        payerInstitutionId: customer.institutionId,
        payerMsisdn: customer.msisdn,
        payee: parsed.payee,
        amountMinor,
        channel: "sms",
        pin: parsed.pin,
      });
    } catch {
      // Whether it moved is not known: a repeat replays this payment id, which settles it. The
      // reply says when a repeat is answered: one sooner is taken for the network's copy.
      const minutes = String(Math.ceil((this.deps.repeatAfterSec ?? REDELIVERY_WINDOW_SEC) / 60));
      return { unknown: { key: "err.payment_unknown", moved: payAttempt, params: { minutes } } };
    }
  }

  /**
   * The customer sent a SEND again that already paid within the SEND window: nothing moved (its
   * payment id was replayed), and they are told so rather than left without an answer. No receipt
   * is written for a replay, so this reply goes even with receiptsViaOutbox.
   */
  private async alreadySent(customer: CustomerRef, sent: P2PReceipt, paid: NonNullable<MoClaim["paid"]>, paymentId: string): Promise<Answer> {
    const timeZone = await this.timeZoneOf(customer.institutionId);
    return {
      key: "send_repeat_ignored",
      params: {
        amount: { money: sent.amountMinor, currency: sent.currency },
        name: sent.maskedName,
        time: { date: paid.at, timeZone, time: "only" },
        ref: transferReference(paymentId),
        minutes: String(Math.ceil(paid.remainingSec / 60)),
      },
    };
  }

  private async language(customer: CustomerRef, target: Language): Promise<Answer> {
    const set = await this.deps.directory.setLanguage({ actorType: "customer", actorId: customer.id, channel: "sms" }, customer.id, target);
    return set.ok ? { key: "language_set", lang: target } : { key: "err.generic" };
  }
}

/** The leases a claim took (MoClaims.claim: its record's, and an HTTP SEND's id record's), which its run renews. */
function heldLeases(claim: MoClaim): HeldLease[] {
  const leases: HeldLease[] = [];
  if (claim.runToken !== undefined) leases.push({ id: claim.id, runToken: claim.runToken });
  if (claim.alsoHandles !== undefined && claim.alsoHandlesToken !== undefined) leases.push({ id: claim.alsoHandles, runToken: claim.alsoHandlesToken });
  return leases;
}

/** The transfer id of a SEND: attempt 0 keeps the id every SEND had before attempts existed. */
export function smsPaymentId(moId: string, attempt: number): string {
  return derivedUuid(attempt === 0 ? `fingate:sms:send:${moId}` : `fingate:sms:send:${moId}:${attempt}`);
}
