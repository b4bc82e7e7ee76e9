/**
 * What a telco bound to our listener may send, over real sockets on the real core: a USSD PDU on
 * a link without USSD options is refused and logged (a client link drops it), not run as an SMS
 * command.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { ESME_ROPTPARNOTALLWD } from "../../src/sms/server/status-codes.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

let env: SmsEnv;
const telcos: TestTelco[] = [];

async function bound(systemId: string): Promise<TestTelco> {
  const t = await TestTelco.connect(env.port);
  telcos.push(t);
  expect(await t.bind(systemId, "Secret1!")).toBe(ESME_ROK);
  return t;
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-server-inbound" });
  // No USSD options.
  await env.addServerLink("plain-sms", { maxBinds: 2 });
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await env?.close();
});

describe("a USSD PDU on a server link without USSD options", () => {
  it("is refused and logged, and gets no SMS reply", async () => {
    await env.addCustomer("+254712210101", "Jane Wanjiru", "4827", "en", 10_00n);
    const t = await bound("plain-sms");
    // A dial (PSSR indication, ussd_service_op 1) as a USSD gateway sends it.
    const dial = await t.mo("254712210101", "22555", "*384#", { ussd_service_op: 1, its_session_info: Buffer.from([0x01, 0x00]) });
    // Before the fix: ESME_ROK, and an SMS "Unknown command. Send BAL <PIN> …" to the subscriber.
    expect(dial.command_status).toBe(ESME_ROPTPARNOTALLWD);
    expect(env.logs.some((l) => l.startsWith("ussd pdu on a link without USSD options: refused") && l.includes('"link":"plain-sms"'))).toBe(true);
    // The next reply to the subscriber answers their next SMS, not the dial.
    expect((await t.mo("254712210101", "22555", "HELP")).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254712210101"))).toMatch(/^BAL <PIN> balance\./);
    await env.sms.commands.drain();
    expect(t.pending()).toBe(0);
    const { rows } = await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM sms_mo_messages WHERE msisdn = $1", ["+254712210101"]);
    expect(rows[0]!.n).toBe("1");
  });
});
