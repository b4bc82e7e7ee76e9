/**
 * The same text again within the re-delivery window (a minute), over real SMPP sockets against
 * PostgreSQL, when the answer to the first copy never reached the customer: the SMSC refused our
 * deliver_sm for good (the outbox row is `failed`). Such a copy used to be dropped as the network's
 * duplicate, and the customer, who had no answer, got none again. It is now answered (a read runs
 * again; a paid SEND pays nothing and is told "You already sent … Ref R"), while a copy of a message
 * whose answer went out, or is still on its way, is still dropped without a second answer.
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { smsRepeatKit, until } from "../helpers/sms-repeat-kit.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PAYEE = "+254712950102";
const SECRET = "sms-repeat-unanswered-secret-0123";
/** ESME_RINVDSTADR: a refusal sending again cannot cure, so the outbox fails the row at once. */
const INVALID_DESTINATION = 0x0b;

let env: SmsEnv;
let telco: TestTelco;
const { transfersFrom, statesTo, smpp } = smsRepeatKit(() => env, () => telco);
let app: express.Express;
/** Numbers (international digits) whose deliver_sm the telco refuses for now. */
const refused = new Set<string>();

/** The next SMS to the number, or "(nothing)" when none comes within 5 seconds. */
/** An MO over HTTP under aggregator id `id`, acknowledged, and its run finished. */
async function http(c: Customer, id: string, text: string): Promise<void> {
  const r = await request(app).post("/sms/at/mo").set("x-fingate-secret", SECRET).type("form").send({ from: c.msisdn, to: "22555", text, id });
  expect(r.status).toBe(200);
  await env.sms.commands.drain();
}

const next = (c: Customer) =>
  Promise.race([telco.nextDeliverTo(c.msisdn.slice(1)).then(textOf), new Promise<string>((r) => setTimeout(() => r("(nothing)"), 5_000))]);

/** `text` from the customer, whose answer the SMSC refuses for good: the answer's row ends failed. */
async function unanswered(c: Customer, text: string): Promise<void> {
  refused.add(c.msisdn.slice(1));
  await smpp(c, text);
  await until("the answer to fail", async () => (await statesTo(c)).includes("failed"));
  refused.delete(c.msisdn.slice(1));
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-repeat-unanswered" });
  await env.addCustomer(PAYEE, "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("rep-unanswered", { maxBinds: 1, msisdnPrefixes: ["+25471295"] });
  telco = await TestTelco.connect(env.port);
  telco.deliverStatus = (pdu) => (refused.has(String(pdu.destination_addr)) ? INVALID_DESTINATION : ESME_ROK);
  expect(await telco.bind("rep-unanswered", "Secret1!")).toBe(ESME_ROK);
  app = express();
  app.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: env.bankId, shortCodes: ["22555"] }], commands: env.sms.commands, logger: { warn() {}, error() {} } }));
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("the same text within a minute when its answer never reached the customer", () => {
  it("answers a balance asked again, once, and drops a further copy once that answer went out", async () => {
    const c = await env.addCustomer("+254712950101", "Wairimu Njoroge", "4827", "en", 70_00n);
    await unanswered(c, "BAL 4827");
    await smpp(c, "BAL 4827");
    expect(await next(c)).toBe("Your balance is KES 70.00.");
    await until("the answer to go", async () => (await statesTo(c)).at(-1) === "delivered" || (await statesTo(c)).at(-1) === "submitted");
    // A network copy of that repeat: its answer went out, so nothing more.
    await smpp(c, "BAL 4827");
    expect(await statesTo(c)).toHaveLength(2);
  });

  it("tells the payer a SEND whose receipt failed already went, and pays nothing more", async () => {
    const c = await env.addCustomer("+254712950103", "Kamau Mwangi", "4827", "en", 1_000_00n);
    await unanswered(c, "SEND 0712950102 40 4827");
    expect(await transfersFrom(c)).toBe(1);
    // The failed answer was the payer's receipt (the SEND's own reply is silent with receipts via the outbox).
    const { rows } = await env.test.db.query<{ ref: string }>("SELECT params->>'ref' AS ref FROM outbox_messages WHERE msisdn = $1 AND kind = 'receipt' AND state = 'failed'", [c.msisdn]);
    expect(rows).toHaveLength(1);
    await smpp(c, "SEND 0712950102 40 4827");
    expect(await next(c)).toMatch(new RegExp(`^You already sent KES 40\\.00 to OTIENO K\\*+ at .+ \\(Ref ${rows[0]!.ref}\\)\\. Nothing more was sent\\.`));
    expect(await transfersFrom(c)).toBe(1);
    // A network copy of that repeat, its answer on its way or gone: nothing more.
    await smpp(c, "SEND 0712950102 40 4827");
    expect(await statesTo(c)).toHaveLength(2);
    expect(await transfersFrom(c)).toBe(1);
  });

  it("over HTTP, answers the same SEND under a new aggregator id, but not the aggregator's retry of the first id", async () => {
    const c = await env.addCustomer("+254712950105", "Njeri Kariuki", "4827", "en", 1_000_00n);
    refused.add(c.msisdn.slice(1));
    await http(c, "ATX-u1", "SEND 0712950102 30 4827");
    await until("the receipt to fail", async () => (await statesTo(c)).includes("failed"));
    refused.delete(c.msisdn.slice(1));
    // The aggregator's own retry of its id (our 200 was lost): not the customer, dropped.
    await http(c, "ATX-u1", "SEND 0712950102 30 4827");
    expect(await statesTo(c)).toEqual(["failed"]);
    await http(c, "ATX-u2", "SEND 0712950102 30 4827");
    expect(await next(c)).toMatch(/^You already sent KES 30\.00 to OTIENO K\*+ at .+ Nothing more was sent\./);
    expect(await transfersFrom(c)).toBe(1);
  });

  it("still drops, without a second answer, a copy of a message whose answer went out", async () => {
    const c = await env.addCustomer("+254712950104", "Achieng Ouma", "4827", "en", 50_00n);
    await smpp(c, "BAL 4827");
    expect(await next(c)).toBe("Your balance is KES 50.00.");
    await smpp(c, "BAL 4827");
    expect(await statesTo(c)).toHaveLength(1);
  });
});
