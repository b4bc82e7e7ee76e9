/**
 * Balance and mini-statement of a customer with several wallets, end to end: Africa's Talking
 * payloads through the gateway on the real core (PostgreSQL). Any wallet can pay, and the default
 * one receives: the balance lists each wallet, and the mini-statement shows the payments of all.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { openUssdEnv, SYSTEM, type UssdEnv, walkAt } from "../helpers/ussd-env.js";
import { registerWithPin } from "../helpers/core-setup.js";

const SECRET = "e2e-wallets-balance-secret-0123456789";
const PIN = "4827";
let env: UssdEnv;
let treasury: string;

async function customer(msisdn: string, name: string, language: "en" | "hi" | "fr" | "sw" = "en"): Promise<Customer> {
  return registerWithPin(env.services, env.bankId, { msisdn, name, pin: PIN, language });
}

async function fund(accountId: string, amountMinor: bigint) {
  const r = await env.ledger.transfer({ id: randomUUID(), debitAccountId: treasury, creditAccountId: accountId, amountMinor, code: "cash_in" });
  expect(r.result).toBe("ok");
}

async function savingsOf(c: Customer) {
  const added = await env.services.directory.addInstrument(SYSTEM, c.id, { kind: "wallet", alias: "savings" });
  if (!added.ok) throw new Error(added.code);
  return added.value;
}

const walk = (sessionId: string, phoneNumber: string, inputs: string[]) => walkAt(env, sessionId, phoneNumber, inputs);

beforeAll(async () => {
  env = await openUssdEnv({ code: "wallets-balance-bank", secret: SECRET });
  treasury = (await env.ledger.createAccount({ institutionId: env.bankId, currency: "KES", kind: "settlement" })).id;
});

afterAll(() => env?.close());

describe("a customer with several wallets", () => {
  it("sees each wallet's balance by its name", async () => {
    const c = await customer("+254712260001", "Jane Wanjiru");
    await fund(c.walletAccountId, 50_00n);
    const savings = await savingsOf(c);
    await fund(savings.accountId, 1_000_00n);
    const replies = await walk("wallets-bal-1", c.msisdn, ["1", PIN]);
    expect(replies[2]).toBe("END Your balances:\nwallet: KES 50.00\nsavings: KES 1,000.00");
  });

  it("sees money paid to the second wallet, made the default, on the balance and the mini-statement", async () => {
    const c = await customer("+254712260011", "Amina Njeri");
    const payer = await customer("+254712260012", "Peter Otieno");
    await fund(payer.walletAccountId, 500_00n);
    // Before the second wallet: money received on the wallet opened at registration.
    await fund(c.walletAccountId, 30_00n);
    const savings = await savingsOf(c);
    const set = await env.services.directory.setDefaultInstrument(SYSTEM, c.id, savings.id);
    expect(set.ok).toBe(true);
    // Peter pays Amina: the money lands on her default wallet, savings.
    const paid = await walk("wallets-pay-1", payer.msisdn, ["2", "0712260011", "120", "1", PIN]);
    expect(paid[5]).toMatch(/^END Sent KES 120\.00 to AMINA N\*\*\*\. Ref ([0-9A-F]{10})\./);
    const ref = /Ref ([0-9A-F]{10})/.exec(paid[5]!)![1]!;

    const balance = await walk("wallets-bal-2", c.msisdn, ["1", PIN]);
    expect(balance[2]).toBe("END Your balances:\nwallet: KES 30.00\nsavings: KES 120.00");
    // Both wallets' payments, newest first.
    const statement = await walk("wallets-stmt-1", c.msisdn, ["3", PIN]);
    expect(statement[2]).toMatch(new RegExp(`^END Last transactions:\\n.* Received KES 120\\.00 Ref ${ref}\\n.* Received KES 30\\.00 Ref [0-9A-F]{10}$`));
  });

  it("a customer with only the wallet still hears one balance", async () => {
    const c = await customer("+254712260021", "Otieno Kamau", "sw");
    await fund(c.walletAccountId, 75_00n);
    const replies = await walk("wallets-bal-3", c.msisdn, ["1", PIN]);
    expect(replies[2]).toBe("END Salio lako ni Ksh 75.00.");
  });
});
