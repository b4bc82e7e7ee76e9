// The SIM-swap cooling allowance is a total over the whole time a number cools, not per report: a
// second report while the number is still cooling (the telco reporting the same swap again, or a
// second swap) shares what is left, else a SIM thief would double what they can take by getting
// the number reported again. A report after the number's cooling had fully ended starts anew.
// Over real PostgreSQL, through P2P sends; the services' clock is moved forward for the later reports.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const TELCO = { actor: { type: "telco" as const, id: "safaricom" }, channel: "api" as const };
const HOUR_MS = 3_600_000;

describe("SIM-swap cooling allowance over overlapping reports", () => {
  let w: AgentsWorld;
  let payee: Customer;
  let n = 0;

  const customer = async (range = "071262"): Promise<Customer> => {
    const c = await w.register(`${range}${String(++n).padStart(4, "0")}`, "Swap Achieng", "4827");
    await w.fund(c.walletAccountId, 50_000n);
    return c;
  };
  /** A swap of c's SIM reported by the telco, occurring `hoursAgo` before the services' now. */
  const report = async (c: Customer, hoursAgo = 0): Promise<void> => {
    const occurredAt = new Date(Date.now() + w.clock.offsetMs - hoursAgo * HOUR_MS);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap", occurredAt })).ok).toBe(true);
  };
  const send = (from: Customer, amountMinor: bigint) =>
    w.services.payments.sendP2P({ payerCustomerId: from.id, payerMsisdn: from.msisdn, payee: payee.msisdn, amountMinor, channel: "ussd", paymentId: uuidv7(), pin: "4827" });

  beforeAll(async () => {
    w = await openAgentsWorld("swap-runs");
    await w.services.fees.put(w.institutionId, "p2p", { type: "p2p", agentShareBps: 0, bands: [{ minMinor: 1n, maxMinor: 1_000_000n, feeMinor: 0n }] }, new Date(), () => []);
    payee = await customer();
  });
  afterEach(() => {
    w.clock.offsetMs = 0;
  });
  afterAll(async () => {
    await w.verify();
    await w.close();
  });

  it("shares one allowance between a report and the telco's re-report of the same swap", async () => {
    const c = await customer();
    const occurredAt = new Date(Date.now() - HOUR_MS);
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap", occurredAt })).ok).toBe(true);
    expect(await send(c, 600n)).toMatchObject({ ok: true });
    // The same swap reported again: recorded again (reports are evidence), but no fresh allowance.
    expect((await w.services.simSwap.report({ ...TELCO, msisdn: c.msisdn, kind: "sim_swap", occurredAt })).ok).toBe(true);
    expect(await send(c, 600n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, 400n)).toMatchObject({ ok: true });
    expect(await send(c, 1n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
  });

  it("shares one allowance with a second swap reported while the number still cools, until that cooling ends too", async () => {
    const c = await customer();
    await report(c);
    expect(await send(c, 600n)).toMatchObject({ ok: true });
    // A day later, a second swap: its cooling overlaps the first's, the number has cooled all along.
    w.clock.offsetMs = 24 * HOUR_MS;
    await report(c);
    expect(await send(c, 600n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, 400n)).toMatchObject({ ok: true });
    // Past the first report's cooling (72 hours), inside the second's: still the same total.
    w.clock.offsetMs = 80 * HOUR_MS;
    expect(await send(c, 1n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    // Both over: no limit at all.
    w.clock.offsetMs = 97 * HOUR_MS;
    expect(await send(c, 5_000n)).toMatchObject({ ok: true });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 1_000n - 5_000n);
  });

  it("starts a new allowance for a swap reported after the number's cooling had fully ended", async () => {
    const c = await customer();
    await report(c);
    expect(await send(c, 1_000n)).toMatchObject({ ok: true });
    w.clock.offsetMs = 100 * HOUR_MS;
    await report(c);
    expect(await send(c, 600n)).toMatchObject({ ok: true });
    expect(await send(c, 401n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
  });

  it("counts what both runs spent when a late report joins two coolings into one", async () => {
    const c = await customer("071277");
    await report(c);
    expect(await send(c, 600n)).toMatchObject({ ok: true });
    // 100 hours on, a new swap: the first cooling had ended, a new allowance.
    w.clock.offsetMs = 100 * HOUR_MS;
    await report(c);
    expect(await send(c, 300n)).toMatchObject({ ok: true });
    // Then a report of a swap 50 hours after the first (occurring inside the first cooling, with
    // the second swap inside its own): the number cooled all along, one allowance for the whole
    // of it, of which 600 + 300 are spent.
    await report(c, 50);
    expect(await send(c, 101n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, 100n)).toMatchObject({ ok: true });
    expect(await send(c, 1n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await w.balance(c.walletAccountId)).toBe(50_000n - 1_000n);
  });

  it("counts what both runs spent when a late report joins them before the later one spent", async () => {
    const c = await customer("071277");
    await report(c);
    expect(await send(c, 700n)).toMatchObject({ ok: true });
    w.clock.offsetMs = 100 * HOUR_MS;
    await report(c);
    await report(c, 50);
    expect(await send(c, 301n)).toMatchObject({ ok: false, code: "sim_swap_cooling" });
    expect(await send(c, 300n)).toMatchObject({ ok: true });
  });
});
