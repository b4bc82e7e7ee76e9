/** The PaymentsPort over the payments core: fees from the bank's schedule, limits in the ledger. */
import type { Payments } from "../../core/payments/payments.js";
import type { CustomerRef, PaymentQuote, PaymentsPort, SendInput, SendResult } from "../ports.js";
import { transferReference } from "../../core/ledger/ids.js";

export class CorePaymentsPort implements PaymentsPort {
  constructor(private readonly payments: Pick<Payments, "quoteP2P" | "sendP2P">) {}

  async quote(payer: CustomerRef, payeeQuery: string, amountMinor: bigint): Promise<PaymentQuote> {
    const quote = await this.payments.quoteP2P({
      payerCustomerId: payer.id,
      payerInstitutionId: payer.institutionId,
      payerWalletAccountId: payer.walletAccountId,
      payee: payeeQuery,
      amountMinor,
      channel: "ussd",
    });
    if (quote.ok) return { feeMinor: quote.feeMinor };
    return { feeMinor: 0n, refusal: quote.code, ...(quote.availableMinor !== undefined ? { remainingMinor: quote.availableMinor } : {}) };
  }

  async send(input: SendInput): Promise<SendResult> {
    const reference = transferReference(input.paymentId);
    const sent = await this.payments.sendP2P({
      paymentId: input.paymentId,
      payerCustomerId: input.payer.id,
      payerInstitutionId: input.payer.institutionId,
      payerMsisdn: input.payer.msisdn,
      payee: input.payeeQuery,
      amountMinor: input.amountMinor,
      channel: "ussd",
      ...(input.fromInstrumentId !== undefined ? { fromInstrumentId: input.fromInstrumentId } : {}),
      quotedFeeMinor: input.quotedFeeMinor,
      pin: input.pin,
    });
    if (sent.ok) return { code: "ok", reference, feeMinor: sent.feeMinor };
    return {
      code: sent.code,
      reference,
      ...(sent.availableMinor !== undefined ? { remainingMinor: sent.availableMinor } : {}),
      ...(sent.until !== undefined ? { until: sent.until } : {}),
    };
  }
}
