/**
 * A session charge recorded but never posted (its posting failed through every try of the process
 * that metered it, or the process stopped) is posted by the gateways' sweep, once, however many
 * instances sweep at the same time; a charge still within its metering process's grace is left
 * to it (src/ussd/charge-sweep.ts). Real PostgreSQL and Redis, the real ledger.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { sessionChargeTransferId } from "../../src/core/tariffs/metering.js";
import { chargeSweepKit } from "../helpers/ussd-charge-sweep-kit.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const PHONE = "+254712230021";
const MINUTE = 60_000;

let rig: UssdRig;
let telcoId: string;
const { perStageTelco, leftUnposted, outcome, gateway, closeGateways } = chargeSweepKit(() => rig, PHONE);

beforeAll(async () => {
  rig = await openUssdRig({ code: "sweep-bank", secret: "sweep-secret-0123456789abcdef0123", instances: 0 });
  // KES 0.10 a session and 0.05 a stage, paid by the bank: 3 stages cost 25.
  telcoId = await perStageTelco("Sweep Telco", new Date(Date.now() - 60 * MINUTE));
});

afterAll(async () => {
  await closeGateways();
  await rig?.close();
});

describe("session charges left unposted", () => {
  it("are posted by the gateways' sweep once, even with two instances sweeping at the same time; recent ones are left to their process", async () => {
    const stale = `at:sweep-${randomBytes(4).toString("hex")}@${Date.now() - 10 * MINUTE}`;
    const recent = `at:sweep-${randomBytes(4).toString("hex")}@${Date.now() - 2 * MINUTE}`;
    await leftUnposted(stale, 9 * MINUTE);
    await leftUnposted(recent, MINUTE);
    expect([await outcome(stale), await outcome(recent)]).toEqual([null, null]);

    const [a, b] = [await gateway(), await gateway()];
    const swept = await Promise.all([a.chargeSweep!.sweep(), b.chargeSweep!.sweep()]);
    expect(swept.reduce((n, s) => n + s, 0)).toBeGreaterThanOrEqual(1);
    expect(await outcome(stale)).toBe("posted");
    expect(await outcome(recent)).toBeNull();

    const payable = systemAccountId(rig.bankId, { kind: "telco_payable", telcoId });
    const charge = await rig.ledger.getTransfer(sessionChargeTransferId(rig.bankId, stale));
    expect(charge).toMatchObject({ creditAccountId: payable, amountMinor: 25n, code: "ussd_session" });
    const [account] = await rig.ledger.getAccounts([payable]);
    expect(account!.creditsPosted).toBe(25n);

    // Swept again: nothing more is read, nothing posted twice.
    expect(await a.chargeSweep!.sweep()).toBe(0);
    expect((await rig.ledger.getAccounts([payable]))[0]!.creditsPosted).toBe(25n);
  });
});
