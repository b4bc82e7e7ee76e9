/**
 * Hubtel and the generic dialect send no end notice after our END, so a session one of our error
 * ENDs ended is closed and metered by the gateway itself. When that close met another instance's
 * lock (its hop of the same session under way: the aggregator's retry went to both), it gave up at
 * once, and the session stayed open and unmetered for good. It now waits for the lock and meters the
 * session once. Real Hubtel and generic JSON payloads to two gateway instances sharing sessions in
 * the real Redis, over the real core on PostgreSQL; the other instance's hop is held up by a stall of
 * its own database connection (a proxy of this file's), and its meter is the rig's.
 */
import { randomBytes } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import type { CoreServices } from "../../src/services.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import type { TcpProxy } from "../helpers/tcp-proxy.js";
import { addBankPaidPlan, coreThroughProxy, proxyToTestDb } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, SILENT, TEST_REDIS_URL, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-close-locked-0123456789abcdef";
const PHONE = "+254712640002";
const SECRET_KEY = randomBytes(32);
const AGGREGATORS: AggregatorConfig[] = [
  { name: "hubtel", dialect: "hubtel", secret: SECRET, networkCode: "63902" },
  { name: "gen", dialect: "generic", secret: SECRET, networkCode: "63902" },
];

let rig: UssdRig;
let proxy: TcpProxy;
const gateways: UssdGateway[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

async function instance(services: CoreServices, ledger: Ledger): Promise<{ gateway: UssdGateway; app: express.Express }> {
  const gateway = await buildUssdGateway({
    services: { ...services, sessionMeter: rig.services.sessionMeter },
    ledger,
    logger: SILENT,
    institutionId: rig.bankId,
    aggregators: AGGREGATORS,
    secretKey: SECRET_KEY,
    sessions: await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: rig.prefix }),
    // A hop that finds the session's lock taken answers "busy" soon.
    hopLimits: { lockWaitMs: 200 },
  });
  if (!gateway) throw new Error("the USSD channel did not start");
  gateways.push(gateway);
  const app = express();
  app.use(gateway.router);
  return { gateway, app };
}

/** An instance whose menus read the database through the proxy. */
async function proxiedInstance() {
  proxy = await proxyToTestDb();
  const { services, ledger } = coreThroughProxy(rig, proxy, cleanups);
  return instance(services, ledger);
}

const BEGIN: Record<string, (sessionId: string) => object> = {
  hubtel: (SessionId) => ({ Type: "Initiation", Mobile: PHONE.slice(1), SessionId, ServiceCode: "384", Message: "*384#", Operator: "unknown-net", Sequence: 1, ClientState: "" }),
  gen: (sessionId) => ({ sessionId, msisdn: PHONE, serviceCode: "*384#", event: "begin", seq: 0, input: "" }),
};
const ENDS: Record<string, (body: Record<string, unknown>) => boolean> = {
  hubtel: (body) => body.Type === "release",
  gen: (body) => body.action === "end",
};

async function metered(aggregator: string, sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string }>("SELECT stages, end_reason FROM metered_sessions WHERE session_id LIKE $1", [`${aggregator}:${sessionId}@%`]);
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "close-locked-bank", secret: SECRET, instances: 0 });
  await addBankPaidPlan(rig, { perSessionMinor: 0n, perStageMinor: 1n });
});

afterAll(async () => {
  for (const g of gateways) await g.close().catch(() => undefined);
  await rig?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe.each(["hubtel", "gen"])("%s: our busy END while another instance's hop holds the session", (aggregator) => {
  it("is metered once that hop is over, with the screen it showed", async () => {
    const a = await instance(rig.services, rig.ledger);
    const b = await proxiedInstance();
    const sessionId = `cl-${randomBytes(4).toString("hex")}`;
    const body = BEGIN[aggregator]!(sessionId);
    // The dial reaches b, whose read of the caller stalls while it holds the session's lock.
    proxy.stall();
    const slow = request(b.app).post(`/ussd/${aggregator}`).set("x-fingate-secret", SECRET).send(body);
    const answered = slow.then((r) => r);
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:${aggregator}:${sessionId}`), { timeout: 3_000, interval: 20 }).toBe(1);
    // The aggregator's retry of it reaches a, which finds the lock taken: END (busy).
    const busy = await request(a.app).post(`/ussd/${aggregator}`).set("x-fingate-secret", SECRET).send(body);
    expect(busy.status).toBe(200);
    expect(ENDS[aggregator]!(busy.body as Record<string, unknown>)).toBe(true);
    // a's close of the session meets b's lock for a while before b's hop is over.
    await new Promise((r) => setTimeout(r, 400));
    proxy.resume();
    const first = await answered;
    expect(first.status).toBe(200);
    expect(ENDS[aggregator]!(first.body as Record<string, unknown>)).toBe(false);
    await Promise.all([a.gateway.hops.drain(), b.gateway.hops.drain()]);
    // One screen: b's first menu, which a's END stood in for (the same hop).
    await expect.poll(() => metered(aggregator, sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "end" }]);
    // A retry now hears that the session has ended, and nothing more is metered.
    const again = await request(b.app).post(`/ussd/${aggregator}`).set("x-fingate-secret", SECRET).send(body);
    expect(ENDS[aggregator]!(again.body as Record<string, unknown>)).toBe(true);
    await b.gateway.hops.drain();
    expect(await metered(aggregator, sessionId)).toHaveLength(1);
  });
});
