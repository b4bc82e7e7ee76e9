/**
 * A copy of an answered SMS within the re-delivery window is run again when its answer never
 * reached the customer (SqlMoLog.reopen), but never so that it pays what the attempt it re-runs
 * replayed: a repeat at 4m50s of a paid SEND replays the payment ("already sent"), its answer is
 * refused for good, and the network's copy of that repeat at 5m10s must not pay again because the
 * payment is now outside the SEND window measured from the copy. Real PostgreSQL, SMPP over a
 * real socket, the real ledger. (Found in review: it paid twice.)
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { smsRepeatKit, until } from "../helpers/sms-repeat-kit.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const PAYEE = "+254713010002";
const INVALID_DESTINATION = 0x0b;
let env: SmsEnv;
let telco: TestTelco;
const { transfersFrom, statesTo, smpp } = smsRepeatKit(() => env, () => telco);
const refused = new Set<string>();

/** Moves the message's clock back, as if `seconds` had passed since its payment and last copy. */
async function ago(c: Customer, seconds: number): Promise<void> {
  await env.test.db.query(
    `UPDATE sms_mo_messages SET paid_at = paid_at - make_interval(secs => $2), last_seen_at = last_seen_at - make_interval(secs => $2),
       handled_at = handled_at - make_interval(secs => $2), received_at = received_at - make_interval(secs => $2) WHERE msisdn = $1`,
    [c.msisdn, seconds],
  );
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-reopen-window" });
  await env.addCustomer(PAYEE, "Otieno Kamau", "5903", "en", 1_00n);
  await env.addServerLink("reopen-window", { maxBinds: 1, msisdnPrefixes: ["+25471301"] });
  telco = await TestTelco.connect(env.port);
  telco.deliverStatus = (pdu) => (refused.has(String(pdu.destination_addr)) ? INVALID_DESTINATION : ESME_ROK);
  expect(await telco.bind("reopen-window", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

it("a network copy of a replayed repeat, coming just after the SEND window, does not pay a second time", async () => {
  const c = await env.addCustomer("+254713010001", "Kamau Mwangi", "4827", "en", 1_000_00n);
  await smpp(c, "SEND 0713010002 40 4827");
  expect(await transfersFrom(c)).toBe(1);
  await until("the receipt to go", async () => ["delivered", "submitted"].includes((await statesTo(c)).at(-1) ?? ""));
  // 4m50s later the customer repeats it: a replay ("already sent"), whose answer is refused for good.
  await ago(c, 290);
  refused.add(c.msisdn.slice(1));
  await smpp(c, "SEND 0713010002 40 4827");
  await until("the repeat's answer to fail", async () => (await statesTo(c)).includes("failed"));
  refused.delete(c.msisdn.slice(1));
  expect(await transfersFrom(c)).toBe(1);
  const { rows } = await env.test.db.query<{ attempt: number; paid_attempt: number }>("SELECT attempt, paid_attempt FROM sms_mo_messages WHERE msisdn = $1", [c.msisdn]);
  expect(rows[0]).toMatchObject({ attempt: 1, paid_attempt: 0 });
  // 20 s later (within the minute of the repeat, 5m10s after the payment): the network's copy of the repeat.
  await ago(c, 20);
  await smpp(c, "SEND 0713010002 40 4827");
  expect(await transfersFrom(c)).toBe(1);
});
