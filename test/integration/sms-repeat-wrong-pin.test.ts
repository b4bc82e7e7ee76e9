/**
 * Network copies, within the re-delivery window, of a message refused for a wrong PIN whose
 * answer the SMSC refused for good (its outbox row `failed`). Such a copy is reopened as a new
 * attempt (SqlMoLog.reopen) so that the customer finally hears an answer; it used to check the PIN
 * again, so three copies of one SEND typed with one wrong PIN counted three wrong PINs and locked
 * the customer. The copy now answers the same refusal without checking the PIN (its text, hence
 * its PIN, was already judged wrong). Real PostgreSQL, SMPP over a real socket, the real ledger
 * and PIN service.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { smsRepeatKit, until } from "../helpers/sms-repeat-kit.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PAYEE = "+254713110002";
const WRONG_PIN = "Wrong PIN. Nothing was done.";
/** ESME_RINVDSTADR: a refusal sending again cannot cure, so the outbox fails the row at once. */
const INVALID_DESTINATION = 0x0b;
let env: SmsEnv;
let telco: TestTelco;
const { transfersFrom, statesTo, smpp } = smsRepeatKit(() => env, () => telco);
/** Numbers (international digits) whose deliver_sm the telco refuses for now. */
const refused = new Set<string>();

const next = (c: Customer) =>
  Promise.race([telco.nextDeliverTo(c.msisdn.slice(1)).then(textOf), new Promise<string>((r) => setTimeout(() => r("(nothing)"), 5_000))]);

async function pinFailures(c: Customer): Promise<{ failed_attempts: number; locked: boolean }> {
  const { rows } = await env.test.db.query<{ failed_attempts: number; locked: boolean }>(
    "SELECT failed_attempts, locked_until IS NOT NULL AS locked FROM pin_credentials WHERE subject_id = $1",
    [c.id],
  );
  return rows[0]!;
}

/** `text` from the customer, whose answer the SMSC refuses for good: the answer's row ends failed. */
async function unanswered(c: Customer, text: string, failedBefore = 0): Promise<void> {
  refused.add(c.msisdn.slice(1));
  await smpp(c, text);
  await until("the answer to fail", async () => (await statesTo(c)).filter((s) => s === "failed").length > failedBefore);
  refused.delete(c.msisdn.slice(1));
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-repeat-wrong-pin" });
  await env.addCustomer(PAYEE, "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("rep-wrong-pin", { maxBinds: 1, msisdnPrefixes: ["+25471311"] });
  telco = await TestTelco.connect(env.port);
  telco.deliverStatus = (pdu) => (refused.has(String(pdu.destination_addr)) ? INVALID_DESTINATION : ESME_ROK);
  expect(await telco.bind("rep-wrong-pin", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

it("counts one wrong PIN for a wrong-PIN SEND and its three network copies, answers a copy, and moves no money", async () => {
  const c = await env.addCustomer("+254713110001", "Kamau Mwangi", "4827", "en", 1_000_00n);
  await unanswered(c, "SEND 0713110002 40 1111");
  expect(await pinFailures(c)).toMatchObject({ failed_attempts: 1, locked: false });
  // The first copy is answered (the customer never heard the first answer) with the same refusal.
  await smpp(c, "SEND 0713110002 40 1111");
  expect(await next(c)).toBe(WRONG_PIN);
  await until("the answer to go", async () => ["delivered", "submitted"].includes((await statesTo(c)).at(-1) ?? ""));
  // Two more copies within the minute: that answer went out, so they are dropped.
  await smpp(c, "SEND 0713110002 40 1111");
  await smpp(c, "SEND 0713110002 40 1111");
  expect(await pinFailures(c)).toMatchObject({ failed_attempts: 1, locked: false });
  expect(await statesTo(c)).toHaveLength(2);
  expect(await transfersFrom(c)).toBe(0);
  // The right PIN still pays: nothing was locked.
  await smpp(c, "SEND 0713110002 40 4827");
  expect(await transfersFrom(c)).toBe(1);
});

it("counts one wrong PIN when every copy's answer is refused too, each copy answered again", async () => {
  const c = await env.addCustomer("+254713110003", "Wanjiru Mwangi", "4827", "en", 1_000_00n);
  await unanswered(c, "SEND 0713110002 40 1111");
  // Each copy's answer is refused in turn: each copy is reopened and answered, none checks the PIN.
  await unanswered(c, "SEND 0713110002 40 1111", 1);
  await unanswered(c, "SEND 0713110002 40 1111", 2);
  expect(await statesTo(c)).toEqual(["failed", "failed", "failed"]);
  await smpp(c, "SEND 0713110002 40 1111");
  expect(await next(c)).toBe(WRONG_PIN);
  expect(await pinFailures(c)).toMatchObject({ failed_attempts: 1, locked: false });
  expect(await transfersFrom(c)).toBe(0);
});

it("does the same for a balance asked with a wrong PIN", async () => {
  const c = await env.addCustomer("+254713110004", "Akinyi Otieno", "4827", "en", 70_00n);
  await unanswered(c, "BAL 1111");
  await unanswered(c, "BAL 1111", 1);
  await smpp(c, "BAL 1111");
  expect(await next(c)).toBe(WRONG_PIN);
  expect(await pinFailures(c)).toMatchObject({ failed_attempts: 1, locked: false });
});

it("still checks the PIN of another text, and of the same text once the minute has passed", async () => {
  const c = await env.addCustomer("+254713110005", "Muthoni Kariuki", "4827", "en", 1_000_00n);
  await unanswered(c, "SEND 0713110002 40 1111");
  // Another PIN is another text: checked (and here right: paid).
  await smpp(c, "SEND 0713110002 40 4827");
  expect(await transfersFrom(c)).toBe(1);
  expect(await pinFailures(c)).toMatchObject({ failed_attempts: 0 });
  const d = await env.addCustomer("+254713110006", "Chebet Kiprop", "4827", "en", 1_000_00n);
  await unanswered(d, "SEND 0713110002 40 1111");
  // More than a minute later the same text is the customer's repeat: its PIN is checked again.
  await env.test.db.query("UPDATE sms_mo_messages SET last_seen_at = last_seen_at - interval '61 seconds' WHERE msisdn = $1", [d.msisdn]);
  await smpp(d, "SEND 0713110002 40 1111");
  expect(await pinFailures(d)).toMatchObject({ failed_attempts: 2 });
});
