/**
 * A customer whose self-registration over USSD succeeded but whose PIN failed to be written (and
 * whose session was not resumed) is not left with no PIN, every PIN they type counted wrong: on
 * their next dial they choose it, twice, before anything else. A customer the bank registered
 * without a PIN is not offered this (the bank's own process sets it). End to end: Africa's
 * Talking payloads through the gateway on the real core (PostgreSQL); the PIN write fails for real
 * (a trigger refuses the row).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openUssdEnv, type UssdEnv, walkAt } from "../helpers/ussd-env.js";

const SECRET = "e2e-first-pin-secret-0123456789abcdef";
let env: UssdEnv;

const walk = (sessionId: string, phoneNumber: string, inputs: string[]) => walkAt(env, sessionId, phoneNumber, inputs);

async function failPinWrites(on: boolean): Promise<void> {
  if (on) {
    await env.test.db.query(`CREATE FUNCTION first_pin_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'pin store unavailable'; END $$`);
    await env.test.db.query(`CREATE TRIGGER first_pin_test_refuse BEFORE INSERT ON pin_credentials FOR EACH ROW EXECUTE FUNCTION first_pin_test_refuse()`);
  } else {
    await env.test.db.query(`DROP TRIGGER first_pin_test_refuse ON pin_credentials`);
    await env.test.db.query(`DROP FUNCTION first_pin_test_refuse()`);
  }
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "first-pin-bank", secret: SECRET });
});

afterAll(() => env?.close());

describe("a self-registered customer left without a PIN", () => {
  it("chooses the PIN on the next dial, before anything else, and then banks with it", async () => {
    const msisdn = "+254712199001";
    await failPinWrites(true);
    let registration: string[];
    try {
      registration = await walk("first-pin-reg", msisdn, ["Jane Wanjiru", "1", "4827", "4827"]);
    } finally {
      await failPinWrites(false);
    }
    expect(registration[4]).toMatch(/^END /);
    expect(registration[4]).not.toContain("Welcome Jane");
    const found = await env.services.directory.findCustomerByMsisdn(msisdn);
    expect(found.ok).toBe(true);
    const customer = found.ok ? found.value : null;
    expect(await env.services.pins.verifyPin({ actor: { type: "customer", id: customer!.id }, channel: "ussd", subjectId: customer!.id, pin: "4827" }))
      .toMatchObject({ ok: false, code: "pin_wrong" });

    // The next dial (a new session) offers to resume the interrupted one; declined ("start again"),
    // the PIN comes first; a weak one is refused, a mismatch asks again.
    const chosen = await walk("first-pin-next", msisdn, ["2", "1111", "5093", "5094", "5093", "5093"]);
    expect(chosen[0]).toMatch(/^CON You were interrupted/);
    expect(chosen[1]).toBe("CON Your registration is not finished: your PIN was not set.\nChoose a 4-digit PIN:");
    expect(chosen[2]).toMatch(/^CON .*\nChoose a 4-digit PIN:$/);
    expect(chosen[3]).toBe("CON Enter the PIN again:");
    expect(chosen[4]).toMatch(/^CON .*\nChoose a 4-digit PIN:$/);
    expect(chosen[6]).toBe("END Welcome Jane Wanjiru! Your wallet is ready. Dial again to use it.");

    // Then the main menu, and the PIN is theirs.
    const balance = await walk("first-pin-balance", msisdn, ["1", "5093"]);
    expect(balance[0]).toMatch(/^CON Welcome to fingate\n1\. Balance/);
    expect(balance[2]).toBe("END Your balance is KES 0.00.");
  });

  it("is not offered to a customer the bank registered without a PIN", async () => {
    const bank = { actorType: "bank_user" as const, actorId: "apikey:test", channel: "api" as const, institutionId: env.bankId };
    const made = await env.services.directory.register(bank, { institutionId: env.bankId, msisdn: "+254712199002", displayName: "Otieno Kamau" });
    expect(made.ok).toBe(true);
    const dial = await walk("first-pin-bank", "+254712199002", []);
    expect(dial[0]).toMatch(/^CON Welcome to fingate\n1\. Balance/);
  });
});
