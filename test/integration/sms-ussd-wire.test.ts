/**
 * USSD over SMPP on the wire, as a telco's gateway reads it (real sockets, PostgreSQL): the
 * its_session_info our screens carry across the 7-bit sequence wrap, an older PDU re-sent late
 * that runs nothing, a vendor abort op that ends and meters the session, and a link that names
 * sessions by user_message_reference (its screens carry that field, USSR request then PSSR
 * response). A dial the network releases at once leaves no session open.
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
const USSR_REQUEST = 2;
const PSSR_RESPONSE = 17;
const USSR_CONFIRM = 18;
/** The vendor's op for a dialog the network released (configured on the link). */
const VENDOR_ABORT = 33;
const NUMBERED = "254712740001";
const REFERENCED = "254712740002";
const HUNG_UP = "254712740003";

let env: SmsEnv;
let numbered: TestTelco;
let referenced: TestTelco;

async function screen(t: TestTelco) {
  const pdu = await t.nextDeliver();
  const info = Buffer.isBuffer(pdu.its_session_info) ? [...pdu.its_session_info] : null;
  return { op: pdu.ussd_service_op as number, info, reference: pdu.user_message_reference as number | undefined, text: textOf(pdu) };
}

function ussd(op: number, session: number, sequence: number, text: string): Promise<smpp.PDU> {
  return numbered.mo(NUMBERED, "*384#", text, { ussd_service_op: op, its_session_info: Buffer.from([session, sequence << 1]) });
}

