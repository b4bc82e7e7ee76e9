/**
 * SMS BAL and MINI of a customer with several wallets, over a real SMPP bind on the real core
 * (PostgreSQL): as the USSD menus, the balance lists each wallet by its alias and the
 * mini-statement merges the payments of all, while a customer with one wallet keeps the
 * one-line reply.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSms } from "../../src/sms/encoding.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";
import { SYSTEM } from "../helpers/ussd-env.js";

let env: SmsEnv;
let telco: TestTelco;

async function fund(accountId: string, amountMinor: bigint): Promise<void> {
  const r = await env.ledger.transfer({ id: randomUUID(), debitAccountId: env.treasuryId, creditAccountId: accountId, amountMinor, code: "cash_in" });
  expect(r.result).toBe("ok");
}

async function savingsOf(c: Customer): Promise<string> {
  const added = await env.services.directory.addInstrument(SYSTEM, c.id, { kind: "wallet", alias: "savings" });
  if (!added.ok) throw new Error(added.code);
  return added.value.accountId;
}

/** Sends an MO from `msisdn` (E.164) and resolves with the text of our reply. */
async function ask(msisdn: string, text: string): Promise<string> {
  const digits = msisdn.slice(1);
  expect((await telco.mo(digits, "22555", text)).command_status).toBe(ESME_ROK);
  return textOf(await telco.nextDeliverTo(digits));
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-wallets-bank" });
  await env.addServerLink("wallets-telco", { maxBinds: 2 });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("wallets-telco", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("SMS BAL and MINI with several wallets", () => {
  it("BAL lists each wallet's balance by its alias, in one SMS part", async () => {
    const c = await env.addCustomer("+254712210001", "Jane Wanjiru", "4827", "en", 50_00n);
    await fund(await savingsOf(c), 1_000_00n);
    const reply = await ask(c.msisdn, "BAL 4827");
    // Before the fix: "Your balance is KES 50.00." (the savings wallet unseen).
    expect(reply).toBe("Your balances:\nwallet: KES 50.00\nsavings: KES 1,000.00");
    expect(encodeSms(reply, { reference: 0, maxParts: 9 }).parts).toHaveLength(1);
  });

  it("answers in the customer's language: French stays GSM-7", async () => {
    const c = await env.addCustomer("+254712210002", "Awa Diop", "5903", "fr", 20_00n);
    await fund(await savingsOf(c), 300_00n);
    const reply = await ask(c.msisdn, "SOLDE 5903");
    expect(reply).toMatch(/^Vos soldes :\nwallet : .*20,00.*\nsavings : .*300,00/);
    const encoded = encodeSms(reply, { reference: 0, maxParts: 9 });
    expect(encoded.dataCoding).toBe(0);
    expect(encoded.parts).toHaveLength(1);
  });

  it("answers in Hindi (UCS-2) in one part too", async () => {
    const c = await env.addCustomer("+254712210005", "Priya Sharma", "2468", "hi", 40_00n);
    await fund(await savingsOf(c), 60_00n);
    expect((await telco.mo(c.msisdn.slice(1), "22555", "बैलेंस 2468", { data_coding: 8 })).command_status).toBe(ESME_ROK);
    const pdu = await telco.nextDeliverTo(c.msisdn.slice(1));
    expect(textOf(pdu)).toMatch(/^आपकी शेष राशि:\nwallet: .*40\.00\nsavings: .*60\.00$/);
    expect(Number(pdu.esm_class) & 0x40).toBe(0); // no UDH: a single part
  });

  it("MINI shows the payments of every wallet, newest first", async () => {
    const c = await env.addCustomer("+254712210003", "Amina Njeri", "6194", "en", 30_00n);
    await fund(await savingsOf(c), 120_00n);
    const lines = (await ask(c.msisdn, "MINI 6194")).split("\n");
    expect(lines[0]).toBe("Last transactions:");
    // Before the fix only the registration wallet's KES 30.00 was listed.
    expect(lines.slice(1).map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["+KES 120.00", "+KES 30.00"]);
  });

  it("a customer with one wallet still gets the one-line balance", async () => {
    const c = await env.addCustomer("+254712210004", "Otieno Kamau", "7351", "sw", 75_00n);
    expect(await ask(c.msisdn, "SALIO 7351")).toBe("Salio lako ni Ksh 75.00.");
    expect(telco.pending()).toBe(0);
  });
});
