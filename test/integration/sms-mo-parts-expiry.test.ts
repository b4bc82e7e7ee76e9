/**
 * A concatenated MO message that never completes: its stored parts (sealed, but a PIN among them
 * maybe) go once past their TTL even when no other concatenated message comes, over a real bind.
 */
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

let env: SmsEnv;
let telco: TestTelco;

const stored = async (): Promise<number> => Number((await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM sms_mo_parts")).rows[0]!.n);

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-mo-parts-expiry", moPartsTtlSec: 1, moPartsSweepEveryMs: 200 });
  await env.addCustomer("+254712240021", "Kamau Njoroge", "4827", "en", 1_000_00n);
  await env.addServerLink("parts-telco", { maxBinds: 1 });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("parts-telco", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("an incomplete concatenated message", () => {
  it("is swept once past its TTL though no other part arrives", async () => {
    const udh = Buffer.from([0x05, 0x00, 0x03, 77, 2, 1]);
    const first: smpp.PduOptions = {
      source_addr_ton: 1, source_addr_npi: 1, source_addr: "254712240021", destination_addr: "22555", esm_class: 0x40, data_coding: 0,
      short_message: Buffer.concat([udh, encodeSms("BAL ", { reference: 0, maxParts: 1 }).parts[0]!]),
    };
    expect((await telco.request("submit_sm", first)).command_status).toBe(ESME_ROK);
    expect(await stored()).toBe(1);
    // Its second part never comes, nor any other concatenated message.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await stored()).toBe(0);
    expect(telco.pending()).toBe(0);
  });
});
