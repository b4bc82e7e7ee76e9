/**
 * A hop whose answer ended its session meters it once its close is committed (since 2026-11-30,
 * so that a hop that outlived its lock does not meter beside whoever took the session over). When
 * that commit is refused because the lock lapsed while the store stalled (a Redis failover), and
 * nobody took the session over, nobody metered it: the generic dialect, Hubtel and USSD over SMPP
 * send no notice after our END (found in review). The hop now closes it as after an error END,
 * under the lock, and meters it once. The store is the real Redis, whose commit of the armed
 * session this file's wrapper holds past the lock's TTL; generic JSON payloads through a gateway
 * over the real core on PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionStore } from "../../src/menus/engine/session-store.js";
import type { UssdGateway } from "../../src/ussd/gateway.js";
import { genericGateway, withCommit } from "../helpers/ussd-generic-gateway.js";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-commit-refused-generic-0123456789ab";
const LOCK_TTL_MS = 1_000;

let rig: UssdRig;
let gateway: UssdGateway;
let app: express.Express;
/** The session whose next commit is held past the lock's TTL (once). */
let armed: string | null = null;

/** The real store, but one commit of the armed session waits until its lock has lapsed. */
function stallingOneCommit(store: SessionStore): SessionStore {
  return withCommit(store, (commit) => async (key, lock, writes) => {
    if (armed !== null && key.endsWith(`:${armed}`)) {
      armed = null;
      await new Promise((r) => setTimeout(r, LOCK_TTL_MS + 300));
    }
    return commit(key, lock, writes);
  });
}

const begin = (sessionId: string, msisdn: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" });
const post = (body: object) => request(app).post("/ussd/gen").set("x-fingate-secret", SECRET).send(body);

async function metered(sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string }>("SELECT stages, end_reason FROM metered_sessions WHERE session_id LIKE $1", [`gen:${sessionId}@%`]);
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "commit-refused-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
  ({ gateway, app } = await genericGateway(rig, { secret: SECRET, store: stallingOneCommit, hopLimits: { lockWaitMs: 200, lockTtlMs: LOCK_TTL_MS } }));
});

afterAll(async () => {
  await gateway?.close();
  await rig?.close();
});

describe("a hop that ended its session and whose commit was refused (its lock lapsed in a stalled store)", () => {
  it("is metered once, and a late retry hears that the session ended", async () => {
    const phone = "+254713170301";
    const customer = await rig.customer(phone, "Neema Stalled", "en", "4827", 1_000_00n);
    const bank = { actorType: "bank_user" as const, actorId: "e2e-bank", channel: "admin" as const, institutionId: rig.bankId };
    // A blocked customer's first screen is an END: the one-hop session ends in the hop itself.
    expect((await rig.services.directory.setStatus(bank, customer.id, "blocked")).ok).toBe(true);
    const sessionId = `cr-${randomBytes(4).toString("hex")}`;
    armed = sessionId;
    const r = await post(begin(sessionId, phone));
    expect(r.body.action).toBe("end");
    await gateway.hops.drain();
    expect(armed).toBeNull();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "end" }]);
    expect((await post(begin(sessionId, phone))).body.action).toBe("end");
    await gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
  }, 20_000);
});
