/**
 * What the charge sweep tests ask of a test file's USSD rig (read when called, so a file may open
 * it in beforeAll): a telco with a per-stage plan, session charges left unposted, a charge's
 * outcome, and gateways that sweep only when told to (src/ussd/charge-sweep.ts).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { SessionLog } from "../../src/core/tariffs/ports.js";
import { SessionMeter } from "../../src/core/tariffs/metering.js";
import { SqlSessionLog } from "../../src/infra/db/metered-session-store.js";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { ledgerDownForTransfers } from "./ledger-down.js";
import { SILENT, TEST_REDIS_URL, type UssdRig } from "./ussd-rig.js";

const NETWORK = "63902";
const MINUTE = 60_000;

/** phone: the caller of every session; sessions: the log the meter records in (a new SqlSessionLog a call unless given). */
export function chargeSweepKit(rig: () => UssdRig, phone: string, sessions: () => SessionLog = () => new SqlSessionLog(rig().test.db)) {
  const gateways: UssdGateway[] = [];
  return {
    /** A telco on the sessions' network with a plan paid by the bank since `since`: KES 0.10 a session and 0.05 a stage, so 3 stages cost 25. Its id. */
    async perStageTelco(name: string, since: Date): Promise<string> {
      const tariffs = new SqlTariffStore(rig().test.db);
      const telcoId = randomUUID();
      await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name, networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
      await tariffs.insertPlan(
        { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 10n, perStageMinor: 5n, ceilingMinor: 1_000n, maxStages: 8, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
        [],
      );
      return telcoId;
    },

    /** A session metered by a process whose postings all failed (then it stopped, say): recorded, never posted, its outcome unknown. */
    async leftUnposted(sessionId: string, endedAgoMs: number): Promise<void> {
      const r = rig();
      const meter = new SessionMeter({ tariffs: new SqlTariffStore(r.test.db), sessions: sessions(), institutions: r.services.institutions, ledger: ledgerDownForTransfers(r.ledger) });
      const endedAt = new Date(Date.now() - endedAgoMs);
      await expect(
        meter.meter({ sessionId, telco: { networkCode: NETWORK }, institutionId: r.bankId, msisdn: phone, customerAccountId: null, stages: 3, startedAt: new Date(endedAt.getTime() - 30_000), endedAt, endReason: "end" }),
      ).rejects.toThrow("ECONNREFUSED");
    },

    /** The session's charge_result: null while unposted, undefined if it was never recorded. */
    async outcome(sessionId: string): Promise<string | null | undefined> {
      const r = await rig().test.db.query<{ result: string | null }>("SELECT charge_result AS result FROM metered_sessions WHERE institution_id = $1 AND session_id = $2", [rig().bankId, sessionId]);
      return r.rows[0]?.result;
    },

    /** A gateway (another instance, or one restarted) whose sweep has a five-minute grace. */
    async gateway(): Promise<UssdGateway> {
      const r = rig();
      const built = await buildUssdGateway({
        services: r.services,
        ledger: r.ledger,
        logger: SILENT,
        institutionId: r.bankId,
        aggregators: [{ name: "at", dialect: "africastalking", secret: r.secret }],
        secretKey: randomBytes(32),
        sessions: await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: r.prefix }),
        // Swept by hand here: the timer waits an hour.
        chargeSweep: { everyMs: 3_600_000, graceMs: 5 * MINUTE },
      });
      if (!built) throw new Error("the USSD channel did not start");
      gateways.push(built);
      return built;
    },

    /** Closes every gateway made here; before the rig closes. */
    async closeGateways(): Promise<void> {
      for (const g of gateways) await g.close();
    },
  };
}
