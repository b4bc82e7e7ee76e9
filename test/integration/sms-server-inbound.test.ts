/**
 * What a telco bound to our listener may send, over real sockets on the real core: a USSD PDU on
 * a link without USSD options is refused and logged (a client link drops it), not run as an SMS
 * command; and a session may keep only so many PDUs unanswered at once (SMPP's window), the rest
 * answered ESME_RTHROTTLED, on a link without a throughput cap too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
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
  // Neither has USSD options nor a throughput cap.
  await env.addServerLink("plain-sms", { maxBinds: 2 });
  await env.addServerLink("burst", { maxBinds: 2, shortCodes: ["22556"] });
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

describe("PDUs in flight on one session", () => {
  it("are bounded: beyond the window the telco gets ESME_RTHROTTLED, and the session goes on", async () => {
    const t = await bound("burst");
    // 300 subscribers' messages at once, each needing database work before its answer.
    const distinct = Array.from({ length: 300 }, (_, i) => `254712211${String(i).padStart(3, "0")}`);
    expect(new Set(distinct).size).toBe(300);
    const statuses = await Promise.all(distinct.map((n) => t.mo(n, "22556", "HELP").then((r) => r.command_status)));
    const ok = statuses.filter((s) => s === ESME_ROK).length;
    const throttled = statuses.filter((s) => s === ESME_RTHROTTLED).length;
    // Before the fix: all 300 ESME_ROK at once (no window on a link without a cap).
    expect(throttled).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    expect(ok + throttled).toBe(300);
    expect(env.sms.admin.status().find((s) => s.id === "burst")!.throttled).toBeGreaterThanOrEqual(throttled);
    // The window frees as the commands taken finish (not as soon as they are answered: their
    // runs count too): the telco's message sent again is then taken.
    await expect.poll(async () => (await t.mo("254712211999", "22556", "HELP")).command_status, { timeout: 10_000, interval: 50 }).toBe(ESME_ROK);
    // Those taken are answered (and the telco is still bound when the replies go).
    const taken = distinct.filter((_, i) => statuses[i] === ESME_ROK);
    for (const n of [...taken, "254712211999"]) expect(textOf(await t.nextDeliverTo(n))).toMatch(/^BAL <PIN> balance\./);
  });
});
