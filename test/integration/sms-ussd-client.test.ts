/**
 * USSD over SMPP on a client link: fingate binds as an ESME to an operator's USSD gateway (a test
 * gateway on loopback, the `smpp` package's server). The gateway opens and continues sessions with
 * deliver_sm carrying ussd_service_op and its_session_info; our screens go back as submit_sm on the
 * same bind, from the service code to the subscriber, GSM-7 or UCS-2. The same hop processor, menu
 * engine and tariff meter run as for a server link; plain MO SMS and delivery receipts on the link
 * keep working.
 */
import { randomBytes, randomUUID } from "node:crypto";
import smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import type { DeliveryReceipt } from "../../src/sms/mt-link.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { USSD_DEFAULTS } from "../../src/sms/links/types.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { containsPin, openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { startTestSmsc, type AcceptedSubmit, type TestSmsc } from "../helpers/sms-outbox-smsc.js";

const PSSR_INDICATION = 1;
const USSR_REQUEST = 2;
const PSSR_RESPONSE = 17;
const USSR_CONFIRM = 18;
const LINK = "ussd-gw";

let env: SmsEnv;
let gateway: TestSmsc;
/** How many of the gateway's accepted submit_sm the tests have looked at. */
let read = 0;
/** The main menu's option for the balance (the same in every language). */
let balanceChoice = "";

/** Waits (boundedly) for something a socket event will bring about. */
async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | null>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The gateway sends a deliver_sm on our bind and resolves with our deliver_sm_resp. */
function deliver(fields: smpp.PduOptions): Promise<smpp.PDU> {
  const session = gateway.sessions().at(-1);
  if (!session) throw new Error("fingate is not bound to the gateway");
  return new Promise((resolve, reject) => {
    if (!session.send(new smpp.PDU("deliver_sm", fields), resolve)) reject(new Error("gateway socket not writable"));
  });
}

/** A USSD PDU from the network: op, session number, sequence (and end flag) and the subscriber's text. */
function ussd(from: string, op: number, session: number, sequence: number, text: string, options: { ucs2?: boolean; end?: boolean } = {}): Promise<smpp.PDU> {
  const gsm = options.ucs2 ? null : encodeSms(text, { reference: 0, maxParts: 1 });
  return deliver({
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: from,
    dest_addr_ton: 0,
    dest_addr_npi: 0,
    destination_addr: "*384#",
    esm_class: 0,
    data_coding: gsm?.dataCoding ?? 8,
    short_message: gsm?.parts[0] ?? Buffer.from(text, "utf16le").swap16(),
    ussd_service_op: op,
    its_session_info: Buffer.from([session, (sequence << 1) | (options.end ? 1 : 0)]),
  });
}

/** The next submit_sm fingate sent the gateway. */
async function nextSubmit(): Promise<AcceptedSubmit> {
  const submit = await until("a submit_sm", () => gateway.accepted[read]);
  read++;
  return submit;
}

async function screen() {
  const s = await nextSubmit();
  const info = s.pdu.its_session_info as Buffer;
  return {
    op: s.pdu.ussd_service_op as number,
    session: info[0]!,
    sequence: info[1]! >> 1,
    end: (info[1]! & 1) === 1,
    text: s.text,
    dataCoding: s.dataCoding,
    from: String(s.pdu.source_addr),
    to: s.destination,
  };
}

/** The metered session of `sessionId` (the link, the subscriber and the session number; its start time follows "@"). */
async function metered(sessionId: string) {
  return until(`session ${sessionId} metered`, async () => {
    const rows = await env.test.db.query<{ end_reason: string; charge_result: string | null; stages: number }>(
      "SELECT end_reason, charge_result, stages FROM metered_sessions WHERE session_id LIKE $1 || '@%'",
      [sessionId],
    );
    return rows.rows[0]?.charge_result ? rows.rows[0] : null;
  });
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-ussd-client-bank" });
  await env.addCustomer("+254700000001", "Jane Wanjiru", "4827", "en", 2_500_00n);
  await env.addCustomer("+254700000004", "Priya Sharma", "6194", "hi", 300_00n);
  // The operator's tariff: sessions carried by this link are metered against it, paid by the customer.
  const tariffs = new SqlTariffStore(env.test.db);
  const telcoId = randomUUID();
  const now = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Gateway Telco", networkCodes: [], smppLinkIds: [LINK], createdAt: now }, []);
  await tariffs.insertPlan({ id: randomUUID(), telcoId, name: "flat", currency: "KES", perSessionMinor: 10n, perStageMinor: 0n, ceilingMinor: 10n, maxStages: 8, payer: "customer", effectiveFrom: now, createdAt: now, updatedAt: now }, []);
  gateway = await startTestSmsc();
  await env.addClientLink(LINK, gateway.port, { ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } });
  await until("the bind", () => env.sms.manager.status().find((s) => s.id === LINK && s.state === "bound"));
});

