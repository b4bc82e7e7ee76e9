import { derivedUuid } from "../ledger/ids.js";
import type { TransferInput, TransferResult } from "../ledger/types.js";
import type { FeeType } from "./types.js";

/** A payment as the caller would submit it alone. */
export interface Payment {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  /** The payment's own transfer code, e.g. "p2p". */
  code: string;
  reference?: string;
}

export interface FeeCharge {
  type: FeeType;
  feeMinor: bigint;
  agentCommissionMinor: bigint;
}

export interface FeeAccounts {
  /** The institution's fee_income account (systemAccountId(institution, { kind: "fee_income" })). */
  feeIncomeAccountId: string;
  /** Who pays the fee; the payer (the payment's debit account) unless set, e.g. a merchant. */
  feePayerAccountId?: string;
  /** The handling agent's commission account; without one the whole fee stays with the bank. */
  agentCommissionAccountId?: string;
}

/** Transfer codes of fees and commissions, one per payment type so reports can split them. */
export const feeCode = (type: FeeType): string => `fee_${type}`;
export const commissionCode = (type: FeeType): string => `commission_${type}`;
export const isFeeCode = (code: string): boolean => code.startsWith("fee_");
/**
 * Transfer codes of a reversal's fee refund (out of fee income) and commission clawback (back
 * into it): the fees report reads them under the payment type. Codes are at most 32 characters,
 * hence the short suffix of the clawback.
 */
export const feeRefundCode = (type: FeeType): string => `fee_${type}_reversal`;
export const commissionClawbackCode = (type: FeeType): string => `commission_${type}_rev`;

/** Ids of a payment's fee and commission, derived from the payment's: a retry maps to the same transfers. */
export const feeTransferId = (paymentId: string): string => derivedUuid(`fingate:fee:${paymentId}`);
export const commissionTransferId = (paymentId: string): string => derivedUuid(`fingate:commission:${paymentId}`);

/**
 * The linked group for Ledger.submitLinked: the payment, then the fee from the fee payer to the
 * bank's fee income, then the agent's share out of that income. All-or-nothing: a payer who can
 * cover the payment but not its fee moves nothing. Zero-amount legs are left out (the ledger
 * refuses them). The commission comes after the fee so fee income never dips below zero.
 */
export function paymentWithFee(payment: Payment, fee: FeeCharge, accounts: FeeAccounts): TransferInput[] {
  const group: TransferInput[] = [{ ...payment, kind: "single" }];
  if (fee.feeMinor <= 0n) return group;
  group.push({
    id: feeTransferId(payment.id),
    kind: "single",
    debitAccountId: accounts.feePayerAccountId ?? payment.debitAccountId,
    creditAccountId: accounts.feeIncomeAccountId,
    amountMinor: fee.feeMinor,
    code: feeCode(fee.type),
    reference: payment.id,
  });
  const commission = fee.agentCommissionMinor < fee.feeMinor ? fee.agentCommissionMinor : fee.feeMinor;
  if (commission > 0n && accounts.agentCommissionAccountId) {
    group.push({
      id: commissionTransferId(payment.id),
      kind: "single",
      debitAccountId: accounts.feeIncomeAccountId,
      creditAccountId: accounts.agentCommissionAccountId,
      amountMinor: commission,
      code: commissionCode(fee.type),
      reference: payment.id,
    });
  }
  return group;
}

/** A fee and the agent's share of it, as a payment's linked group moves them. */
export interface AgreedFee {
  feeMinor: bigint;
  commissionMinor: bigint;
}

/**
 * The fee a payment moves: the schedule's `current` one, as long as it is the one the payer was
 * shown (`quotedFeeMinor`, absent when nothing was shown). Null when the schedule changed between
 * the quote and the payment: the payer must see the new fee before paying it. A payment already
 * posted keeps what it posted with, so a retry after a change still answers with its receipt,
 * with or without the quote (a client of the agent API need not send one): a payment with no
 * quote costs one look-up of its id.
 */
export async function agreedFee(
  current: AgreedFee,
  quotedFeeMinor: bigint | undefined,
  paymentId: string,
  getTransfer: (id: string) => Promise<{ amountMinor: bigint } | null>,
): Promise<AgreedFee | null> {
  if (quotedFeeMinor === current.feeMinor) return current;
  const posted = await postedFee(paymentId, getTransfer);
  if (posted) return posted;
  return quotedFeeMinor === undefined ? current : null;
}

/** The fee and commission a payment of this id posted with; null when it has not posted. */
export async function postedFee(paymentId: string, getTransfer: (id: string) => Promise<{ amountMinor: bigint } | null>): Promise<AgreedFee | null> {
  if (!(await getTransfer(paymentId))) return null;
  const [fee, commission] = await Promise.all([getTransfer(feeTransferId(paymentId)), getTransfer(commissionTransferId(paymentId))]);
  return { feeMinor: fee?.amountMinor ?? 0n, commissionMinor: commission?.amountMinor ?? 0n };
}

/**
 * The ledger refused a payment's group over one of its fee legs as written before (another
 * amount, or a leg the first run did not have): the payment itself may have posted with the fee
 * of its day, and a retry built from today's schedule differs. agreedFee trusts the schedule when
 * the quote matches it (no read on a first attempt), so the caller reads what posted then.
 */
export function feeLegDiffers(results: TransferResult[]): boolean {
  return results.slice(1).some((r) => r.result.startsWith("exists_with_different"));
}
