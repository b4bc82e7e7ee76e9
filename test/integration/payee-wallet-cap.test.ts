// A tier's wallet cap binds the customer, not each wallet, end to end over real PostgreSQL: a P2P
// payment and an agent's cash-in to a customer with two wallets are refused when both wallets
// together would pass the cap, whichever wallet is the default; a card the customer holds mirrors
// money elsewhere and counts nothing. The payee lookup reads the other wallets in its one query.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../src/core/agents/types.js";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { LIMIT_CHANNELS, type LimitPolicy } from "../../src/core/limits/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { verifyLedger } from "../../src/infra/db/ledger-verify.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { openKenyanInstitution, registerWithPin } from "../helpers/core-setup.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

/** Tier 0 on every channel: generous sending limits, a balance cap of 1,000.00. */
const CAP: LimitPolicy = {
  maxPerTransactionMinor: 500_000n,
  maxDailyAmountMinor: 1_000_000n,
  maxDailyCount: 100,
  maxMonthlyAmountMinor: 10_000_000n,
  maxBalanceMinor: 100_000n,
};
const BANK = { type: "bank_user" as const, id: "apikey:test" };
const AGENT_PIN = "4718";

describe("the wallet cap across a customer's wallets, end to end", () => {
  let test: TestDb;
  let ledger: Ledger;
  let services: CoreServices;
  let institutionId: string;
  let bankAccountId: string;
  let payer: Customer;
  let agent: Agent;
  let registered = 2;

  const held = async (accountId: string) => {
    const a = await ledger.getAccount(accountId);
    return a!.creditsPosted - a!.debitsPosted;
  };
  const fund = async (accountId: string, amountMinor: bigint) => {
    const r = await ledger.transfer({ id: uuidv7(), debitAccountId: bankAccountId, creditAccountId: accountId, amountMinor, code: "deposit" });
    expect(r.result).toBe("ok");
  };
  const send = (payee: Customer, amountMinor: bigint) =>
    services.payments.sendP2P({ payerCustomerId: payer.id, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827" });
  const cashIn = (customer: Customer, amountMinor: bigint) =>
    services.agents.cashIn({ id: uuidv7(), agentId: agent.id, customerQuery: customer.msisdn, amountMinor, agentPin: AGENT_PIN, channel: "agent" });

  /** A customer (0712377003 onwards) with a second wallet, "savings": its account id too. */
  async function customerWithTwoWallets(name: string): Promise<{ customer: Customer; savings: string }> {
    registered += 1;
    const customer = await registerWithPin(services, institutionId, { msisdn: `0712377${String(registered).padStart(3, "0")}`, name, pin: "5903" });
    const me = { actorType: "customer" as const, actorId: customer.id, channel: "ussd" as const };
    const savings = await services.directory.addInstrument(me, customer.id, { kind: "wallet", alias: "savings" });
    if (!savings.ok) throw new Error(savings.code);
    return { customer, savings: savings.value.accountId };
  }

  beforeAll(async () => {
    test = await openTestDb("postgres", { maxConnections: 24 });
    ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
    services = buildServices(test.db, ledger, { schema: test.schema });
    ({ institutionId, bankAccountId } = await openKenyanInstitution(test.db, services, ledger, "cap-ke", "Cap KE"));
    for (const channel of LIMIT_CHANNELS) await services.limits.put({ institutionId, channel, tier: 0 }, CAP, new Date(), () => []);
    const free = [{ minMinor: 1n, maxMinor: 10_000_000n, feeMinor: 0n }];
    await services.fees.put(institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: free }, new Date(), () => []);
    await services.fees.put(institutionId, "cash_in", { type: "cash_in", agentShareBps: 0, bands: free }, new Date(), () => []);
    payer = await registerWithPin(services, institutionId, { msisdn: "0712377001", name: "Jane Wanjiru", pin: "4827" });
    await fund(payer.walletAccountId, 1_000_000n);
    const made = await services.agents.onboard({
      institutionId, msisdn: "0712377002", storeNumber: "377002", name: "Duka Cap", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    agent = made.agent;
    const topUp = await services.agents.topUpFloat({ id: uuidv7(), agentId: agent.id, amountMinor: 500_000n, actor: BANK });
    if (!topUp.ok) throw new Error(topUp.code);
  });
  afterAll(async () => {
    await ledger?.close();
    await services?.close();
    await test?.cleanup();
  });

  it("the payee lookup lists the customer's other wallets, not the receiving one nor a card", async () => {
    const { customer, savings } = await customerWithTwoWallets("Lookup Kamau");
    const me = { actorType: "customer" as const, actorId: customer.id, channel: "ussd" as const };
    expect((await services.directory.addInstrument(me, customer.id, { kind: "card", alias: "visa", externalRef: "4242424242424242" })).ok).toBe(true);
    const found = await services.directory.resolvePayee(customer.msisdn, { institutionId });
    expect(found.ok && found.value.payee.accountId).toBe(customer.walletAccountId);
    expect(found.ok && found.value.otherWalletAccountIds).toEqual([savings]);
    // Several lookups in one turn share a statement (BatchedRead): each still gets its own list.
    const many = await Promise.all([customer.msisdn, payer.msisdn, customer.msisdn].map((q) => services.directory.resolvePayee(q, { institutionId })));
    expect(many.map((r) => r.ok && r.value.otherWalletAccountIds)).toEqual([[savings], [], [savings]]);
    // With savings the default, the wallet opened at registration is the other one.
    expect((await services.directory.setDefaultInstrument(me, customer.id, "savings")).ok).toBe(true);
    const after = await services.directory.resolvePayee(customer.msisdn, { institutionId });
    expect(after.ok && [after.value.payee.accountId, after.value.otherWalletAccountIds]).toEqual([savings, [customer.walletAccountId]]);
  });

  it("P2P: refused when the two wallets together would pass the cap, though the receiving wallet alone would not", async () => {
    const { customer: payee, savings } = await customerWithTwoWallets("Otieno Kamau");
    await fund(payee.walletAccountId, 60_000n);
    await fund(savings, 30_000n);
    const before = await held(payer.walletAccountId);
    // 60,000 + 30,000 + 20,000 > 100,000: the payer hears that the payee cannot receive it, no amount.
    expect(await send(payee, 20_000n)).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await held(payer.walletAccountId)).toBe(before);
    expect(await send(payee, 10_000n)).toMatchObject({ ok: true, amountMinor: 10_000n });
    expect((await held(payee.walletAccountId)) + (await held(savings))).toBe(100_000n);
    // With the second wallet the default, the money goes there, and the first one counts.
    const me = { actorType: "customer" as const, actorId: payee.id, channel: "ussd" as const };
    expect((await services.directory.setDefaultInstrument(me, payee.id, "savings")).ok).toBe(true);
    expect(await send(payee, 1n)).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await held(savings)).toBe(30_000n);
  });

  it("P2P: concurrent payments into the customer cannot together pass the cap", async () => {
    const { customer: payee, savings } = await customerWithTwoWallets("Akinyi Odhiambo");
    await fund(savings, 50_000n);
    // Ten payers (0712377050 onwards), so each PIN is verified once: many payments at once by one
    // payer count PIN attempts at once too, which is not what this test is about.
    const payers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const p = await registerWithPin(services, institutionId, { msisdn: `07123770${50 + i}`, name: `Payer ${"ABCDEFGHIJ"[i]}`, pin: "4827" });
        await fund(p.walletAccountId, 10_000n);
        return p;
      }),
    );
    const outcomes = await Promise.all(
      payers.map((p) => services.payments.sendP2P({ payerCustomerId: p.id, payee: payee.msisdn, amountMinor: 10_000n, channel: "ussd", paymentId: uuidv7(), pin: "4827" })),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.code)).toEqual(Array(5).fill("balance_limit_exceeded"));
    expect((await held(payee.walletAccountId)) + (await held(savings))).toBe(100_000n);
  });

  it("a card the customer holds counts nothing: it mirrors money held elsewhere", async () => {
    const { customer: payee, savings } = await customerWithTwoWallets("Wambui Card");
    const me = { actorType: "customer" as const, actorId: payee.id, channel: "ussd" as const };
    const card = await services.directory.addInstrument(me, payee.id, { kind: "card", alias: "visa", externalRef: "4242424242424242" });
    if (!card.ok) throw new Error(card.code);
    await fund(card.value.accountId, 500_000n);
    await fund(savings, 40_000n);
    expect(await send(payee, 60_000n)).toMatchObject({ ok: true });
    expect(await send(payee, 1n)).toEqual({ ok: false, code: "balance_limit_exceeded" });
  });

  it("agent cash-in: refused when the two wallets together would pass the cap, the agent told no room", async () => {
    const { customer, savings } = await customerWithTwoWallets("Mwangi Cash");
    await fund(savings, 70_000n);
    const float = await held(agent.floatAccountId);
    const refused = await cashIn(customer, 40_000n);
    expect(refused).toEqual({ ok: false, code: "balance_limit_exceeded" });
    expect(await held(agent.floatAccountId)).toBe(float);
    expect(await cashIn(customer, 30_000n)).toMatchObject({ ok: true });
    expect((await held(customer.walletAccountId)) + (await held(savings))).toBe(100_000n);
    expect(await cashIn(customer, 1n)).toEqual({ ok: false, code: "balance_limit_exceeded" });
  });

  it("leaves the ledger consistent", async () => {
    const report = await verifyLedger(test.db);
    expect(report.violations).toEqual([]);
  });
});
