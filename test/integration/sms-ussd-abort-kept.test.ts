/**
 * USSD over SMPP: the network's end of a dialog keeps the session's record closed until it lapses,
 * so a continue of that dialog delivered after the end (reordered, re-sent) hears that the session
 * ended and is not taken for a lost session and metered again (a second charge). Session numbers
 * come back for the same subscriber, but a new dialog always opens with a begin, which still opens
 * its own session under the number, metered on its own. Real sockets and PostgreSQL.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { USSD_DEFAULTS } from "../../src/sms/links/types.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

const PSSR_INDICATION = 1;
const USSR_CONFIRM = 18;
const SUBSCRIBER = "254713120101";

let env: SmsEnv;
let telco: TestTelco;

function ussd(op: number, session: number, sequence: number, text: string, end = false): Promise<smpp.PDU> {
  return telco.mo(SUBSCRIBER, "*384#", text, { ussd_service_op: op, its_session_info: Buffer.from([session, (sequence << 1) | (end ? 1 : 0)]) });
}

async function screen(): Promise<{ end: boolean; text: string }> {
  const pdu = await telco.nextDeliver();
  return { end: ((pdu.its_session_info as Buffer)[1]! & 1) === 1, text: textOf(pdu) };
}

async function metered(session: number) {
  const rows = await env.test.db.query<{ end_reason: string; stages: number }>(
    "SELECT end_reason, stages FROM metered_sessions WHERE session_id LIKE $1 ORDER BY started_at",
    [`smpp-ussd-kept:+${SUBSCRIBER}:${session}@%`],
  );
  return rows.rows;
}

async function until<T>(read: () => Promise<T[]>, length: number): Promise<T[]> {
  for (let i = 0; i < 200; i++) {
    const rows = await read();
    if (rows.length >= length) return rows;
    await new Promise((r) => setTimeout(r, 25));
  }
  return read();
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-ussd-abort-kept" });
  await env.addCustomer(`+${SUBSCRIBER}`, "Imani Kept", "4827", "en", 1_000_00n);
  const tariffs = new SqlTariffStore(env.test.db);
  const telcoId = randomUUID();
  const since = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Kept Telco", networkCodes: [], smppLinkIds: ["ussd-kept"], createdAt: since }, []);
  await tariffs.insertPlan({ id: randomUUID(), telcoId, name: "flat", currency: "KES", perSessionMinor: 10n, perStageMinor: 0n, ceilingMinor: 10n, maxStages: 8, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since }, []);
  await env.addServerLink("ussd-kept", { shortCodes: ["*384#"], ussd: { ...USSD_DEFAULTS, serviceCode: "*384#" } });
  telco = await TestTelco.connect(env.port);
  expect(await telco.bind("ussd-kept", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await telco?.close();
  await env?.close();
});

describe("a continue of an SMPP dialog delivered after the network ended it", () => {
  it("hears that the session ended and is not metered again; a new begin on the number opens its own session", async () => {
    await ussd(PSSR_INDICATION, 41, 0, "*384#");
    const menu = await screen();
    expect(menu.end).toBe(false);
    const choice = /(\d)\. Balance/.exec(menu.text)![1]!;
    // The network ends the dialog (end flag), and the subscriber's answer to the menu arrives after it.
    await ussd(USSR_CONFIRM, 41, 2, "", true);
    expect(await until(() => metered(41), 1)).toEqual([{ end_reason: "abort", stages: 1 }]);
    await ussd(USSR_CONFIRM, 41, 1, choice);
    const late = await screen();
    expect(late.end).toBe(true);
    expect(late.text).toMatch(/session has ended/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(await metered(41)).toHaveLength(1);

    // The subscriber dials again; the network gives the new dialog the same session number.
    await ussd(PSSR_INDICATION, 41, 0, "*384#");
    const again = await screen();
    expect(again.end).toBe(false);
    expect(again.text).toMatch(/Balance/);
    await ussd(USSR_CONFIRM, 41, 1, "", true);
    expect(await until(() => metered(41), 2)).toEqual([
      { end_reason: "abort", stages: 1 },
      { end_reason: "abort", stages: 1 },
    ]);
  });
});
