/**
 * Send money over Africa's Talking, end to end: a payee the bank blocked or closed gets, before any
 * PIN, the very screens an unknown number gets ("This number or alias cannot be paid."), by number
 * or by pseudonym, so a caller cannot sort numbers into blocked customers and strangers; the bank's
 * audit log records the attempt on the blocked one. A payable payee's masked name is still shown.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-payee-enum-secret-0123456789abcdef";
const CANNOT_PAY = "CON This number or alias cannot be paid.\nEnter the phone number or alias to pay:";

let rig: UssdRig;

beforeAll(async () => {
  rig = await openUssdRig({ code: "payee-enum-bank", secret: SECRET, p2pFee: true });
});
afterAll(() => rig?.close());

describe("USSD send money to a blocked, closed or unknown payee (PostgreSQL + Redis)", () => {
  it("answers the same screens for blocked, closed and unknown payees, and the bank's audit log tells them apart", async () => {
    const blocked = await rig.customer("+254712794002", "Tom Kiprono", "en", "5831", 0n);
    const closed = await rig.customer("+254712794003", "Una Moraa", "en", "3917", 0n);
    await rig.customer("+254712794004", "Samuel Mutua", "en", "2857", 0n);
    const system = { actorType: "system" as const, actorId: "e2e", channel: "system" as const };
    expect((await rig.services.directory.claimAlias(system, blocked.id, "tom.kip")).ok).toBe(true);
    const bank = { actorType: "bank_user" as const, actorId: "e2e-bank", channel: "admin" as const, institutionId: rig.bankId };
    expect((await rig.services.directory.setStatus(bank, blocked.id, "blocked")).ok).toBe(true);
    expect((await rig.services.directory.setStatus(bank, closed.id, "closed")).ok).toBe(true);

    // Each probe from a payer of its own, so that no session of the last probe is offered to resume.
    let probes = 0;
    const probePayer = async () => {
      const phone = `+2547127941${String(probes++).padStart(2, "0")}`;
      return { phone, customer: await rig.customer(phone, "Probe Payer", "en", "4827", 1_000_00n) };
    };
    const screens = async (session: string, payee: string) => {
      const replies = await rig.walk(session, (await probePayer()).phone, ["2", payee]);
      expectOnAir(replies);
      return replies;
    };
    const unknown = await screens("enum-unknown", "0712794099");
    expect(unknown.at(-1)).toBe(CANNOT_PAY);
    for (const [session, payee] of [["enum-blocked", "0712794002"], ["enum-blocked-intl", "+254712794002"], ["enum-alias", "tom.kip"], ["enum-closed", "0712794003"]] as const) {
      expect(await screens(session, payee), payee).toEqual(unknown);
    }
    // A dial-string shortcut with an amount answers the same as well.
    const shortcut = async (session: string, payee: string) => (await rig.post(0, session, (await probePayer()).phone, `2*${payee}*100`)).text;
    expect(await shortcut("enum-sc-blocked", "0712794002")).toBe(await shortcut("enum-sc-unknown", "0712794099"));
    // The payer must still confirm a payable payee's masked name.
    expect((await screens("enum-active", "0712794004")).at(-1)).toBe("CON Pay SAMUEL M***. Enter the amount in KES:");

    const audit = await rig.test.db.query<{ subject: string; actor_id: string; channel: string; payload: Record<string, unknown> }>(
      "SELECT subject, actor_id, channel, payload FROM audit_log WHERE action = 'directory.payee.lookup' ORDER BY seq",
    );
    const onBlocked = audit.rows.filter((r) => r.subject === blocked.id);
    // One entry per lookup whose answer was given: the three screens and the shortcut that asked for the blocked payee.
    expect(onBlocked.length).toBe(4);
    const payers = new Set((await rig.test.db.query<{ id: string }>("SELECT id FROM customers WHERE msisdn LIKE '+2547127941%'")).rows.map((r) => r.id));
    for (const row of onBlocked) {
      expect(row).toMatchObject({ channel: "ussd", payload: { code: "payee_unavailable", status: "blocked" } });
      expect(payers.has(row.actor_id)).toBe(true);
    }
    expect(audit.rows.filter((r) => r.subject === closed.id).map((r) => r.payload.status)).toEqual(["closed"]);
  });
});
