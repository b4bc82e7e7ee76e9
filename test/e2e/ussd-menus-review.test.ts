/**
 * The customer menus as a feature-phone user meets them, over Africa's Talking payloads on the
 * real core (PostgreSQL, this file's schema): corrections that keep the session, screens with no
 * English word in another language's text, and a required first PIN that the home shortcut
 * cannot skip. Numbers +25471270xxxx.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { openUssdEnv, SYSTEM, walkAt, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "e2e-menus-review-secret-0123456789";
const PIN = "4827";
let env: UssdEnv;

async function customer(msisdn: string, language: Customer["language"]): Promise<Customer> {
  const made = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn, displayName: "Jane Wanjiru", language });
  if (!made.ok) throw new Error(made.code);
  const set = await env.services.pins.setPin({ actor: { type: "system", id: "e2e" }, channel: "system", subjectId: made.value.id, msisdn, pin: PIN });
  if (!set.ok) throw new Error(set.code);
  return made.value;
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "menus-review-bank", secret: SECRET });
});

afterAll(() => env?.close());

describe("customer menus, reviewed over USSD", () => {
  it("a mistyped choice in My account's default list asks again instead of ending the session", async () => {
    const jane = await customer("+254712700001", "en");
    const savings = await env.services.directory.addInstrument(SYSTEM, jane.id, { kind: "wallet", alias: "savings" });
    expect(savings.ok).toBe(true);
    const r = await walkAt(env, randomUUID(), jane.msisdn, ["6", "3", "7", "2"]);
    const list = "Choose your default account:\n1. wallet (default)\n2. savings";
    expect(r[2]).toBe(`CON ${list}`);
    expect(r[3]).toBe(`CON Invalid choice.\n${list}`);
    expect(r[4]).toBe("END savings is now your default account.");
  });

  it("Hindi: a PIN change refused after a SIM swap says पिन and सिम, as every other Hindi screen does, not PIN and SIM", async () => {
    const asha = await customer("+254712700002", "hi");
    const swapped = await env.services.simSwap.report({ actor: { type: "telco", id: "t" }, channel: "system", msisdn: asha.msisdn, kind: "sim_swap" });
    expect(swapped.ok).toBe(true);
    // Main menu page 2 (98), 5 Change PIN: the new PIN twice, then the current one.
    const r = await walkAt(env, randomUUID(), asha.msisdn, ["98", "5", "5937", "5937", PIN]);
    expect(r[3]).toBe("CON नया पिन फिर से दर्ज करें:");
    expect(r[5]).toMatch(/^END आपका सिम हाल ही में बदला गया है। .+ तक आपका पिन नहीं बदला जा सकता।$/);
    expect(r[5]).not.toMatch(/PIN|SIM/);
  });

  it("a self-registered customer still choosing a first PIN is not taken by 00 (home) to a main menu where every PIN is wrong", async () => {
    // Registered over USSD, but the PIN's write failed: the number is a customer awaiting a first PIN.
    const self = { actorType: "customer" as const, actorId: "self", channel: "ussd" as const };
    const made = await env.services.directory.register(self, { institutionId: env.bankId, msisdn: "+254712700003", displayName: "Amina Odhiambo", language: "en" });
    expect(made.ok && made.value.awaitingFirstPin).toBe(true);
    const ask = "Choose a 4-digit PIN:";
    const r = await walkAt(env, randomUUID(), "+254712700003", ["00", "1", "5093", "5093"]);
    expect(r[0]).toBe(`CON Your registration is not finished: your PIN was not set.\n${ask}`);
    // Home is the first PIN while there is none: the main menu's balance would count a wrong PIN.
    expect(r[1]).toBe(r[0]);
    expect(r[2]).toBe(`CON A PIN is 4 digits.\n${ask}`);
    expect(r[3]).toBe("CON Enter the PIN again:");
    expect(r[4]).toBe("END Welcome Amina Odhiambo! Your wallet is ready. Dial again to use it.");
  });

  it("a currency without decimals (XOF): an amount refused says to use whole numbers, not \"0 décimales au plus\"", async () => {
    const xof = await openUssdEnv({ code: "menus-review-xof", secret: SECRET, language: "fr" });
    try {
      await xof.test.db.query("UPDATE institutions SET currency = 'XOF', timezone = 'Africa/Dakar' WHERE id = $1", [xof.bankId]);
      const register = async (msisdn: string, displayName: string) => {
        const made = await xof.services.directory.register(SYSTEM, { institutionId: xof.bankId, msisdn, displayName, language: "fr" });
        if (!made.ok) throw new Error(made.code);
        const set = await xof.services.pins.setPin({ actor: { type: "system", id: "e2e" }, channel: "system", subjectId: made.value.id, msisdn, pin: PIN });
        if (!set.ok) throw new Error(set.code);
        return made.value;
      };
      const awa = await register("+254712700004", "Awa Diop");
      await register("+254712700005", "Moussa Ndiaye");
      const r = await walkAt(xof, randomUUID(), awa.msisdn, ["2", "0712700005", "1500,5", "abc"]);
      const ask = "Payer MOUSSA N***. Entrez le montant en XOF :";
      expect(r[2]).toBe(`CON ${ask}`);
      expect(r[3]).toBe(`CON Montant invalide. Utilisez des chiffres, sans décimales.\n${ask}`);
      expect(r[4]).toBe(r[3]);
    } finally {
      await xof.close();
    }
  });
});
