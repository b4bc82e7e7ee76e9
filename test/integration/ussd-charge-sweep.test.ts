/**
 * A session charge recorded but never posted (its posting failed through every try of the process
 * that metered it, or the process stopped) is posted by the gateways' sweep, once, however many
 * instances sweep at the same time; a charge still within its metering process's grace is left
 * to it (src/ussd/charge-sweep.ts). Real PostgreSQL and Redis, the real ledger.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { SessionMeter, sessionChargeTransferId } from "../../src/core/tariffs/metering.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { ledgerDownForTransfers } from "../helpers/ledger-down.js";
import { openUssdRig, SILENT, TEST_REDIS_URL, type UssdRig } from "../helpers/ussd-rig.js";

const PHONE = "+254712230021";
const NETWORK = "63902";
const MINUTE = 60_000;

let rig: UssdRig;
let telcoId: string;
const gateways: UssdGateway[] = [];

/** A session metered by a process whose postings all failed: recorded, its outcome unknown. */
async function leftUnposted(sessionId: string, endedAgoMs: number): Promise<void> {
  const meter = new SessionMeter({ tariffs: new SqlTariffStore(rig.test.db), sessions: new SqlSessionLog(rig.test.db), institutions: rig.services.institutions, ledger: ledgerDownForTransfers(rig.ledger) });
  const endedAt = new Date(Date.now() - endedAgoMs);
  await expect(
    meter.meter({ sessionId, telco: { networkCode: NETWORK }, institutionId: rig.bankId, msisdn: PHONE, customerAccountId: null, stages: 3, startedAt: new Date(endedAt.getTime() - 30_000), endedAt, endReason: "end" }),
  ).rejects.toThrow("ECONNREFUSED");
}

async function outcome(sessionId: string): Promise<string | null | undefined> {
  const r = await rig.test.db.query<{ result: string | null }>("SELECT charge_result AS result FROM metered_sessions WHERE institution_id = $1 AND session_id = $2", [rig.bankId, sessionId]);
  return r.rows[0]?.result;
}

async function gateway(): Promise<UssdGateway> {
  const built = await buildUssdGateway({
    services: rig.services,
    ledger: rig.ledger,
    logger: SILENT,
    institutionId: rig.bankId,
    aggregators: [{ name: "at", dialect: "africastalking", secret: rig.secret }],
    secretKey: randomBytes(32),
    sessions: await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: rig.prefix }),
    // Swept by hand here: the timer waits an hour.
    chargeSweep: { everyMs: 3_600_000, graceMs: 5 * MINUTE },
  });
  if (!built) throw new Error("the USSD channel did not start");
  gateways.push(built);
  return built;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "sweep-bank", secret: "sweep-secret-0123456789abcdef0123", instances: 0 });
  const tariffs = new SqlTariffStore(rig.test.db);
  telcoId = randomUUID();
  const since = new Date(Date.now() - 60 * MINUTE);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Sweep Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
  // KES 0.10 a session and 0.05 a stage, paid by the bank: 3 stages cost 25.
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 1_000n, maxStages: 8, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
});

afterAll(async () => {
  for (const g of gateways) await g.close();
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