afterAll(async () => {
  await env?.close();
  await gateway?.stop();
});

describe("USSD over SMPP on a client link", () => {
  it("runs a session from the dial string to the balance, replying with submit_sm", async () => {
    expect((await ussd("254700000001", PSSR_INDICATION, 41, 0, "*384#")).command_status).toBe(ESME_ROK);
    const menu = await screen();
    expect(menu).toMatchObject({ op: USSR_REQUEST, session: 41, sequence: 1, end: false, dataCoding: 0, from: "*384#", to: "254700000001" });
    expect(menu.text).toContain("Welcome to fingate");
    balanceChoice = /(\d)\. Balance/.exec(menu.text)![1]!;

    await ussd("254700000001", USSR_CONFIRM, 41, 1, balanceChoice);
    expect(await screen()).toMatchObject({ op: USSR_REQUEST, session: 41, sequence: 2, end: false, text: "Enter your PIN:" });

    // The gateway delivers the same hop again: the same screen again, the session not advanced (the
    // PIN below is still taken as the PIN, not as an answer to the PIN prompt's successor).
    expect((await ussd("254700000001", USSR_CONFIRM, 41, 1, balanceChoice)).command_status).toBe(ESME_ROK);
    expect(await screen()).toMatchObject({ op: USSR_REQUEST, sequence: 2, text: "Enter your PIN:" });

    await ussd("254700000001", USSR_CONFIRM, 41, 2, "4827");
    expect(await screen()).toMatchObject({ op: PSSR_RESPONSE, session: 41, sequence: 3, end: true, text: "Your balance is KES 2,500.00.", to: "254700000001" });
    expect(containsPin(env.logs.join("\n"), "4827")).toBe(false);
    // Metered like a server link's session: against the telco that owns the link.
    expect(await metered(`smpp-${LINK}:+254700000001:41`)).toMatchObject({ end_reason: "end", charge_result: "posted" });
  });

  it("speaks Hindi in UCS-2 to a Hindi-speaking customer, paging the menu", async () => {
    await ussd("254700000004", PSSR_INDICATION, 7, 0, "*384#");
    const menu = await screen();
    expect(menu).toMatchObject({ op: USSR_REQUEST, session: 7, end: false, dataCoding: 8, to: "254700000004" });
    expect(menu.text).toMatch(/[\u0900-\u097f]/);
    // The pager fits a UCS-2 screen to 80 characters: the menu goes on behind "98", and "0" comes back.
    expect(menu.text.length).toBeLessThanOrEqual(80);
    expect(menu.text).toMatch(/^98 /m);
    await ussd("254700000004", USSR_CONFIRM, 7, 1, "98");
    const more = await screen();
    expect(more).toMatchObject({ op: USSR_REQUEST, session: 7, sequence: 2, end: false, dataCoding: 8 });
    expect(more.text).not.toBe(menu.text);
    expect(more.text.length).toBeLessThanOrEqual(80);
    await ussd("254700000004", USSR_CONFIRM, 7, 2, "0");
    expect(await screen()).toMatchObject({ sequence: 3, text: menu.text });
    await ussd("254700000004", USSR_CONFIRM, 7, 3, balanceChoice, { ucs2: true });
    expect(await screen()).toMatchObject({ op: USSR_REQUEST, dataCoding: 8, end: false });
    await ussd("254700000004", USSR_CONFIRM, 7, 4, "6194", { ucs2: true });
    const result = await screen();
    expect(result).toMatchObject({ op: PSSR_RESPONSE, session: 7, end: true, dataCoding: 8 });
    expect(result.text).toMatch(/[\u0900-\u097f]/);
    expect(result.text).toContain("300.00");
  });

  it("forgets a session the network ends, and meters it as aborted", async () => {
    await ussd("254700000001", PSSR_INDICATION, 9, 0, "*384#");
    expect((await screen()).end).toBe(false);
    // The subscriber hung up: the network's last PDU carries the end-of-session flag and gets no answer.
    expect((await ussd("254700000001", USSR_CONFIRM, 9, 1, "", { end: true })).command_status).toBe(ESME_ROK);
    expect(await metered(`smpp-${LINK}:+254700000001:9`)).toMatchObject({ end_reason: "abort", charge_result: "posted", stages: 1 });
    await ussd("254700000001", USSR_CONFIRM, 9, 1, balanceChoice);
    // Nothing to continue: the ended record is kept closed until it lapses, so a continue of the
    // session after the network's end hears that it ended (not metered again as a lost session).
    expect(await screen()).toMatchObject({ end: true, text: "This session has ended. Please dial again." });
    expect(gateway.accepted.length).toBe(read);
  });

  it("meters a later session that reuses a session number the network already used", async () => {
    // Session number 41 carried the first test's session, metered then; the network hands it out again.
    await ussd("254700000001", PSSR_INDICATION, 41, 0, "*384#");
    expect((await screen()).end).toBe(false);
    await ussd("254700000001", USSR_CONFIRM, 41, 1, "", { end: true });
    const both = await until("two sessions metered under number 41", async () => {
      const { rows } = await env.test.db.query<{ end_reason: string; charge_result: string | null }>(
        "SELECT end_reason, charge_result FROM metered_sessions WHERE session_id LIKE $1 ORDER BY started_at",
        [`smpp-${LINK}:+254700000001:41@%`],
      );
      return rows.length === 2 && rows.every((r) => r.charge_result) ? rows : null;
    });
    expect(both.map((r) => r.end_reason)).toEqual(["end", "abort"]);
    expect(both.map((r) => r.charge_result)).toEqual(["posted", "posted"]);
  });

  it("answers a re-delivered begin with the same screen and meters the session once", async () => {
    await ussd("254700000001", PSSR_INDICATION, 55, 0, "*384#");
    const first = await screen();
    // Our answer was lost on the way: the network sends the same begin again.
    await ussd("254700000001", PSSR_INDICATION, 55, 0, "*384#");
    expect(await screen()).toMatchObject({ session: 55, sequence: 1, end: false, text: first.text });
    await ussd("254700000001", USSR_CONFIRM, 55, 1, balanceChoice);
    expect((await screen()).text).toBe("Enter your PIN:");
    await ussd("254700000001", USSR_CONFIRM, 55, 2, "4827");
    expect(await screen()).toMatchObject({ op: PSSR_RESPONSE, end: true });
    expect(await metered(`smpp-${LINK}:+254700000001:55`)).toMatchObject({ end_reason: "end", charge_result: "posted" });
    const { rows } = await env.test.db.query("SELECT 1 FROM metered_sessions WHERE session_id LIKE $1", [`smpp-${LINK}:+254700000001:55@%`]);
    expect(rows).toHaveLength(1);
  });

  it("answers a hop delivered twice at once with the same screen, running it once", async () => {
    await ussd("254700000001", PSSR_INDICATION, 12, 0, "*384#");
    expect((await screen()).end).toBe(false);
    const acks = await Promise.all([ussd("254700000001", USSR_CONFIRM, 12, 1, balanceChoice), ussd("254700000001", USSR_CONFIRM, 12, 1, balanceChoice)]);
    expect(acks.map((a) => a.command_status)).toEqual([ESME_ROK, ESME_ROK]);
    const twice = [await screen(), await screen()];
    expect(twice.map((s) => [s.sequence, s.text])).toEqual([
      [2, "Enter your PIN:"],
      [2, "Enter your PIN:"],
    ]);
    await ussd("254700000001", USSR_CONFIRM, 12, 2, "4827");
    const result = await screen();
    expect(result).toMatchObject({ op: PSSR_RESPONSE, session: 12, sequence: 3, end: true });
    expect(result.text).toMatch(/^Your balance is KES 2,49\d\.\d\d\.$/);
  });

  it("still takes plain MO SMS and delivery receipts on the same link", async () => {
    const receipts: DeliveryReceipt[] = [];
    const stop = env.sms.manager.link(LINK)!.onReceipt((r) => receipts.push(r));
    try {
      const text = encodeSms("BAL 6194", { reference: 0 });
      const ack = await deliver({
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: "254700000004",
        destination_addr: "22555",
        esm_class: 0,
        data_coding: text.dataCoding,
        short_message: text.parts[0]!,
      });
      expect(ack.command_status).toBe(ESME_ROK);
      const reply = await nextSubmit();
      expect(reply).toMatchObject({ destination: "254700000004" });
      expect(reply.pdu.ussd_service_op).toBeUndefined();
      // KES 300.00 less the Hindi session's KES 0.10 tariff.
      expect(reply.text).toContain("299.90");

      gateway.sendReceipt(reply.messageId, "DELIVRD");
      const receipt = await until("the receipt", () => receipts[0]);
      expect(receipt).toMatchObject({ linkId: LINK, smscMessageId: reply.messageId });
      // Neither the MO nor the receipt was taken for USSD: no screen went out.
      expect(gateway.accepted.length).toBe(read);
    } finally {
      stop();
    }
  });
});
