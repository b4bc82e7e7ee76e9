/**
 * The same text from the same number again, over real SMPP sockets and over HTTP (supertest),
 * against PostgreSQL. A copy within the re-delivery window (a minute) is the network's duplicate:
 * it pays once and is answered once. A later copy is the customer's repeat and is answered: after a
 * run that moved no money (a refusal) or a read (BAL) it runs again as a new attempt; after a
 * payment within the SEND window (5 minutes) it pays nothing and is told "You already sent …". Both
 * used to be dropped without a reply for 10 minutes (BAL) or 48 hours (SEND). Time passing is
 * simulated by moving the message's timestamps back.
 */
import { randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import { smsPaymentId } from "../../src/sms/commands/handler.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { smsRepeatKit } from "../helpers/sms-repeat-kit.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const SECRET = "sms-repeats-secret-0123456789ab";
const PAYEE = "+254712710002";

let env: SmsEnv;
let app: express.Express;
let telco: TestTelco;
const { transfersFrom, outboxTo, later, smpp } = smsRepeatKit(() => env, () => telco);

/** An MO over HTTP under aggregator id `id`, acknowledged, and its run finished. */
async function http(c: Customer, id: string, text: string): Promise<void> {
  const r = await request(app).post("/sms/at/mo").set("x-fingate-secret", SECRET).type("form").send({ from: c.msisdn, to: "22555", text, id });
  expect(r.status).toBe(200);
  await env.sms.commands.drain();
}

/** The next SMS to the number: a command reply or a payment receipt (both reach the telco as deliver_sm). */
const next = async (c: Customer) => textOf(await telco.nextDeliverTo(c.msisdn.slice(1)));

/** Nothing more was sent to the number than `count` messages: a BAL's answer is the next one. */
async function nothingMore(c: Customer, pin: string, count: number): Promise<void> {
  expect(await outboxTo(c)).toBe(count);
  await smpp(c, `BAL ${pin}`);
  expect(await next(c)).toMatch(/^Your balance is KES /);
}

async function topUp(c: Customer, minor: bigint): Promise<void> {
  const r = await env.ledger.transfer({ id: randomUUID(), debitAccountId: env.treasuryId, creditAccountId: c.walletAccountId, amountMinor: minor, code: "cash_in" });
  expect(r.result).toBe("ok");
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-repeats-bank" });
  await env.addCustomer(PAYEE, "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("repeats", { maxBinds: 2, msisdnPrefixes: ["+25471271"] });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("repeats", "Secret1!")).toBe(ESME_ROK);
  app = express();
  app.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: env.bankId, shortCodes: ["22555"] }], commands: env.sms.commands, logger: { warn() {}, error() {} } }));
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("SMPP: the same text again", () => {
  it("says the limit is reached, not \"you may send up to KES 0.00\", when the day's count is used up", async () => {
    const amina = await env.addCustomer("+254712710020", "Amina Yusuf", "2864", "en", 1_000_00n);
    // SMS tier 0: five transfers a day; distinct amounts, so none is taken for a repeat.
    for (const amount of [1, 2, 3, 4, 5]) {
      await smpp(amina, `SEND 0712710002 ${amount} 2864`);
      expect(await next(amina)).toMatch(/^Sent KES /);
    }
    await smpp(amina, "SEND 0712710002 6 2864");
    expect(await next(amina)).toBe("This is over your SMS limit. Nothing was sent.");
    expect(await transfersFrom(amina)).toBe(5);
  });

  it("pays once and answers once when the network delivers a SEND twice within the window", async () => {
    const jane = await env.addCustomer("+254712710001", "Jane Wanjiru", "4827", "en", 1_000_00n);
    await smpp(jane, "SEND 0712710002 100 4827");
    expect(await next(jane)).toMatch(/^Sent KES 100\.00 to OTIENO K\*+\. Fee KES 0\.00\. Ref [0-9A-F]{10}\.$/);
    await smpp(jane, "SEND 0712710002 100 4827");
    expect(await transfersFrom(jane)).toBe(1);
    // A refused SEND's duplicate is not answered twice either.
    await smpp(jane, "SEND 0712710002 5000 4827");
    expect(await next(jane)).toMatch(/^This is over your SMS limit/);
    await smpp(jane, "SEND 0712710002 5000 4827");
    await nothingMore(jane, "4827", 2);
    expect(await transfersFrom(jane)).toBe(1);
  });

  it("runs a SEND again, as a new payment, when the customer repeats it after a refusal", async () => {
    const amina = await env.addCustomer("+254712710003", "Amina Odhiambo", "6284", "en", 50_00n);
    await smpp(amina, "SEND 0712710002 200 6284");
    expect(await next(amina)).toBe("Insufficient funds. Nothing was sent.");
    await topUp(amina, 500_00n);
    await later(amina, 61);
    await smpp(amina, "SEND 0712710002 200 6284");
    expect(await next(amina)).toMatch(/^Sent KES 200\.00 to OTIENO K\*+\./);
    expect(await transfersFrom(amina)).toBe(1);
    // Attempt 1 of the message: a transfer id of its own (attempt 0's was refused, never posted).
    const { rows } = await env.test.db.query<{ id: string; attempt: number }>("SELECT id, attempt FROM sms_mo_messages WHERE msisdn = $1 AND command = 'send'", [amina.msisdn]);
    expect(rows).toMatchObject([{ attempt: 1 }]);
    expect(await env.ledger.getTransfer(smsPaymentId(rows[0]!.id, 1))).not.toBeNull();
    expect(await env.ledger.getTransfer(smsPaymentId(rows[0]!.id, 0))).toBeNull();
  });

  it("answers a balance asked again after the re-delivery window", async () => {
    const brian = await env.addCustomer("+254712710006", "Brian Kiptoo", "3917", "en", 70_00n);
    await smpp(brian, "BAL 3917");
    expect(await next(brian)).toBe("Your balance is KES 70.00.");
    await topUp(brian, 30_00n);
    await later(brian, 61);
    await smpp(brian, "BAL 3917");
    expect(await next(brian)).toBe("Your balance is KES 100.00.");
  });

  it("pays nothing and says so when a paid SEND is repeated within the SEND window; pays again after it", async () => {
    const wanjiku = await env.addCustomer("+254712710004", "Wanjiku Mwangi", "4051", "en", 1_000_00n);
    await smpp(wanjiku, "SEND 0712710002 150 4051");
    const receipt = await next(wanjiku);
    const ref = /Ref ([0-9A-F]{10})\.$/.exec(receipt)![1];
    await later(wanjiku, 90);
    await smpp(wanjiku, "SEND 0712710002 150 4051");
    // 210 s of the 300 left: "4 min".
    expect(await next(wanjiku)).toMatch(new RegExp(`^You already sent KES 150\\.00 to OTIENO K\\*+ at \\d\\d:\\d\\d( [AP]M)? \\(Ref ${ref}\\)\\. Nothing more was sent\\. To send the same again, wait 4 min\\.$`));
    expect(await transfersFrom(wanjiku)).toBe(1);
    // That repeat delivered twice by the network: one answer.
    await smpp(wanjiku, "SEND 0712710002 150 4051");
    await nothingMore(wanjiku, "4051", 2);
    // The window over: the same text is a new payment, as a new SMS is.
    await later(wanjiku, 300);
    await smpp(wanjiku, "SEND 0712710002 150 4051");
    expect(await next(wanjiku)).toMatch(/^Sent KES 150\.00 to OTIENO K\*+\./);
    expect(await transfersFrom(wanjiku)).toBe(2);
  });
});

