/**
 * An HTTP aggregator that hands a session id out again (the generic dialect allows it: its ids are
 * the aggregator's) gets each of its sessions metered and charged, not the later one taken for a
 * duplicate of the first (docs/ussd.md). Real generic JSON payloads through the gateway on the real
 * Redis and PostgreSQL, the ledger underneath.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import type { UssdGateway } from "../../src/ussd/gateway.js";
import { genericGateway } from "../helpers/ussd-generic-gateway.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-metering-reuse-0123456789abcdef";
const HEADER = "x-gen-key";
const PHONE = "+254712230011";

let rig: UssdRig;
let gateway: UssdGateway;
let app: express.Express;

const post = (body: object) => request(app).post("/ussd/gen").set(HEADER, SECRET).send(body);
const begin = (sessionId: string) => post({ sessionId, msisdn: PHONE, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" });
const next = (sessionId: string, seq: number, input: string) => post({ sessionId, msisdn: PHONE, serviceCode: "*384#", event: "continue", seq, input, networkCode: "63902" });
const end = (sessionId: string) => post({ sessionId, msisdn: PHONE, serviceCode: "*384#", event: "end", seq: 99 });

async function metered(sessionId: string): Promise<{ stages: number; charge: string; result: string | null }[]> {
  const r = await rig.test.db.query<{ stages: number; charge: string; result: string | null }>(
    "SELECT stages, charge_minor::text AS charge, charge_result AS result FROM metered_sessions WHERE session_id LIKE $1 ORDER BY started_at",
    [`gen:${sessionId}%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "reuse-bank", secret: "unused-at-secret-0123456789abcdef", instances: 1 });
  await rig.customer(PHONE, "Jane Reuse", "en", "4827", 1_000_00n);
  const tariffs = new SqlTariffStore(rig.test.db);
  const telcoId = randomUUID();
  const since = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Reuse Telco", networkCodes: ["63902"], smppLinkIds: [], createdAt: since }, []);
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 0n, perStageMinor: 1n, ceilingMinor: 1_000n, maxStages: 100, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
  ({ gateway, app } = await genericGateway(rig, { secret: SECRET, header: HEADER }));
});

afterAll(async () => {
  await gateway?.close();
  await rig?.close();
});

describe("generic aggregator reusing a session id", () => {
  it("meters and charges each session under the id, not the later one as a duplicate", async () => {
    const sessionId = `reuse-${randomBytes(4).toString("hex")}`;
    expect((await begin(sessionId)).body.action).toBe("continue");
    expect((await end(sessionId)).status).toBe(200);
    await gateway.hops.drain();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, charge: "1", result: "posted" }]);

    // The aggregator opens a new session under the same id.
    await new Promise((r) => setTimeout(r, 5));
    expect((await begin(sessionId)).body.action).toBe("continue");
    expect((await next(sessionId, 1, "9")).body.action).toBe("continue");
    expect((await end(sessionId)).status).toBe(200);
    await gateway.hops.drain();
    await expect
      .poll(() => metered(sessionId), { timeout: 5_000, interval: 50 })
      .toEqual([
        { stages: 1, charge: "1", result: "posted" },
        { stages: 2, charge: "2", result: "posted" },
      ]);
  });

  it("meters a session whose id is as long as the dialect allows (128 characters), by its digest", async () => {
    const sessionId = `long-${randomBytes(4).toString("hex")}-`.padEnd(128, "x");
    expect((await begin(sessionId)).body.action).toBe("continue");
    expect((await end(sessionId)).status).toBe(200);
    await gateway.hops.drain();
    const row = async () =>
      (await rig.test.db.query<{ session_id: string; result: string | null }>("SELECT session_id, charge_result AS result FROM metered_sessions WHERE session_id LIKE 'gen:#%' AND msisdn = $1", [PHONE])).rows;
    await expect.poll(row, { timeout: 5_000, interval: 50 }).toEqual([{ session_id: expect.stringMatching(/^gen:#[A-Za-z0-9_-]{43}@\d{13}$/), result: "posted" }]);
  });
});
