/**
 * USSD over SMPP when the network ends a session while our answer to its last PDU is still being
 * computed (a PIN check, a payment): the screen must not go out after the end, where it reaches a
 * dialog that is gone or, the session number being reused, the subscriber's next dial.
 */
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USSD_DEFAULTS } from "../../src/sms/links/types.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PSSR_INDICATION = 1;
const USSR_CONFIRM = 18;
const SUBSCRIBER = "254712240011";

let env: SmsEnv;
let telco: TestTelco;

function ussd(op: number, session: number, sequence: number, text: string, end = false): Promise<smpp.PDU> {
  return telco.mo(SUBSCRIBER, "*384#", text, { ussd_service_op: op, its_session_info: Buffer.from([session, (sequence << 1) | (end ? 1 : 0)]) });
}

async function screen(): Promise<{ session: number; end: boolean; text: string }> {
  const pdu = await telco.nextDeliver();
  const info = pdu.its_session_info as Buffer;
  return { session: info[0]!, end: (info[1]! & 1) === 1, text: textOf(pdu) };
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-ussd-abort" });
  await env.addCustomer(`+${SUBSCRIBER}`, "Achieng Otieno", "4827", "en", 2_500_00n);
  await env.addServerLink("ussd-abort", { shortCodes: ["*384#"], ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("ussd-abort", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("a session the network ends while its hop runs", () => {
  it("gets no screen after the end, and a new dial on its number gets only its own", async () => {
    await ussd(PSSR_INDICATION, 12, 0, "*384#");
    const menu = await screen();
    const choice = /(\d)\. Balance/.exec(menu.text)![1]!;
    await ussd(USSR_CONFIRM, 12, 1, choice);
    expect((await screen()).text).toBe("Enter your PIN:");
    // The PIN goes in, and the subscriber hangs up before our answer (the PIN check takes a while).
    await Promise.all([ussd(USSR_CONFIRM, 12, 2, "4827"), ussd(USSR_CONFIRM, 12, 3, "", true)]);
    // They dial again at once; the network gives the new dialog the same session number.
    await ussd(PSSR_INDICATION, 12, 0, "*384#");
    const next = await screen();
    expect(next).toMatchObject({ session: 12, end: false });
    expect(next.text).toContain("Welcome to fingate");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(telco.pending()).toBe(0);
  });
});
