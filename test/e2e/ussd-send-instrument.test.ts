/**
 * Send money from a chosen payment instrument, end to end: Africa's Talking payloads through the
 * gateway on the real core (PostgreSQL), in English and in Hindi (UCS-2 screens of 80 characters).
 * A customer with several instruments is asked which one pays; the ledger debits that one's account.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { openUssdEnv, SYSTEM, type UssdEnv, walkAt } from "../helpers/ussd-env.js";
import { registerWithPin } from "../helpers/core-setup.js";

const SECRET = "e2e-instrument-secret-0123456789";
const PIN = "4827";
let env: UssdEnv;
let treasury: string;

async function customer(msisdn: string, name: string, language: "en" | "hi", balanceMinor: bigint): Promise<Customer> {
  const c = await registerWithPin(env.services, env.bankId, { msisdn, name, pin: PIN, language });
  if (balanceMinor > 0n) await fund(c.walletAccountId, balanceMinor);
  return c;
}

async function fund(accountId: string, amountMinor: bigint) {
  const r = await env.ledger.transfer({ id: randomUUID(), debitAccountId: treasury, creditAccountId: accountId, amountMinor, code: "cash_in" });
  expect(r.result).toBe("ok");
}

async function savingsOf(c: Customer, balanceMinor: bigint) {
  const added = await env.services.directory.addInstrument(SYSTEM, c.id, { kind: "wallet", alias: "savings" });
  if (!added.ok) throw new Error(added.code);
  await fund(added.value.accountId, balanceMinor);
  return added.value;
}

/** The fee a confirmation screen shows, in minor units. */
function feeIn(screen: string, pattern: RegExp): bigint {
  const shown = pattern.exec(screen)?.[1];
  if (!shown) throw new Error(`no fee on the screen: ${screen}`);
  return BigInt(shown.replace(/[.,]/g, ""));
}

async function balance(accountId: string) {
  const a = await env.ledger.getAccount(accountId);
  return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
}

const walk = (sessionId: string, phoneNumber: string, inputs: string[]) => walkAt(env, sessionId, phoneNumber, inputs);

beforeAll(async () => {
  env = await openUssdEnv({ code: "instrument-bank", secret: SECRET });
  treasury = (await env.ledger.createAccount({ institutionId: env.bankId, currency: "KES", kind: "settlement" })).id;
});

afterAll(() => env?.close());

describe("send money from a chosen instrument", () => {
  it("asks which account pays, shows it on the confirmation and debits it (English)", async () => {
    const payer = await customer("+254714000001", "Jane Wanjiru", "en", 50_00n);
    const payee = await customer("+254714000002", "Peter Otieno", "en", 0n);
    const savings = await savingsOf(payer, 1_000_00n);
    // A card is a place to be paid, not one to pay from: it is not offered.
    const card = await env.services.directory.addInstrument(SYSTEM, payer.id, { kind: "card", alias: "visa", externalRef: "4111 1111 1111 1111" });
    expect(card.ok).toBe(true);
    const replies = await walk("instr-en-1", payer.msisdn, ["2", "0714000002", "150", "7", "2", "1", PIN]);
    expect(replies[3]).toBe("CON Pay from which account?\n1. wallet (default)\n2. savings");
    expect(replies[4]).toBe("CON Invalid choice.\nPay from which account?\n1. wallet (default)\n2. savings");
    expect(replies[5]).toMatch(/^CON Send KES 150\.00 to PETER O\*\*\*\?\nFee KES [0-9.,]+\. Total KES [0-9.,]+\.\nFrom savings\.\n1\. Confirm\n2\. Cancel$/);
    expect(replies[7]).toMatch(/^END Sent KES 150\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\./);
    const fee = feeIn(replies[5]!, /Fee KES ([0-9.,]+)\./);
    expect(await balance(savings.accountId)).toBe(1_000_00n - 150_00n - fee);
    expect(await balance(payer.walletAccountId)).toBe(50_00n);
    expect(await balance(payee.walletAccountId)).toBe(150_00n);
  });

  it("the same flow in Hindi, each page within the UCS-2 budget", async () => {
    const payer = await customer("+254714000011", "Asha Mwangi", "hi", 0n);
    await customer("+254714000012", "Baraka Ouma", "hi", 0n);
    const savings = await savingsOf(payer, 500_00n);
    // The confirmation takes two Hindi pages: "98" shows the second, with the account and the options.
    const replies = await walk("instr-hi-1", payer.msisdn, ["2", "0714000012", "100", "2", "98", "1", PIN]);
    for (const r of replies) expect(r.length - 4).toBeLessThanOrEqual(80);
    expect(replies[3]).toContain("किस खाते से भुगतान करें?");
    expect(replies[3]).toContain("2. savings");
    expect(replies[4]).toMatch(/^CON BARAKA O\*\*\* को KES 100\.00 भेजें\?/);
    expect(replies[5]).toContain("savings से।");
    expect(replies[5]).toContain("1. पुष्टि करें");
    expect(replies[7]).toMatch(/^END /);
    expect(replies[7]).toContain("संदर्भ");
    expect(await balance(savings.accountId)).toBe(500_00n - 100_00n - feeIn(replies[4]!, /शुल्क KES ([0-9.,]+)।/));
    expect(await balance(payer.walletAccountId)).toBe(0n);
  });

  it("a customer with only the wallet is not asked, and pays from it", async () => {
    const payer = await customer("+254714000021", "Amina Njeri", "en", 300_00n);
    await customer("+254714000022", "Otieno Kamau", "en", 0n);
    const replies = await walk("instr-en-2", payer.msisdn, ["2", "0714000022", "100", "1", PIN]);
    expect(replies[3]).toMatch(/^CON Send KES 100\.00 to OTIENO K\*\*\*\?/);
    expect(replies[3]).not.toContain("From");
    expect(replies[5]).toMatch(/^END Sent KES 100\.00/);
    expect(await balance(payer.walletAccountId)).toBe(300_00n - 100_00n - feeIn(replies[3]!, /Fee KES ([0-9.,]+)\./));
  });
});
