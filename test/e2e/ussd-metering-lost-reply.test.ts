/**
 * A close whose write reached Redis but whose reply was lost (the connection dropped after the
 * command ran): the session is closed in the store, and a retry of the close found it closed and
 * metered nothing, so the session went unmetered for good. Now the close after our error END, on
 * its next try, finds exactly what it wrote and meters it; the network's end meters the session
 * before it fails (the notice is retried, and its metering is keyed by the session's start, so the
 * retry's is a no-op). The store is the real Redis, whose commit's reply this file's wrapper drops
 * once, after the commit ran; generic JSON payloads through a gateway over the real core on PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import type { SessionStore, SessionWrite } from "../../src/menus/engine/session-store.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, SILENT, TEST_REDIS_URL, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-lost-reply-generic-0123456789abcdef";
const ENDED = "END This session has ended. Please dial again.";

let rig: UssdRig;
let gateway: UssdGateway;
let app: express.Express;
/** The session whose next commit that closes it has its reply dropped (once). */
let armed: string | null = null;

/** The real store, but the reply of one commit that closes the armed session is lost after the commit ran. */
function losingOneReply(store: SessionStore): SessionStore {
  const closes = (key: string, writes: SessionWrite[]) =>
    armed !== null && key.endsWith(`:${armed}`) && writes.some((w) => w.key === key && w.value !== null && w.value.includes('"closed":true'));
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "commit") {
        return async (key: string, lock: Parameters<SessionStore["commit"]>[1], writes: SessionWrite[]) => {
          const applied = await target.commit(key, lock, writes);
          if (closes(key, writes)) {
            armed = null;
            throw new Error("Connection is closed.");
          }
          return applied;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const begin = (sessionId: string, msisdn: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" });
const end = (sessionId: string, msisdn: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "end", seq: 9, input: "" });
const post = (body: object) => request(app).post("/ussd/gen").set("x-fingate-secret", SECRET).send(body);

async function metered(sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string }>("SELECT stages, end_reason FROM metered_sessions WHERE session_id LIKE $1", [`gen:${sessionId}@%`]);
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "lost-reply-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
  const built = await buildUssdGateway({
    services: rig.services,
    ledger: rig.ledger,
    logger: SILENT,
    institutionId: rig.bankId,
    aggregators: [{ name: "gen", dialect: "generic", secret: SECRET }],
    secretKey: randomBytes(32),
    sessions: losingOneReply(await RedisSessionStore.connect(TEST_REDIS_URL, { prefix: rig.prefix })),
    hopLimits: { lockWaitMs: 200 },
  });
  if (!built) throw new Error("the USSD channel did not start");
  gateway = built;
  app = express();
  app.use(gateway.router);
});

afterAll(async () => {
  await gateway?.close();
  await rig?.close();
});

describe("a close whose Redis reply was lost", () => {
  it("the close after our error END (busy) meters the session on its next try", async () => {
    const phone = "+254713120201";
    const sessionId = `lr-${randomBytes(4).toString("hex")}`;
    // A holder that never writes the session (an instance that died mid-hop): the begin ends "busy".
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 800);
    armed = sessionId;
    const r = await post(begin(sessionId, phone));
    expect(r.body.action).toBe("end");
    await gateway.hops.drain();
    expect(armed).toBeNull(); // the close's reply was lost once
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "end" }]);
    expect((await post(begin(sessionId, phone))).body.message).toBe(ENDED.slice(4));
    await gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
  }, 20_000);

  it("the network's end: metered before the notice fails, once however often it is retried", async () => {
    const phone = "+254713120202";
    await rig.customer(phone, "Joy Lostreply", "en", "4827", 1_000_00n);
    const sessionId = `le-${randomBytes(4).toString("hex")}`;
    expect((await post(begin(sessionId, phone))).body.action).toBe("continue");
    await gateway.hops.drain();
    armed = sessionId;
    expect((await post(end(sessionId, phone))).status).toBe(500);
    expect(armed).toBeNull();
    await gateway.hops.drain();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "abort" }]);
    // The aggregator retries the end: 200 now, and nothing more is metered.
    expect((await post(end(sessionId, phone))).status).toBe(200);
    await gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
  });
});
