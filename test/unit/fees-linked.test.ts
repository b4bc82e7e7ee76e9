import { describe, expect, it } from "vitest";
import { commissionTransferId, feeTransferId, paymentWithFee, type Payment } from "../../src/core/fees/linked.js";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";

const payer = uuidv7();
const payee = uuidv7();
const feeIncome = uuidv7();
const agent = uuidv7();
const payment: Payment = { id: derivedUuid("payment-1"), debitAccountId: payer, creditAccountId: payee, amountMinor: 20_000n, code: "cash_out" };

describe("paymentWithFee: the linked group for submitLinked", () => {
  it("payment, then fee from the payer to fee income, then the agent's commission out of fee income", () => {
    const group = paymentWithFee(payment, { type: "cash_out", feeMinor: 700n, agentCommissionMinor: 300n }, { feeIncomeAccountId: feeIncome, agentCommissionAccountId: agent });
    expect(group).toEqual([
      { ...payment, kind: "single" },
      { id: feeTransferId(payment.id), kind: "single", debitAccountId: payer, creditAccountId: feeIncome, amountMinor: 700n, code: "fee_cash_out", reference: payment.id },
      { id: commissionTransferId(payment.id), kind: "single", debitAccountId: feeIncome, creditAccountId: agent, amountMinor: 300n, code: "commission_cash_out", reference: payment.id },
    ]);
  });

  it("derives the fee's and commission's ids from the payment's: a retry submits the same group", () => {
    const again = paymentWithFee(payment, { type: "cash_out", feeMinor: 700n, agentCommissionMinor: 300n }, { feeIncomeAccountId: feeIncome, agentCommissionAccountId: agent });
    expect(again.map((t) => t.id)).toEqual([payment.id, feeTransferId(payment.id), commissionTransferId(payment.id)]);
    expect(new Set(again.map((t) => t.id)).size).toBe(3);
  });

  it("leaves out zero legs: a free payment is alone, a fee without an agent keeps its whole amount", () => {
    expect(paymentWithFee(payment, { type: "p2p", feeMinor: 0n, agentCommissionMinor: 0n }, { feeIncomeAccountId: feeIncome })).toHaveLength(1);
    const noAgent = paymentWithFee(payment, { type: "p2p", feeMinor: 700n, agentCommissionMinor: 300n }, { feeIncomeAccountId: feeIncome });
    expect(noAgent).toHaveLength(2);
    expect(noAgent[1]).toMatchObject({ code: "fee_p2p", amountMinor: 700n });
  });

  it("charges the fee to another account when asked (e.g. the merchant pays)", () => {
    const merchantPays = paymentWithFee(payment, { type: "merchant", feeMinor: 50n, agentCommissionMinor: 0n }, { feeIncomeAccountId: feeIncome, feePayerAccountId: payee });
    expect(merchantPays[1]).toMatchObject({ debitAccountId: payee, creditAccountId: feeIncome });
  });

  it("never pays the agent more than the fee", () => {
    const group = paymentWithFee(payment, { type: "cash_in", feeMinor: 100n, agentCommissionMinor: 500n }, { feeIncomeAccountId: feeIncome, agentCommissionAccountId: agent });
    expect(group[2]).toMatchObject({ amountMinor: 100n });
  });
});