async function metered(like: string): Promise<{ end_reason: string; stages: number }> {
  for (let i = 0; i < 200; i++) {
    const rows = await env.test.db.query<{ end_reason: string; stages: number }>("SELECT end_reason, stages FROM metered_sessions WHERE session_id LIKE $1", [like]);
    if (rows.rows.length > 0) {
      expect(rows.rows).toHaveLength(1);
      return rows.rows[0]!;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${like} not metered`);
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-ussd-wire" });
  await env.addCustomer(`+${NUMBERED}`, "Achieng Otieno", "4827", "en", 2_500_00n);
  await env.addCustomer(`+${REFERENCED}`, "Wanjiku Kamau", "6194", "en", 1_000_00n);
  const tariffs = new SqlTariffStore(env.test.db);
  const telcoId = randomUUID();
  const now = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Wire Telco", networkCodes: [], smppLinkIds: ["ussd-wire", "ussd-wire-umr"], createdAt: now }, []);
  await tariffs.insertPlan({ id: randomUUID(), telcoId, name: "flat", currency: "KES", perSessionMinor: 10n, perStageMinor: 0n, ceilingMinor: 10n, maxStages: 8, payer: "customer", effectiveFrom: now, createdAt: now, updatedAt: now }, []);
  await env.addServerLink("ussd-wire", { maxBinds: 2, shortCodes: ["*384#"], ussd: { ...USSD_DEFAULTS, serviceCode: "*384#", abortOps: [VENDOR_ABORT] } });
  await env.addServerLink("ussd-wire-umr", { shortCodes: ["*384#"], ussd: { ...USSD_DEFAULTS, serviceCode: "*384#", sessionField: "user_message_reference" } });
  numbered = await TestTelco.connect(env.port);
  expect(await numbered.bind("ussd-wire", "Secret1!")).toBe(ESME_ROK);
  referenced = await TestTelco.connect(env.port);
  expect(await referenced.bind("ussd-wire-umr", "Secret1!")).toBe(ESME_ROK);
});

afterAll(async () => {
  await numbered?.close();
  await referenced?.close();
  await env?.close();
});

describe("USSD over SMPP on the wire", () => {
  it("numbers screens across the sequence wrap, runs nothing for a PDU re-sent late, and meters the vendor's abort", async () => {
    await ussd(PSSR_INDICATION, 200, 126, "*384#");
    const menu = await screen(numbered);
    // Sequence 127, end flag clear: a USSR request that waits for the answer.
    expect(menu).toMatchObject({ op: USSR_REQUEST, info: [200, 127 << 1] });
    const choice = /(\d)\. Balance/.exec(menu.text)![1]!;
    await ussd(USSR_CONFIRM, 200, 127, choice);
    // 127 + 1 wraps to 0 (the octet is 0: sequence 0, end flag clear).
    expect(await screen(numbered)).toMatchObject({ op: USSR_REQUEST, info: [200, 0], text: "Enter your PIN:" });
    // A PDU of the older sequence 126 arriving late: the current screen, its text not read as a PIN.
    await ussd(USSR_CONFIRM, 200, 126, "1234");
    expect(await screen(numbered)).toMatchObject({ op: USSR_REQUEST, text: "Enter your PIN:" });
    // The network releases the dialog with its own op: no screen, the session metered as aborted.
    await ussd(VENDOR_ABORT, 200, 0, "");
    expect(await metered(`smpp-ussd-wire:+${NUMBERED}:200@%`)).toEqual({ end_reason: "abort", stages: 2 });
    await new Promise((r) => setTimeout(r, 300));
    expect(numbered.pending()).toBe(0);
  });

  it("a dial released at once (begin and end flag back to back) leaves no session open", async () => {
    // The release reached us while the begin was still ending the number's previous session: the
    // begin's hop then ran after the release's end, and left a session open that nothing ended or
    // metered until its idle end (4 of 10 dials here).
    for (let number = 0; number < 12; number++) {
      await Promise.all([
        numbered.mo(HUNG_UP, "*384#", "*384#", { ussd_service_op: PSSR_INDICATION, its_session_info: Buffer.from([number, 0]) }),
        numbered.mo(HUNG_UP, "*384#", "", { ussd_service_op: USSR_CONFIRM, its_session_info: Buffer.from([number, (1 << 1) | 1]) }),
      ]);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await env.gateway.hops.openSessions!(`smpp-ussd-wire:+${HUNG_UP}`, 100)).toEqual([]);
    while (numbered.pending() > 0) await numbered.nextDeliver();
  });

  it("answers each dialog on the bind it came in on, not round robin over the link's binds", async () => {
    // A USSD gateway whose nodes each bind and keep their own dialogs: a screen sent to the other
    // node reaches no one (2 of 4 went there before).
    const other = await TestTelco.connect(env.port);
    try {
      expect(await other.bind("ussd-wire", "Secret1!")).toBe(ESME_ROK);
      for (let i = 0; i < 4; i++) {
        await numbered.mo(`25471274002${i}`, "*384#", "*384#", { ussd_service_op: PSSR_INDICATION, its_session_info: Buffer.from([60 + i, 0]) });
      }
      await expect.poll(() => numbered.pending() + other.pending(), { timeout: 10_000 }).toBe(4);
      expect(other.pending()).toBe(0);
      for (let i = 0; i < 4; i++) expect((await screen(numbered)).op).toBe(USSR_REQUEST);
    } finally {
      await other.close();
    }
  });

  it("answers a user_message_reference link in that field: USSR request, then PSSR response", async () => {
    const mo = (text: string, op: number) => referenced.mo(REFERENCED, "*384#", text, { ussd_service_op: op, user_message_reference: 700 });
    await mo("*384#", PSSR_INDICATION);
    const menu = await screen(referenced);
    expect(menu).toMatchObject({ op: USSR_REQUEST, info: null, reference: 700 });
    await mo(/(\d)\. Balance/.exec(menu.text)![1]!, USSR_CONFIRM);
    expect(await screen(referenced)).toMatchObject({ op: USSR_REQUEST, reference: 700, text: "Enter your PIN:" });
    await mo("6194", USSR_CONFIRM);
    expect(await screen(referenced)).toMatchObject({ op: PSSR_RESPONSE, info: null, reference: 700, text: "Your balance is KES 1,000.00." });
    expect(await metered(`smpp-ussd-wire-umr:+${REFERENCED}:700@%`)).toEqual({ end_reason: "end", stages: 3 });
  });
});
