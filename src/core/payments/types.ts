import type { LimitChannel, LimitCode } from "../limits/types.js";

/** Why a payment did not go through, in words a menu can map to one message each. */
export type PaymentCode =
  | "payer_not_found"
  | "payer_unavailable"
  /** No payable customer: unknown, another institution's, blocked or closed, all one to the payer. */
  | "payee_not_found"
  /** The payee's account refused the money in the ledger (after the PIN). */
  | "payee_unavailable"
  | "self_payment"
  | "invalid_amount"
  | "invalid_payment_id"
  | "amount_outside_fee_bands"
  | "sim_swap_cooling"
  | "pin_wrong"
  | "pin_locked"
  | "pin_invalid"
  | "insufficient_funds"
  | "currency_mismatch"
  | "payment_id_reused"
  /** A retry of a payment id given up after its write threw (Ledger.abandon): it never posted, and never will. */
  | "payment_abandoned"
  | "instrument_not_found"
  | "fee_changed"
  | LimitCode;

export interface PaymentRefusal {
  ok: false;
  code: PaymentCode;
  /** For limit refusals: the most the payer may send right now. */
  availableMinor?: bigint;
  /** For sim_swap_cooling and pin_locked: when it ends (null: until the bank unlocks). */
  until?: Date | null;
}

export interface P2PRequest {
  payerCustomerId: string;
  /** The payee as typed: a phone number in any accepted form, or a pseudonym. */
  payee: string;
  amountMinor: bigint;
  channel: LimitChannel;
  /**
   * The payer's institution as the caller last saw it (a menu session knows it): the payee lookup
   * then runs beside the payer's read instead of after it. Only a hint: the payer is read anyway,
   * and a hint that no longer matches costs the lookup again, scoped to the payer's institution.
   */
  payerInstitutionId?: string;
  /**
   * The payer's primary wallet as the caller last saw it: with payerInstitutionId, a quote reads
   * the payer's limit usage beside the payer instead of after. Only a hint, as above.
   */
  payerWalletAccountId?: string;
}

export interface P2PQuote {
  ok: true;
  payeeCustomerId: string;
  maskedName: string;
  amountMinor: bigint;
  feeMinor: bigint;
  totalMinor: bigint;
  currency: string;
}

export interface P2PSend extends P2PRequest {
  /** Chosen by the caller (e.g. derived from the USSD session): a retry cannot pay twice. */
  paymentId: string;
  /**
   * The payer's number as the caller knows it (a menu session is dialled from it): the SIM-swap
   * lookup then runs beside the payer's read. Only a hint: used only when it is the number read.
   */
  payerMsisdn?: string;
  /**
   * The payer's own payment instrument to pay from (its id); absent: the wallet opened at
   * registration. The amount, the fee and the payer's limits all fall on that instrument's account.
   */
  fromInstrumentId?: string;
  /**
   * The fee the payer was shown (the quote's), when one was: a schedule changed since refuses the
   * payment as fee_changed instead of charging a fee the payer never saw.
   */
  quotedFeeMinor?: bigint;
  /** Verified here, then forgotten: never stored, logged or audited. */
  pin: string;
}

export interface P2PReceipt {
  ok: true;
  paymentId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  currency: string;
  maskedName: string;
  /** True when this call found the payment already made (a retry). */
  replayed: boolean;
}