describe("HTTP: the same SEND under two aggregator ids", () => {
  it("is one payment with one answer within the window, then an 'already sent' answer; a refused one runs again", async () => {
    const priya = await env.addCustomer("+254712710005", "Priya Sharma", "6194", "en", 1_000_00n);
    await http(priya, "ATX-r1", "SEND 0712710002 80 6194");
    expect(await next(priya)).toMatch(/^Sent KES 80\.00 to OTIENO K\*+\./);
    // The aggregator hands the network's copy over under another id (and the first id again).
    await http(priya, "ATX-r2", "SEND 0712710002 80 6194");
    await http(priya, "ATX-r1", "SEND 0712710002 80 6194");
    expect(await transfersFrom(priya)).toBe(1);
    expect(await outboxTo(priya)).toBe(1);
    // The customer's repeat, a minute and a half later: answered, not paid.
    await later(priya, 90);
    await http(priya, "ATX-r3", "SEND 0712710002 80 6194");
    expect(await next(priya)).toMatch(/^You already sent KES 80\.00 to OTIENO K\*+ at .+ wait 4 min\.$/);
    expect(await transfersFrom(priya)).toBe(1);
    // A refusal, and the same text again under a new id after the re-delivery window: run and answered again.
    await http(priya, "ATX-r4", "SEND 0712710002 5000 6194");
    expect(await next(priya)).toMatch(/^This is over your SMS limit/);
    await later(priya, 61);
    await http(priya, "ATX-r5", "SEND 0712710002 5000 6194");
    expect(await next(priya)).toMatch(/^This is over your SMS limit/);
    expect(await transfersFrom(priya)).toBe(1);
  });
});
