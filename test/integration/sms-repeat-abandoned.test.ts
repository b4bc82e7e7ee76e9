/**
 * A SEND repeated by the customer after its payment failed, over real SMPP sockets against
 * PostgreSQL. Under a SIM swap's cooling a payment whose ledger write threw has its id abandoned
 * (Ledger.abandon: refused for good, it never posts); the SMS run answers "could not confirm" and
 * records the attempt as one that may have paid, so that a copy replays its id. The customer who
 * checks the balance and sends the same SEND again must be able to pay: the abandoned id moved
 * nothing and never will. A network copy of that resend must still pay nothing more. Time passing
 * is simulated by moving the message's timestamps back; the write fails for real (a trigger).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { smsRepeatKit } from "../helpers/sms-repeat-kit.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PAYEE = "+254712950002";
const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };

let env: SmsEnv;
let telco: TestTelco;
const { transfersFrom, outboxTo, later, smpp } = smsRepeatKit(() => env, () => telco);

const next = async (c: Customer) => textOf(await telco.nextDeliverTo(c.msisdn.slice(1)));

/** Runs body while every insert into transfers fails, as an outage of the ledger's store would. */
async function ledgerDown<T>(body: () => Promise<T>): Promise<T> {
  await env.test.db.query(`CREATE FUNCTION sms_abandon_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'store unavailable'; END $$`);
  await env.test.db.query(`CREATE TRIGGER sms_abandon_test_refuse BEFORE INSERT ON transfers FOR EACH ROW EXECUTE FUNCTION sms_abandon_test_refuse()`);
  try {
    return await body();
  } finally {
    await env.test.db.query("DROP TRIGGER sms_abandon_test_refuse ON transfers");
    await env.test.db.query("DROP FUNCTION sms_abandon_test_refuse()");
  }
}

/** A customer under a SIM swap's cooling whose SEND of KES 5 threw in the ledger and was abandoned. */
async function abandonedSend(msisdn: string, name: string): Promise<Customer> {
  const c = await env.addCustomer(msisdn, name, "4827", "en", 1_000_00n);
  expect((await env.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap" })).ok).toBe(true);
  await ledgerDown(() => smpp(c, "SEND 0712950002 5 4827"));
  // It says when sending again is answered: a copy within the minute is taken for the network's.
  expect(await next(c)).toBe("We could not confirm the payment. Check your balance; if nothing was sent, send it again after 1 min.");
  expect(await transfersFrom(c)).toBe(0);
  return c;
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-repeat-abandoned" });
  await env.addCustomer(PAYEE, "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("rep-abandon", { maxBinds: 1, msisdnPrefixes: ["+25471295"] });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("rep-abandon", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("the same SEND after its payment was abandoned", () => {
  it("pays when the customer sends it again within the SEND window, and a network copy of that resend pays nothing more", async () => {
    const c = await abandonedSend("+254712950001", "Akinyi Otieno");
    // The customer checked the balance (nothing moved) and sends the same SEND again.
    await later(c, 90);
    await smpp(c, "SEND 0712950002 5 4827");
    expect(await next(c)).toMatch(/^Sent KES 5\.00 to OTIENO K\*+\. Fee KES 0\.00\. Ref [0-9A-F]{10}\.$/);
    expect(await transfersFrom(c)).toBe(1);
    const answered = await outboxTo(c);
    // The network's copy of that resend: nothing paid, nothing answered.
    await smpp(c, "SEND 0712950002 5 4827");
    expect(await transfersFrom(c)).toBe(1);
    expect(await outboxTo(c)).toBe(answered);
    // A later repeat within the SEND window is told it already went, and pays nothing.
    await later(c, 90);
    await smpp(c, "SEND 0712950002 5 4827");
    expect(await next(c)).toMatch(/^You already sent KES 5\.00 to OTIENO K\*+ at .+ Nothing more was sent\./);
    expect(await transfersFrom(c)).toBe(1);
  });
});
