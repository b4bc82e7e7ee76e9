/**
 * Parts of concatenated MO messages from one number are bounded by that number's rate, over a real
 * bind and the real PostgreSQL: a subscriber (or a modem) sending first parts under ever new
 * references used to have every one stored (sealed, in sms_mo_parts) without limit, since the
 * per-number rate applied only to whole messages; a part a legitimate message needs still goes.
 */
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { MAX_MO_PARTS } from "../../src/sms/commands/mo-parts.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const RATE = { max: 2, windowSec: 3600 };
let env: SmsEnv;
let telco: TestTelco;

const storedFor = async (msisdn: string): Promise<number> =>
  (await env.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM sms_mo_parts WHERE msisdn = $1", [msisdn])).rows[0]!.n;

/** Part `seq` of `total` under reference `ref`, from `from` (international digits). */
const part = (from: string, ref: number, total: number, seq: number, text: string): smpp.PduOptions => ({
  source_addr_ton: 1, source_addr_npi: 1, source_addr: from, destination_addr: "22555", esm_class: 0x40, data_coding: 0,
  short_message: Buffer.concat([Buffer.from([0x06, 0x08, 0x04, ref >> 8, ref & 0xff, total, seq]), encodeSms(text, { reference: 0, maxParts: 1 }).parts[0]!]),
});

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-mo-parts-flood", rateLimit: RATE });
  await env.addCustomer("+254712660008", "Faith Achieng", "4827", "en", 1_000_00n);
  await env.addServerLink("flood-telco", { maxBinds: 1 });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("flood-telco", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("parts of concatenated MO messages", () => {
  it("stores no more of a number's parts than its rate allows whole messages", async () => {
    const cap = RATE.max * MAX_MO_PARTS;
    for (let ref = 1; ref <= cap + 8; ref++) {
      // Acknowledged all the same (a telco would only send it again), as a message over the rate is.
      expect((await telco.request("submit_sm", part("254712660007", ref, 2, 1, "x"))).command_status).toBe(ESME_ROK);
    }
    expect(await storedFor("+254712660007")).toBe(cap);
    expect(env.logs.some((l) => l.includes("sms mo part over the number's rate"))).toBe(true);
    // Another number's message is not held back by it.
    expect((await telco.request("submit_sm", part("254712660008", 9, 2, 1, "BAL "))).command_status).toBe(ESME_ROK);
    expect((await telco.request("submit_sm", part("254712660008", 9, 2, 2, "4827"))).command_status).toBe(ESME_ROK);
    const { rows } = await env.test.db.query<{ command: string }>("SELECT command FROM sms_mo_messages WHERE msisdn = $1", ["+254712660008"]);
    expect(rows.map((r) => r.command)).toEqual(["balance"]);
  });
});
