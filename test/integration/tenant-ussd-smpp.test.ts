/**
 * USSD over SMPP serves the USSD channel's bank only: a link of another bank that speaks USSD
 * must not run that bank's subscribers through our bank's menu (they would be told their own
 * bank's customers are "another bank's", or self-register as our customers on its short code).
 * Its sessions end at once with "Service unavailable"; the channel's own bank's link still works.
 */
import { randomUUID } from "node:crypto";
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USSD_DEFAULTS } from "../../src/sms/links/types.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { SYSTEM } from "../helpers/core-setup.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PSSR_INDICATION = 1;
const PSSR_RESPONSE = 17;

let env: SmsEnv;
let bankB: string;
const telcos: TestTelco[] = [];

function dial(t: TestTelco, from: string, session: number): Promise<smpp.PDU> {
  return t.mo(from, "*789#", "*789#", { ussd_service_op: PSSR_INDICATION, its_session_info: Buffer.from([session, 0]) });
}

async function screen(t: TestTelco): Promise<{ op: number; end: boolean; text: string }> {
  const pdu = await t.nextDeliver();
  const info = pdu.its_session_info as Buffer;
  return { op: pdu.ussd_service_op as number, end: (info[1]! & 1) === 1, text: textOf(pdu) };
}

async function bound(systemId: string): Promise<TestTelco> {
  const t = await TestTelco.connect(env.port);
  telcos.push(t);
  expect(await t.bind(systemId, "Secret1!")).toBe(ESME_ROK);
  return t;
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "tenant-ussd-a" });
  bankB = randomUUID();
  await env.test.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'tenant-ussd-b', 'Bank B', 'KES', 'Africa/Nairobi')", [bankB]);
  const ussd = { ...USSD_DEFAULTS, serviceCode: "*789#" };
  await env.addServerLink("ussd-b", { institutionId: bankB, shortCodes: ["*789#"], msisdnPrefixes: [], ussd });
  await env.addServerLink("ussd-a", { shortCodes: ["*789#"], msisdnPrefixes: [], ussd });
  await env.addCustomer("+254712830101", "Jane Wanjiru", "4827", "en", 1_00n);
  const b = await env.services.directory.register(SYSTEM, { institutionId: bankB, msisdn: "+254712830102", displayName: "Bob Otieno" });
  if (!b.ok) throw new Error(b.code);
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await env?.close();
});

describe("USSD over SMPP on another bank's link", () => {
  it("ends the session at once, showing nothing of the channel's bank, for a number no bank knows and for the link's own bank's customer", async () => {
    const t = await bound("ussd-b");
    for (const [msisdn, session] of [["254712830103", 61], ["254712830102", 62], ["254712830101", 63]] as const) {
      expect((await dial(t, msisdn, session)).command_status).toBe(ESME_ROK);
      expect(await screen(t)).toMatchObject({ op: PSSR_RESPONSE, end: true, text: "Service unavailable" });
    }
    // Nothing was registered or opened for the stranger on bank B's short code.
    const { rows } = await env.test.db.query("SELECT 1 FROM customers WHERE msisdn = '+254712830103'");
    expect(rows).toEqual([]);
  });

  it("the channel's own bank's link still serves its customer", async () => {
    const t = await bound("ussd-a");
    await dial(t, "254712830101", 64);
    const menu = await screen(t);
    expect(menu.end).toBe(false);
    expect(menu.text).toMatch(/Balance/);
  });
});
