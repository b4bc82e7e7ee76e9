/**
 * The charge sweep walks an institution's metered sessions a page at a time (src/ussd/charge-sweep.ts):
 * a process's first sweep, a day back, no longer reads the whole day at once, and a page of
 * sessions that all ended at the same instant no longer leaves the rest of them unposted for good.
 * Real PostgreSQL, the real meter and ledger; the unposted charges are left by a meter whose
 * ledger's postings all fail, as a process's whose database went away.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { SessionMeter } from "../../src/core/tariffs/metering.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { startChargeSweep, type ChargeSweep } from "../../src/ussd/charge-sweep.js";
import { ledgerDownForTransfers } from "../helpers/ledger-down.js";
import { openUssdRig, SILENT, type UssdRig } from "../helpers/ussd-rig.js";

const PHONE = "+254712640003";
const NETWORK = "63902";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let rig: UssdRig;
let telcoId: string;
const sweeps: ChargeSweep[] = [];

/** A session of 3 stages (25) that ended at `endedAt`, posted or left unposted. */
async function metered(endedAt: Date, posted: boolean): Promise<string> {
  const sessionId = `at:sp-${randomBytes(5).toString("hex")}@${endedAt.getTime() - 30_000}`;
  const ledger = posted ? rig.ledger : ledgerDownForTransfers(rig.ledger);
  const meter = new SessionMeter({ tariffs: new SqlTariffStore(rig.test.db), sessions: new SqlSessionLog(rig.test.db), institutions: rig.services.institutions, ledger });
  const input = { sessionId, telco: { networkCode: NETWORK }, institutionId: rig.bankId, msisdn: PHONE, customerAccountId: null, stages: 3, startedAt: new Date(endedAt.getTime() - 30_000), endedAt, endReason: "end" as const };
  if (posted) expect(await meter.meter(input)).toMatchObject({ ok: true, session: { chargeResult: "posted" } });
  else await expect(meter.meter(input)).rejects.toThrow("ECONNREFUSED");
  return sessionId;
}

async function unposted(ids: string[]): Promise<number> {
  const r = await rig.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM metered_sessions WHERE institution_id = $1 AND session_id = ANY($2) AND charge_result IS NULL", [rig.bankId, ids]);
  return r.rows[0]!.n;
}

const payableCredits = async () => (await rig.ledger.getAccounts([systemAccountId(rig.bankId, { kind: "telco_payable", telcoId })]))[0]?.creditsPosted ?? 0n;

function sweep(options: { batch: number; maxPagesPerSweep: number }): ChargeSweep {
  // Swept by hand: the timer waits an hour.
  const s = startChargeSweep(rig.services.sessionMeter, rig.bankId, SILENT, { everyMs: HOUR, graceMs: 5 * MINUTE, ...options });
  sweeps.push(s);
  return s;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "sweep-paging-bank", secret: "sweep-paging-secret-0123456789abcdef", instances: 0 });
  const tariffs = new SqlTariffStore(rig.test.db);
  telcoId = randomUUID();
  const since = new Date(Date.now() - 48 * HOUR);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Paging Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 1_000n, maxStages: 8, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
});

afterAll(async () => {
  for (const s of sweeps) await s.stop();
  await rig?.close();
});

describe("the charge sweep's pages", () => {
  it("a process's first sweep reads a bounded part of the day; the sweeps after it go on from there and post every charge once", async () => {
    // A day of sessions, one every 40 minutes: two of three posted, every third left unposted.
    const ids: string[] = [];
    const left: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = await metered(new Date(Date.now() - 23 * HOUR + i * 40 * MINUTE - 10 * MINUTE), i % 3 !== 0);
      ids.push(id);
      if (i % 3 === 0) left.push(id);
    }
    expect(await unposted(left)).toBe(10);
    const before = await payableCredits();
    // Pages of 4 sessions, 2 pages a sweep: a sweep reads 8 sessions at most.
    const s = sweep({ batch: 4, maxPagesPerSweep: 2 });
    const first = await s.sweep();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(3);
    expect(await unposted(left)).toBe(10 - first);
    let total = first;
    for (let i = 0; i < 4; i++) total += await s.sweep();
    expect(total).toBe(10);
    expect(await unposted(left)).toBe(0);
    expect((await payableCredits()) - before).toBe(250n);
    expect(await s.sweep()).toBe(0);
  });

  it("a full page of sessions that all ended at the same instant leaves none of them unposted", async () => {
    const endedAt = new Date(Date.now() - 2 * HOUR);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await metered(endedAt, false));
    expect(await unposted(ids)).toBe(12);
    const s = sweep({ batch: 5, maxPagesPerSweep: 100 });
    let total = 0;
    for (let i = 0; i < 3; i++) total += await s.sweep();
    expect(total).toBe(12);
    expect(await unposted(ids)).toBe(0);
  });
});
