// Person-to-person payments end to end over real PostgreSQL: fees post all-or-nothing with the
// payment, limits are enforced inside the ledger's transaction, the PIN is required, and a retried
// payment id never pays twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { AccountFlags } from "../../src/core/ledger/types.js";
import { LimitPolicies } from "../../src/core/limits/policies.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin, SYSTEM } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { limitUsageRows } from "../helpers/limit-usage.js";

const DAILY: LimitPolicy = {
  maxPerTransactionMinor: 50_000n,
  maxDailyAmountMinor: 100_000n,
  maxDailyCount: 100,
  maxMonthlyAmountMinor: 1_000_000n,
  maxBalanceMinor: 10_000_000n,
};

describe("payments on postgres", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  let institutionId: string;
  let bankAccountId: string;
  let payer: Customer;
  let payee: Customer;

  const balance = async (accountId: string) => {
    const a = await ledger.getAccount(accountId);
    return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
  };
  const fund = (accountId: string, amountMinor: bigint) =>
    ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: accountId, amountMinor, code: "cash_in" });
  const send = (amountMinor: bigint, pin = "4827", paymentId = uuidv7()) =>
    services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId, pin });

  beforeAll(async () => {
    test = await openTestDb("postgres", { maxConnections: 24 });
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    services = buildServices(test.db, ledger, { schema: test.schema });
    ({ institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "pay-ke", "Pay KE"));
    payer = await registerWithPin(services, institutionId, { msisdn: "0712345670", name: "Jane Wanjiru", pin: "4827" });
    payee = await registerWithPin(services, institutionId, { msisdn: "0712345671", name: "Otieno Kamau", pin: "5903" });
    await services.fees.put(institutionId, "p2p", {
      type: "p2p",
      agentShareBps: 0,
      bands: [
        { minMinor: 1n, maxMinor: 10_000n, feeMinor: 0n },
        { minMinor: 10_001n, maxMinor: 1_000_000n, feeMinor: 1_500n },
      ],
    }, new Date(), () => []);
    await services.limits.put({ institutionId, channel: "ussd", tier: 0 }, DAILY, new Date(), () => []);
  });
  afterAll(async () => {
    await ledger.close();
    await services.close();
    await test.cleanup();
  });

  it("quotes the fee and the masked payee before any PIN", async () => {
    const quote = await services.payments.quoteP2P({ payerCustomerId: payer.id, payee: "+254712345671", amountMinor: 20_000n, channel: "ussd" });
    expect(quote).toMatchObject({ ok: true, maskedName: "OTIENO K***", feeMinor: 1_500n, totalMinor: 21_500n, currency: "KES" });
  });

  it("moves the payment and its fee together, once per payment id", async () => {
    await fund(payer.walletAccountId, 40_000n);
    const before = { payer: await balance(payer.walletAccountId), payee: await balance(payee.walletAccountId) };
    const paymentId = uuidv7();
    const first = await send(20_000n, "4827", paymentId);
    expect(first).toMatchObject({ ok: true, feeMinor: 1_500n, replayed: false });
    const again = await send(20_000n, "4827", paymentId);
    expect(again).toMatchObject({ ok: true, replayed: true });
    expect(await balance(payer.walletAccountId)).toBe(before.payer - 21_500n);
    expect(await balance(payee.walletAccountId)).toBe(before.payee + 20_000n);
  });

  it("charges only the fee the payer was shown: a schedule changed since refuses as fee_changed, a posted payment's retry answers its receipt", async () => {
    const bands = (upperFeeMinor: bigint) => [
      { minMinor: 1n, maxMinor: 10_000n, feeMinor: 0n },
      { minMinor: 10_001n, maxMinor: 1_000_000n, feeMinor: upperFeeMinor },
    ];
    const schedule = (upperFeeMinor: bigint) => services.fees.put(institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: bands(upperFeeMinor) }, new Date(), () => []);
    // A payer of its own: the day's limit of the shared one stays for the tests after this.
    const ruth = await registerWithPin(services, institutionId, { msisdn: "0712345661", name: "Ruth Akinyi", pin: "3816" });
    await fund(ruth.walletAccountId, 50_000n);
    const shown = { payerCustomerId: ruth.id, payee: payee.msisdn, amountMinor: 20_000n, channel: "ussd" as const, pin: "3816", quotedFeeMinor: 1_500n };
    const posted = { ...shown, paymentId: uuidv7() };
    expect(await services.payments.sendP2P(posted)).toMatchObject({ ok: true, feeMinor: 1_500n, replayed: false });
    await schedule(2_000n);
    try {
      const before = await balance(ruth.walletAccountId);
      expect(await services.payments.sendP2P({ ...shown, paymentId: uuidv7() })).toMatchObject({ ok: false, code: "fee_changed" });
      expect(await services.payments.sendP2P(posted)).toMatchObject({ ok: true, feeMinor: 1_500n, replayed: true });
      expect(await balance(ruth.walletAccountId)).toBe(before);
      expect(await services.payments.sendP2P({ ...shown, quotedFeeMinor: 2_000n, paymentId: uuidv7() })).toMatchObject({ ok: true, feeMinor: 2_000n });
      expect(await balance(ruth.walletAccountId)).toBe(before - 22_000n);
    } finally {
      await schedule(1_500n);
    }
  });

  it("finds no payee at another institution, by number or pseudonym, and moves nothing", async () => {
    const otherBank = uuidv7();
    await test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'pay-ke-2', 'Other KE', 'KES', 'Africa/Nairobi')", [otherBank]);
    const made = await services.directory.register(SYSTEM, { institutionId: otherBank, msisdn: "+254712345679", displayName: "Wanjiku Other" });
    if (!made.ok) throw new Error(made.code);
    const alias = await services.directory.claimAlias(SYSTEM, made.value.id, "wanjiku.other");
    expect(alias.ok).toBe(true);
    await fund(payer.walletAccountId, 5_000n);
    const before = await balance(payer.walletAccountId);
    for (const query of ["+254712345679", "0712345679", "wanjiku.other"]) {
      expect(await services.directory.lookupPayee(query, { institutionId })).toMatchObject({ ok: false, code: "payee_not_found" });
      expect(await services.payments.quoteP2P({ payerCustomerId: payer.id, payee: query, amountMinor: 1_000n, channel: "ussd" })).toMatchObject({ ok: false, code: "payee_not_found" });
      const sent = await services.payments.sendP2P({ payerCustomerId: payer.id, payee: query, amountMinor: 1_000n, channel: "ussd", paymentId: uuidv7(), pin: "4827" });
      expect(sent).toMatchObject({ ok: false, code: "payee_not_found" });
      // A caller's hint naming the other bank does not widen the lookup: the payer's own institution decides.
      const hinted = { payerCustomerId: payer.id, payerInstitutionId: otherBank, payee: query, amountMinor: 1_000n, channel: "ussd" } as const;
      expect(await services.payments.quoteP2P(hinted)).toMatchObject({ ok: false, code: "payee_not_found" });
      expect(await services.payments.sendP2P({ ...hinted, paymentId: uuidv7(), pin: "4827" })).toMatchObject({ ok: false, code: "payee_not_found" });
    }
    // With the right hint, the payee of the payer's own institution is found as without one.
    const hintedOwn = { payerCustomerId: payer.id, payerInstitutionId: institutionId, payee: payee.msisdn, amountMinor: 1_000n, channel: "ussd" } as const;
    expect(await services.payments.quoteP2P(hintedOwn)).toMatchObject({ ok: true, maskedName: "OTIENO K***" });
    expect(await balance(payer.walletAccountId)).toBe(before);
    expect(await balance(made.value.walletAccountId)).toBe(0n);
  });

  it("checks the SIM swap of the payer's number as read, whatever number the caller hinted", async () => {
    const swapped = await registerWithPin(services, institutionId, { msisdn: "0712345688", name: "Amina Njeri", pin: "4827" });
    await fund(swapped.walletAccountId, 50_000n);
    expect((await services.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: swapped.msisdn, kind: "sim_swap" })).ok).toBe(true);
    const sendFrom = (from: Customer, payerMsisdn: string | undefined, amountMinor: bigint) =>
      services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827" });
    // The right hint, none, and one naming a number without a swap: refused on the number read.
    for (const hint of [swapped.msisdn, undefined, payer.msisdn]) {
      expect(await sendFrom(swapped, hint, 20_000n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    }
    // Within the allowance (amount and fee) it passes; a payer without a swap is not refused for a hint naming one.
    expect(await sendFrom(swapped, swapped.msisdn, 500n)).toMatchObject({ ok: true });
    await fund(payer.walletAccountId, 25_000n);
    expect(await sendFrom(payer, swapped.msisdn, 20_000n)).toMatchObject({ ok: true });
  });

  it("pays from the wallet the payer chose, whose account bears the amount and the fee; the limits stay the customer's", async () => {
    const added = await services.directory.addInstrument(SYSTEM, payer.id, { kind: "wallet", alias: "savings" });
    if (!added.ok) throw new Error(added.code);
    const savings = added.value;
    await fund(savings.accountId, 30_000n);
    const before = { wallet: await balance(payer.walletAccountId), payee: await balance(payee.walletAccountId) };
    const walletUsage = await limitUsageRows(test.db, payer.walletAccountId);
    const from = (fromInstrumentId: string, amountMinor: bigint, paymentId = uuidv7()) =>
      services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId, pin: "4827", fromInstrumentId });
    expect(await from(savings.id, 20_000n)).toMatchObject({ ok: true, feeMinor: 1_500n });
    expect(await balance(savings.accountId)).toBe(30_000n - 21_500n);
    expect(await balance(payer.walletAccountId)).toBe(before.wallet);
    expect(await balance(payee.walletAccountId)).toBe(before.payee + 20_000n);
    // The payer's daily and monthly usage is the customer's: counted on the primary wallet, whichever pays.
    expect(await limitUsageRows(test.db, savings.accountId)).toEqual([]);
    expect(await limitUsageRows(test.db, payer.walletAccountId)).toEqual(
      walletUsage.map((r) => ({ ...r, amount: String(BigInt(r.amount) + 20_000n), count: r.count + 1 })),
    );
    // A wallet instrument cannot go below zero, whatever the primary wallet holds.
    expect(await from(savings.id, 20_000n)).toMatchObject({ ok: false, code: "insufficient_funds" });
    // A card only mirrors money held elsewhere: paid into, never paid from (no balance here to check).
    const card = await services.directory.addInstrument(SYSTEM, payer.id, { kind: "card", alias: "visa", externalRef: "4111 1111 1111 1111" });
    if (!card.ok) throw new Error(card.code);
    // Someone else's instrument, the payer's card, an unknown id and a malformed one are refused, and nothing moves.
    const payeeProfile = await services.directory.getProfile(payee.id);
    for (const id of [payeeProfile!.instruments[0]!.id, card.value.id, uuidv7(), "not-an-id", ""]) {
      expect(await from(id, 1_000n)).toMatchObject({ ok: false, code: "instrument_not_found" });
    }
    expect(await balance(savings.accountId)).toBe(30_000n - 21_500n);
    expect(await balance(payer.walletAccountId)).toBe(before.wallet);
    expect(await balance(payee.walletAccountId)).toBe(before.payee + 20_000n);
  });

  it("a retry of a payment that emptied a wallet since removed reports the payment, and moves nothing again", async () => {
    const traveller = await registerWithPin(services, institutionId, { msisdn: "0712345697", name: "Wairimu Travel", pin: "4827" });
    const added = await services.directory.addInstrument(SYSTEM, traveller.id, { kind: "wallet", alias: "travel" });
    if (!added.ok) throw new Error(added.code);
    const travel = added.value;
    await fund(travel.accountId, 21_500n);
    const payeeBefore = await balance(payee.walletAccountId);
    const paymentId = uuidv7();
    const pay = (id: string) =>
      services.payments.sendP2P({ payerCustomerId: traveller.id, payee: payee.msisdn, amountMinor: 20_000n, channel: "ussd", paymentId: id, pin: "4827", fromInstrumentId: travel.id });
    expect(await pay(paymentId)).toMatchObject({ ok: true, feeMinor: 1_500n, replayed: false });
    expect(await balance(travel.accountId)).toBe(0n);
    expect((await services.directory.removeInstrument(SYSTEM, traveller.id, travel.id)).ok).toBe(true);
    // The aggregator's retry of the PIN hop: same payment id, the instrument gone.
    expect(await pay(paymentId)).toMatchObject({ ok: true, replayed: true, amountMinor: 20_000n });
    // A new payment from the removed wallet is refused.
    expect(await pay(uuidv7())).toMatchObject({ ok: false, code: "instrument_not_found" });
    expect(await balance(payee.walletAccountId)).toBe(payeeBefore + 20_000n);
    expect(await balance(travel.accountId)).toBe(0n);
  });

  it("a quote refuses an amount over the payer's own limits with what may still be sent, counted on the primary wallet", async () => {
    const kamau = await registerWithPin(services, institutionId, { msisdn: "0712345698", name: "Kamau Quote", pin: "4827" });
    const spare = await services.directory.addInstrument(SYSTEM, kamau.id, { kind: "wallet", alias: "spare" });
    if (!spare.ok) throw new Error(spare.code);
    await fund(spare.value.accountId, 200_000n);
    const quote = (amountMinor: bigint) => services.payments.quoteP2P({ payerCustomerId: kamau.id, payee: payee.msisdn, amountMinor, channel: "ussd" });
    expect(await quote(60_000n)).toMatchObject({ ok: false, code: "per_transaction_exceeded", availableMinor: 50_000n });
    // 70,000 of the day's 100,000 sent from the second wallet: counted on the customer's primary one.
    for (const amountMinor of [40_000n, 30_000n]) {
      const sent = await services.payments.sendP2P({ payerCustomerId: kamau.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827", fromInstrumentId: spare.value.id });
      expect(sent).toMatchObject({ ok: true });
    }
    expect(await quote(30_001n)).toMatchObject({ ok: false, code: "daily_amount_exceeded", availableMinor: 30_000n });
    expect(await quote(30_000n)).toMatchObject({ ok: true });
    // With the menus' hints the usage is read beside the payer; a hint naming another wallet (or
    // another bank) is not trusted: the usage is read again for the payer's primary wallet.
    const hinted = (payerWalletAccountId: string, payerInstitutionId = institutionId) =>
      services.payments.quoteP2P({ payerCustomerId: kamau.id, payerInstitutionId, payerWalletAccountId, payee: payee.msisdn, amountMinor: 30_001n, channel: "ussd" });
    for (const quoted of [await hinted(kamau.walletAccountId), await hinted(spare.value.accountId), await hinted(kamau.walletAccountId, uuidv7())]) {
      expect(quoted).toMatchObject({ ok: false, code: "daily_amount_exceeded", availableMinor: 30_000n });
    }
  });

  it("two wallets of one customer share the customer's daily limit", async () => {
    const amina = await registerWithPin(services, institutionId, { msisdn: "0712345690", name: "Amina Wambui", pin: "4827" });
    const second = await services.directory.addInstrument(SYSTEM, amina.id, { kind: "wallet", alias: "business" });
    if (!second.ok) throw new Error(second.code);
    await fund(amina.walletAccountId, 200_000n);
    await fund(second.value.accountId, 200_000n);
    const pay = (amountMinor: bigint, fromInstrumentId?: string) =>
      services.payments.sendP2P({ payerCustomerId: amina.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827", ...(fromInstrumentId ? { fromInstrumentId } : {}) });
    // The day's 100,000 in two payments, one from each wallet, then nothing more from either.
    expect(await pay(50_000n)).toMatchObject({ ok: true });
    expect(await pay(50_000n, second.value.id)).toMatchObject({ ok: true });
    expect(await pay(1_000n, second.value.id)).toMatchObject({ ok: false, code: "daily_amount_exceeded" });
    expect(await pay(1_000n)).toMatchObject({ ok: false, code: "daily_amount_exceeded" });
    expect(await balance(second.value.accountId)).toBe(200_000n - 51_500n);
  });

  it("payments from both wallets of one customer at once never slip past the customer's daily limit", async () => {
    const baraka = await registerWithPin(services, institutionId, { msisdn: "0712345691", name: "Baraka Mwangi", pin: "4827" });
    const second = await services.directory.addInstrument(SYSTEM, baraka.id, { kind: "wallet", alias: "business" });
    if (!second.ok) throw new Error(second.code);
    await fund(baraka.walletAccountId, 200_000n);
    await fund(second.value.accountId, 200_000n);
    const pay = (fromInstrumentId?: string) =>
      services.payments.sendP2P({ payerCustomerId: baraka.id, payee: payee.msisdn, amountMinor: 10_000n, channel: "ussd", paymentId: uuidv7(), pin: "4827", ...(fromInstrumentId ? { fromInstrumentId } : {}) });
    // Twelve rounds of one payment from each wallet at once. (Not all 24 at once: a PIN's attempts
    // are counted before they are checked, so two dozen at once would lock it for a moment.)
    const results = [];
    for (let round = 0; round < 12; round++) results.push(...(await Promise.all([pay(), pay(second.value.id)])));
    // 100,000 a day in payments of 10,000 (free of fees): ten, whichever wallet each came from. The
    // USSD ceiling at tier 0 also allows ten payments a day (the policy's 100 is held to it), so
    // both of the day's limits are reached at the tenth, and either may say so.
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const refusals = new Set(results.filter((r) => !r.ok).map((r) => ("code" in r ? r.code : "")));
    expect(refusals.size).toBeGreaterThan(0);
    for (const code of refusals) expect(["daily_amount_exceeded", "daily_count_exceeded"]).toContain(code);
    expect((await balance(baraka.walletAccountId)) + (await balance(second.value.accountId))).toBe(400_000n - 100_000n);
  });

  it("a payee's wallet never passes its tier's balance cap; the payer is not told the payee's room; a card or bank account is not capped", async () => {
    const sender = await registerWithPin(services, institutionId, { msisdn: "0712345663", name: "Cap Sender", pin: "3816" });
    const full = await registerWithPin(services, institutionId, { msisdn: "0712345664", name: "Cap Full", pin: "5903" });
    await fund(sender.walletAccountId, 60_000n);
    // 10,000 short of the tier's cap: the strictest over its channels (the defaults', here).
    const cap = (await new LimitPolicies(services.limits).walletCap(institutionId, 0)).maxBalanceMinor;
    expect(cap).toBeLessThan(DAILY.maxBalanceMinor);
    await fund(full.walletAccountId, cap - 10_000n);
    const pay = (payeeQuery: string, amountMinor: bigint, paymentId = uuidv7()) =>
      services.payments.sendP2P({ payerCustomerId: sender.id, payee: payeeQuery, amountMinor, channel: "ussd", paymentId, pin: "3816" });
    const refusedId = uuidv7();
    const refused = await pay(full.msisdn, 10_001n, refusedId);
    expect(refused).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await balance(full.walletAccountId)).toBe(cap - 10_000n);
    expect(await balance(sender.walletAccountId)).toBe(60_000n);
    // The quote before the PIN does not probe the payee's cap (a free bisection of a stranger's balance).
    expect(await services.payments.quoteP2P({ payerCustomerId: sender.id, payee: full.msisdn, amountMinor: 10_001n, channel: "ussd" })).toMatchObject({ ok: true });
    // A retry of the refused payment is refused again, the same way; the room itself is accepted.
    expect(await pay(full.msisdn, 10_001n, refusedId)).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await pay(full.msisdn, 10_000n)).toMatchObject({ ok: true });
    expect(await balance(full.walletAccountId)).toBe(cap);
    // Paid into a bank account that mirrors money held elsewhere: this ledger's position says nothing of a cap.
    const bank = await services.directory.addInstrument(SYSTEM, full.id, { kind: "bank_account", alias: "salary", externalRef: "0123456789" });
    if (!bank.ok) throw new Error(bank.code);
    expect((await services.directory.setDefaultInstrument(SYSTEM, full.id, bank.value.id)).ok).toBe(true);
    await fund(bank.value.accountId, cap);
    expect(await pay(full.msisdn, 20_000n)).toMatchObject({ ok: true });
    expect(await balance(bank.value.accountId)).toBe(cap + 20_000n);
  });

  it("a payer who cannot fund the amount hears so, never the payee's cap: amounts tried with an empty wallet do not bisect the payee's balance", async () => {
    const empty = await registerWithPin(services, institutionId, { msisdn: "0712345665", name: "Empty Prober", pin: "3816" });
    const full = await registerWithPin(services, institutionId, { msisdn: "0712345666", name: "Nearly Full", pin: "5903" });
    const cap = (await new LimitPolicies(services.limits).walletCap(institutionId, 0)).maxBalanceMinor;
    await fund(full.walletAccountId, cap - 5_000n);
    for (const amountMinor of [4_000n, 5_001n, 40_000n]) {
      const tried = await services.payments.sendP2P({ payerCustomerId: empty.id, payee: full.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "3816" });
      expect(tried).toEqual({ ok: false, code: "insufficient_funds" });
    }
    // With the money, the cap answers (after the PIN, and the attempt shows the payer nothing of the payee's room).
    await fund(empty.walletAccountId, 6_000n);
    expect(await services.payments.sendP2P({ payerCustomerId: empty.id, payee: full.msisdn, amountMinor: 5_001n, channel: "ussd", paymentId: uuidv7(), pin: "3816" })).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await balance(full.walletAccountId)).toBe(cap - 5_000n);
  });

  it("a wallet's cap is its tier's strictest over every channel: paying over another channel does not pass a cap tightened on one", async () => {
    const payeeT1 = await registerWithPin(services, institutionId, { msisdn: "0712345667", name: "Tier One", pin: "5903" });
    expect((await services.directory.setKycTier(SYSTEM, payeeT1.id, 1)).ok).toBe(true);
    const sender = await registerWithPin(services, institutionId, { msisdn: "0712345668", name: "Tier Sender", pin: "3816" });
    await fund(sender.walletAccountId, 30_000n);
    await fund(payeeT1.walletAccountId, 50_000n);
    // The bank caps tier-1 wallets at 60,000 on the SMS cell only; the payment comes over USSD.
    await services.limits.put({ institutionId, channel: "sms", tier: 1 }, { ...DAILY, maxBalanceMinor: 60_000n }, new Date(), () => []);
    const pay = (amountMinor: bigint) => services.payments.sendP2P({ payerCustomerId: sender.id, payee: payeeT1.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "3816" });
    expect(await pay(10_001n)).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await pay(10_000n)).toMatchObject({ ok: true });
    expect(await balance(payeeT1.walletAccountId)).toBe(60_000n);
  });

  it("moves nothing when the payer can cover the payment but not its fee", async () => {
    const left = await balance(payer.walletAccountId);
    const refused = await send(left, "4827");
    expect(refused).toMatchObject({ ok: false, code: "insufficient_funds" });
    expect(await balance(payer.walletAccountId)).toBe(left);
  });

  it("refuses a wrong PIN without moving money, and bad amounts before anything", async () => {
    const left = await balance(payer.walletAccountId);
    expect(await send(1_000n, "1357")).toMatchObject({ ok: false, code: "pin_wrong" });
    for (const amount of [0n, -5n, 10n ** 18n]) expect(await send(amount)).toMatchObject({ ok: false, code: "invalid_amount" });
    expect(await balance(payer.walletAccountId)).toBe(left);
    expect((await services.pins.verifyPin({ actor: { type: "customer", id: payer.id }, channel: "ussd", subjectId: payer.id, pin: "4827" })).ok).toBe(true);
  });

  it("checks the PIN beside the reads of payer and payee: an earlier refusal is the answer, the attempt still counts", async () => {
    const failed = async () =>
      Number((await test.db.query<{ n: number }>("SELECT failed_attempts AS n FROM pin_credentials WHERE subject_id = $1::uuid", [payer.id])).rows[0]!.n);
    const left = await balance(payer.walletAccountId);
    const toNobody = (pin: string, amountMinor = 1_000n) =>
      services.payments.sendP2P({ payerCustomerId: payer.id, payee: "+254712345600", amountMinor, channel: "ussd", paymentId: uuidv7(), pin });
    expect(await failed()).toBe(0);
    // The payee is unknown whatever the PIN, and a wrong one is counted all the same.
    expect(await toNobody("1357")).toMatchObject({ ok: false, code: "payee_not_found" });
    expect(await failed()).toBe(1);
    // A right one clears the count; an amount refused before any read checks no PIN at all.
    expect(await toNobody("4827")).toMatchObject({ ok: false, code: "payee_not_found" });
    expect(await failed()).toBe(0);
    expect(await toNobody("1357", 0n)).toMatchObject({ ok: false, code: "invalid_amount" });
    expect(await failed()).toBe(0);
    expect(await balance(payer.walletAccountId)).toBe(left);
  });

  it("never lets 50 concurrent transfers slip past a daily limit", async () => {
    // At the ledger, as the payments service submits them: limits ride with each transfer.
    const wallet = await ledger.createAccount({ institutionId, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    await fund(wallet.id, 1_000_000n);
    const limits = { timeZone: "Africa/Nairobi", payer: DAILY };
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        ledger.transfer({ id: uuidv7(), debitAccountId: wallet.id, creditAccountId: payee.walletAccountId, amountMinor: 7_000n, code: "p2p", limits }),
      ),
    );
    const ok = results.filter((r) => r.result === "ok");
    expect(ok).toHaveLength(14); // 14 × 7,000 = 98,000 ≤ 100,000 < 15 × 7,000
    for (const r of results.filter((x) => x.result !== "ok")) {
      expect(r).toMatchObject({ result: "daily_amount_exceeded", limit: { remainingMinor: 2_000n, availableMinor: 2_000n } });
    }
    const account = await ledger.getAccount(wallet.id);
    expect(account!.debitsPosted).toBe(98_000n);
    const usage = await test.db.query<{ amount: string; count: number }>(
      "SELECT amount_minor::text AS amount, count FROM limit_usage WHERE account_id = $1 AND length(period_key) = 10",
      [wallet.id],
    );
    expect(usage.rows).toEqual([{ amount: "98000", count: 14 }]);
  });
});
