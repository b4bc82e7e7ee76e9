/**
 * The sweep of unposted session charges keeps where it reached in the database
 * (charge_sweep_marks), so a gateway stopped for longer than the one-day look-back still posts
 * the charges it left, and the mark only ever moves forward, whichever instance saves it
 * (src/ussd/charge-sweep.ts). Real PostgreSQL and Redis, the real ledger.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionMeter } from "../../src/core/tariffs/metering.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { ledgerDownForTransfers } from "../helpers/ledger-down.js";
import { openUssdRig, SILENT, TEST_REDIS_URL, type UssdRig } from "../helpers/ussd-rig.js";

const PHONE = "+254712960021";
const NETWORK = "63902";
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let rig: UssdRig;
let log: SqlSessionLog;
const gateways: UssdGateway[] = [];

/** A session metered by a process whose postings all failed (then it stopped): recorded, never posted. */
async function leftUnposted(sessionId: string, endedAgoMs: number): Promise<void> {
  const meter = new SessionMeter({ tariffs: new SqlTariffStore(rig.test.db), sessions: log, institutions: rig.services.institutions, ledger: ledgerDownForTransfers(rig.ledger) });
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
  rig = await openUssdRig({ code: "sweep-mark-bank", secret: "sweep-mark-secret-0123456789abcdef", instances: 0 });
  log = new SqlSessionLog(rig.test.db);
  const tariffs = new SqlTariffStore(rig.test.db);
  const telcoId = randomUUID();
  const since = new Date(Date.now() - 10 * DAY);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Mark Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 1_000n, maxStages: 8, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await rig?.close();
});

describe("the charge sweep's saved mark", () => {
  it("lets a gateway stopped for days post the charges it left, and is saved where the sweep reached", async () => {
    // The last sweep before the stop reached four days ago; a session ended three days ago was
    // left unposted when the gateway stopped.
    await log.saveSweepMark(rig.bankId, { endedAt: new Date(Date.now() - 4 * DAY), sessionId: "" });
    const leftBehind = `at:mark-${randomBytes(4).toString("hex")}`;
    await leftUnposted(leftBehind, 3 * DAY);

    const restarted = await gateway();
    expect(await restarted.chargeSweep!.sweep()).toBe(1);
    expect(await outcome(leftBehind)).toBe("posted");

    // Caught up: the mark is where the sweep stopped, five minutes (its grace) back.
    const mark = await log.sweepMark(rig.bankId);
    expect(Date.now() - mark!.endedAt.getTime()).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(Date.now() - mark!.endedAt.getTime()).toBeLessThan(6 * MINUTE);
  });

  it("only moves forward: an instance lagging behind cannot pull it back", async () => {
    const before = await log.sweepMark(rig.bankId);
    await log.saveSweepMark(rig.bankId, { endedAt: new Date(before!.endedAt.getTime() - DAY), sessionId: "zzz" });
    expect(await log.sweepMark(rig.bankId)).toEqual(before);
    // Same instant, a later session id: forward.
    await log.saveSweepMark(rig.bankId, { endedAt: before!.endedAt, sessionId: "at:later" });
    expect(await log.sweepMark(rig.bankId)).toEqual({ endedAt: before!.endedAt, sessionId: "at:later" });
  });

  it("is kept per institution", async () => {
    expect(await log.sweepMark(randomUUID())).toBeNull();
  });

  it("does not stop a restarted gateway from reading the last day: a session recorded after the mark passed its end is still posted", async () => {
    const late = `at:mark-late-${randomBytes(4).toString("hex")}`;
    await leftUnposted(late, 2 * 60 * MINUTE);
    expect((await log.sweepMark(rig.bankId))!.endedAt.getTime()).toBeGreaterThan(Date.now() - 2 * 60 * MINUTE);
    const restarted = await gateway();
    expect(await restarted.chargeSweep!.sweep()).toBe(1);
    expect(await outcome(late)).toBe("posted");
  });
});
