/**
 * A stand-in PaymentsPort: ZERO fee and NO limits, one p2p transfer from the wallet on the ledger after the PIN.
 * For tools and tests without the payments core; the gateway uses CorePaymentsPort.
 */
import type { Ledger } from "../../core/ledger/ledger.js";
import type { TransferResultCode } from "../../core/ledger/types.js";
import type { CustomerRef, DirectoryPort, PaymentQuote, PaymentsPort, PinPort, SendInput, SendResult } from "../ports.js";
import { transferReference } from "../../core/ledger/ids.js";

const CODES: Partial<Record<TransferResultCode, string>> = {
  ok: "ok",
  exists: "ok",
  exceeds_credits: "insufficient_funds",
  debit_account_frozen: "account_frozen",
  debit_account_closed: "account_frozen",
  credit_account_frozen: "payee_unavailable",
  credit_account_closed: "payee_unavailable",
  credit_account_not_found: "payee_not_found",
  accounts_must_have_the_same_currency: "payee_unavailable",
  amount_too_large: "invalid_amount",
  amount_must_be_positive: "invalid_amount",
  overflows_credits: "payee_unavailable",
};

export class LedgerPaymentsPort implements PaymentsPort {
  constructor(
    private readonly ledger: Ledger,
    private readonly directory: DirectoryPort,
    private readonly pins: PinPort,
  ) {}

  async quote(_payer: CustomerRef, _payeeQuery: string, amountMinor: bigint): Promise<PaymentQuote> {
    return amountMinor > 0n ? { feeMinor: 0n } : { feeMinor: 0n, refusal: "invalid_amount" };
  }

  async send(input: SendInput): Promise<SendResult> {
    const reference = transferReference(input.paymentId);
    // The stand-in pays from the wallet only: another instrument chosen is refused, never swapped.
    if (input.fromInstrumentId !== undefined) return { code: "instrument_not_found", reference };
    const payee = await this.directory.lookupPayee(input.payeeQuery, input.payer.institutionId);
    if (!payee.ok) return { code: payee.code, reference };
    if (payee.value.customerId === input.payer.id) return { code: "self_payment", reference };
    const pin = await this.pins.verifyPin(input.payer, input.pin);
    if (!pin.ok) return { code: pin.code, reference, until: pin.until ?? null };
    const result = await this.ledger.transfer({
      id: input.paymentId,
      debitAccountId: input.payer.walletAccountId,
      creditAccountId: payee.value.accountId,
      amountMinor: input.amountMinor,
      code: "p2p",
      reference: `ussd:${reference}`,
    });
    return { code: (Object.hasOwn(CODES, result.result) ? CODES[result.result] : undefined) ?? "payment_failed", reference, feeMinor: 0n };
  }
}
