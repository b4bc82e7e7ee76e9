import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { feeTransferId } from "../../src/core/fees/linked.js";
import { transferReference } from "../../src/core/ledger/ids.js";
import type { Transfer } from "../../src/core/ledger/types.js";
import { LedgerAccountsPort } from "../../src/menus/adapters/core-ports.js";
import type { CustomerRef } from "../../src/menus/engine/types.js";

// The account history as the ledger's store pages it: newest first, `limit` at a time, before a seq.
function history(transfers: Transfer[]) {
  const bySeq = transfers.map((t, i) => ({ ...t, seq: BigInt(i + 1) })).reverse();
  const pages: number[] = [];
  const ledger = {
    async getAccount() {
      return null;
    },
    async listAccountTransfers(_accountId: string, page: { limit?: number; beforeSeq?: bigint } = {}) {
      pages.push(page.limit ?? 0);
      return bySeq.filter((t) => page.beforeSeq === undefined || t.seq < page.beforeSeq).slice(0, page.limit);
    },
  };
  return { port: new LedgerAccountsPort(ledger as never), pages };
}

const WALLET = randomUUID();
const OTHER = randomUUID();
const FEES = randomUUID();
const me = { walletAccountId: WALLET } as CustomerRef;

let clock = 0;
function transfer(kind: Transfer["kind"], debit: string, credit: string, amountMinor: bigint, code: string, extra: Partial<Transfer> = {}): Transfer {
  return { id: randomUUID(), kind, debitAccountId: debit, creditAccountId: credit, amountMinor, currency: "KES", pendingId: null, timeoutSec: null, expiresAt: null, code, reference: null, createdAt: new Date(++clock * 1000), ...extra };
}

/** A payment and its fee, written in one linked group (the fee after it). */
function paid(debit: string, credit: string, amountMinor: bigint, feeMinor: bigint, feePayer = debit): Transfer[] {
  const payment = transfer("single", debit, credit, amountMinor, "p2p");
  return [payment, transfer("single", feePayer, FEES, feeMinor, "fee_p2p", { id: feeTransferId(payment.id), reference: payment.id })];
}

/** A cash-out held and released: amount and fee legs, each a pending and a void. */
function declined(): Transfer[] {
  const hold = transfer("pending", WALLET, OTHER, 200_00n, "cash_out");
  const feeHold = transfer("pending", WALLET, FEES, 10_00n, "fee_cash_out", { id: feeTransferId(hold.id), reference: hold.id });
  return [hold, feeHold, transfer("void", WALLET, OTHER, 200_00n, "cash_out", { pendingId: hold.id }), transfer("void", WALLET, FEES, 10_00n, "fee_cash_out", { pendingId: feeHold.id })];
}

describe("mini-statement", () => {
  it("shows each payment once with its fee, a cash-in less the fee the wallet paid, and a posted cash-out under its hold's reference", async () => {
    const cashIn = paid(OTHER, WALLET, 1_000_00n, 30_00n, WALLET);
    const sent = paid(WALLET, OTHER, 100_00n, 10_00n);
    const hold = transfer("pending", WALLET, OTHER, 300_00n, "cash_out");
    const feeHold = transfer("pending", WALLET, FEES, 10_00n, "fee_cash_out", { id: feeTransferId(hold.id), reference: hold.id });
    const posts = [transfer("post", WALLET, OTHER, 300_00n, "cash_out", { pendingId: hold.id }), transfer("post", WALLET, FEES, 10_00n, "fee_cash_out", { pendingId: feeHold.id })];
    const { port } = history([...cashIn, ...sent, hold, feeHold, ...posts]);
    const lines = await port.recent(me, 5);
    expect(lines.map((l) => [l.direction, l.amountMinor, l.reference])).toEqual([
      ["out", 310_00n, transferReference(hold.id)],
      ["out", 110_00n, transferReference(sent[0]!.id)],
      ["in", 970_00n, transferReference(cashIn[0]!.id)],
    ]);
  });

  it("reads past holds and releases a page at a time, at most three pages", async () => {
    const old = paid(OTHER, WALLET, 500_00n, 0n, OTHER).slice(0, 1);
    const { port, pages } = history([...old, ...Array.from({ length: 6 }, declined).flat()]);
    // 24 holds and releases: the payment is on the second page of 20.
    expect((await port.recent(me, 5)).map((l) => [l.direction, l.amountMinor])).toEqual([["in", 500_00n]]);
    expect(pages).toEqual([20, 20]);
    const buried = history([...old, ...Array.from({ length: 16 }, declined).flat()]);
    expect(await buried.port.recent(me, 5)).toEqual([]);
    expect(buried.pages).toEqual([20, 20, 20]);
  });
});
