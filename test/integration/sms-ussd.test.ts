/**
 * USSD over SMPP: a telco bound to our listener carries USSD sessions as submit_sm with the
 * ussd_service_op TLV and its_session_info; they run through the same hop processor, menu engine
 * and session store as the HTTP dialects, and our screens come back as deliver_sm (USSR request
 * to continue, PSSR response to end). Hindi screens travel as UCS-2.
 */
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { USSD_DEFAULTS } from "../../src/sms/links/types.js";
import { containsPin, openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PSSR_INDICATION = 1;
const USSR_REQUEST = 2;
const PSSR_RESPONSE = 17;
const USSR_CONFIRM = 18;

let env: SmsEnv;
let telco: TestTelco;
/** The main menu's option for the balance (the same in every language). */
let balanceChoice = "";

/** A USSD PDU from the network: op, session number, sequence and the subscriber's text. */
function ussd(t: TestTelco, from: string, op: number, session: number, sequence: number, text: string, ucs2 = false): Promise<smpp.PDU> {
  return t.mo(from, "*384#", text, { ussd_service_op: op, its_session_info: Buffer.from([session, sequence << 1]), ...(ucs2 ? { data_coding: 8 } : {}) });
}

async function screen(): Promise<{ op: number; end: boolean; sequence: number; session: number; text: string; dataCoding: number }> {
  const pdu = await telco.nextDeliver();
  const info = pdu.its_session_info as Buffer;
  return { op: pdu.ussd_service_op as number, session: info[0]!, sequence: info[1]! >> 1, end: (info[1]! & 1) === 1, text: textOf(pdu), dataCoding: pdu.data_coding as number };
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-ussd-bank" });
  await env.addCustomer("+254700000001", "Jane Wanjiru", "4827", "en", 2_500_00n);
  await env.addCustomer("+254700000004", "Priya Sharma", "6194", "hi", 300_00n);
  await env.addServerLink("ussd-telco", { shortCodes: ["*384#"], ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("ussd-telco", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("USSD over SMPP", () => {
  it("runs a session from the dial string to the balance and ends it", async () => {
    expect((await ussd(telco, "254700000001", PSSR_INDICATION, 41, 0, "*384#")).command_status).toBe(ESME_ROK);
    const menu = await screen();
    expect(menu).toMatchObject({ op: USSR_REQUEST, session: 41, sequence: 1, end: false, dataCoding: 0 });
    expect(menu.text).toContain("Welcome to fingate");
    expect(menu.text).toMatch(/\d\. Balance/);
    const choice = /(\d)\. Balance/.exec(menu.text)![1]!;
    balanceChoice = choice;

    await ussd(telco, "254700000001", USSR_CONFIRM, 41, 1, choice);
    expect(await screen()).toMatchObject({ op: USSR_REQUEST, sequence: 2, end: false, text: "Enter your PIN:" });

    // The network re-delivers the same hop: the stored answer, nothing run twice.
    await ussd(telco, "254700000001", USSR_CONFIRM, 41, 1, choice);
    expect(await screen()).toMatchObject({ op: USSR_REQUEST, sequence: 2, text: "Enter your PIN:" });

    await ussd(telco, "254700000001", USSR_CONFIRM, 41, 2, "4827");
    expect(await screen()).toMatchObject({ op: PSSR_RESPONSE, session: 41, sequence: 3, end: true, text: "Your balance is KES 2,500.00." });
    expect(containsPin(env.logs.join("\n"), "4827")).toBe(false);
  });

  it("follows dial-string shortcuts and starts afresh when a session number is reused", async () => {
    await ussd(telco, "254700000001", PSSR_INDICATION, 41, 0, "*384*1#");
    const first = await screen();
    expect(first).toMatchObject({ op: USSR_REQUEST, session: 41, end: false });
    expect(first.text).toBe("Enter your PIN:");
    await ussd(telco, "254700000001", USSR_CONFIRM, 41, 1, "4827");
    expect(await screen()).toMatchObject({ op: PSSR_RESPONSE, end: true, text: "Your balance is KES 2,500.00." });
  });

  it("speaks Hindi in UCS-2 to a Hindi-speaking customer", async () => {
    await ussd(telco, "254700000004", PSSR_INDICATION, 7, 0, "*384#");
    const menu = await screen();
    expect(menu).toMatchObject({ op: USSR_REQUEST, session: 7, end: false, dataCoding: 8 });
    expect(menu.text).toMatch(/[\u0900-\u097f]/);
    expect(menu.text.length).toBeLessThanOrEqual(80);
    await ussd(telco, "254700000004", USSR_CONFIRM, 7, 1, balanceChoice);
    const ask = await screen();
    expect(ask).toMatchObject({ op: USSR_REQUEST, dataCoding: 8, end: false });
    await ussd(telco, "254700000004", USSR_CONFIRM, 7, 2, "6194");
    const result = await screen();
    expect(result).toMatchObject({ op: PSSR_RESPONSE, session: 7, end: true, dataCoding: 8 });
    expect(result.text).toMatch(/[\u0900-\u097f]/);
    expect(result.text).toContain("300.00");
  });

  it("forgets a session the network aborts", async () => {
    await ussd(telco, "254700000001", PSSR_INDICATION, 9, 0, "*384#");
    expect((await screen()).end).toBe(false);
    // The subscriber hung up: the network's last PDU carries the end-of-session flag.
    await telco.mo("254700000001", "*384#", "", { ussd_service_op: USSR_CONFIRM, its_session_info: Buffer.from([9, (1 << 1) | 1]) });
    await ussd(telco, "254700000001", USSR_CONFIRM, 9, 1, balanceChoice);
    // Nothing to continue: the ended record is kept closed until it lapses, so a continue of the
    // session after the network's end hears that it ended (not metered again as a lost session).
    const after = await screen();
    expect(after).toMatchObject({ end: true, text: "This session has ended. Please dial again." });
    expect(telco.pending()).toBe(0);
  });
});
