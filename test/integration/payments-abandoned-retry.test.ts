// A payment whose ledger write threw under SIM-swap cooling has its id abandoned (Ledger.abandon:
// recorded as refused for good, transfer_abandoned) before the allowance is given back. A retry
// of that payment id (the SMS repeat that "settles it", a USSD hop retried) used to throw
// "unexpected ledger outcome for a payment": the customer was told the outcome is unknown, again
// and again, though the ledger knows that nothing moved and never will. It is a refusal: nothing
// moved, the allowance is intact, and the customer may pay again under a new id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

describe("a retry of a payment whose id was abandoned", () => {
  let w: AgentsWorld;
  let payee: Customer;

  const send = (from: Customer, amountMinor: bigint, paymentId = uuidv7()) =>
    w.services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn: from.msisdn, payee: payee.msisdn, amountMinor, channel: "sms", paymentId, pin: "4827" });

  beforeAll(async () => {
    w = await openAgentsWorld("pay-abandoned");
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 0n }] }, new Date(), () => []);
    payee = await w.register("0712840010", "Abandon Payee", "5903");
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("is refused, moves nothing, and leaves a new payment free to go", async () => {
    const c = await w.register("0712840011", "Abandon Wanjiku", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    const paymentId = uuidv7();
    // What SimSwapGuard.spend does after a move that threw: the id is refused for good.
    expect(await w.ledger.abandon(paymentId)).toBe(true);
    await expect(send(c, 900n, paymentId)).resolves.toMatchObject({ ok: false, code: "payment_abandoned" });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n);
    expect(await w.ledger.getTransfer(paymentId)).toBeNull();
    expect(await send(c, 900n)).toMatchObject({ ok: true });
    expect(await w.balance(c.walletAccountId)).toBe(49_100n);
  });

  it("under cooling, gives the allowance back (nothing moved)", async () => {
    const c = await w.register("0712840012", "Abandon Swap", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap" })).ok).toBe(true);
    const paymentId = uuidv7();
    expect(await w.ledger.abandon(paymentId)).toBe(true);
    await expect(send(c, 900n, paymentId)).resolves.toMatchObject({ ok: false, code: "payment_abandoned" });
    // The whole cooling allowance (1,000) is still there.
    expect(await send(c, 1_000n)).toMatchObject({ ok: true });
    expect(await w.balance(c.walletAccountId)).toBe(49_000n);
  });
});
