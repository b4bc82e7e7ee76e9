/**
 * A close whose write reached Redis but whose reply was lost (the connection dropped after the
 * command ran): the session is closed in the store, and a retry of the close found it closed and
 * metered nothing, so the session went unmetered for good. Now the close after our error END, on
 * its next try, finds exactly what it wrote and meters it; the network's end meters the session
 * before it fails (the notice is retried, and its metering is keyed by the session's start, so the
 * retry's is a no-op). That holds when something reaches the session between the two tries: the
 * network's `end` (which rewrites the closed record with networkEnded), a generic `begin` that
 * opens a new session under the id, an SMPP-style begin that deletes the record. The store is the real Redis, whose commit's reply this file's wrapper drops
 * once, after the commit ran; generic JSON payloads through a gateway over the real core on PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionStore, SessionWrite } from "../../src/menus/engine/session-store.js";
import type { UssdGateway } from "../../src/ussd/gateway.js";
import { genericGateway, withCommit } from "../helpers/ussd-generic-gateway.js";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-lost-reply-generic-0123456789abcdef";
const ENDED = "END This session has ended. Please dial again.";

let rig: UssdRig;
let gateway: UssdGateway;
let app: express.Express;
/** The session whose next commit that closes it has its reply dropped (once). */
let armed: string | null = null;
/** Runs (not awaited) at the moment the armed reply is dropped: what reaches the session in that window. */
let meanwhile: (() => Promise<unknown>) | null = null;

/** The real store, but the reply of one commit that closes the armed session is lost after the commit ran. */
function losingOneReply(store: SessionStore): SessionStore {
  const closes = (key: string, writes: SessionWrite[]) =>
    armed !== null && key.endsWith(`:${armed}`) && writes.some((w) => w.key === key && w.value !== null && w.value.includes('"closed":true'));
  return withCommit(store, (commit) => async (key, lock, writes) => {
    const applied = await commit(key, lock, writes);
    if (closes(key, writes)) {
      armed = null;
      const then = meanwhile;
      meanwhile = null;
      // Queued behind this try in the session's turn here: it runs before the close's next try.
      void then?.().catch(() => undefined);
      throw new Error("Connection is closed.");
    }
    return applied;
  });
}

const begin = (sessionId: string, msisdn: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" });
const next = (sessionId: string, msisdn: string, seq: number, input: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "continue", seq, input, networkCode: "63902" });
const end = (sessionId: string, msisdn: string) => ({ sessionId, msisdn, serviceCode: "*384#", event: "end", seq: 9, input: "" });
const post = (body: object) => request(app).post("/ussd/gen").set("x-fingate-secret", SECRET).send(body);

async function metered(sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string }>("SELECT stages, end_reason FROM metered_sessions WHERE session_id LIKE $1", [`gen:${sessionId}@%`]);
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "lost-reply-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
  ({ gateway, app } = await genericGateway(rig, { secret: SECRET, store: losingOneReply, hopLimits: { lockWaitMs: 200 } }));
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

  it("a `continue` that ends busy, whose close lands unanswered and the network's `end` follows before the next try: metered once", async () => {
    const phone = "+254713170101";
    await rig.customer(phone, "Wanjiru Window", "en", "4827", 1_000_00n);
    const sessionId = `lc-${randomBytes(4).toString("hex")}`;
    expect((await post(begin(sessionId, phone))).body.action).toBe("continue");
    await gateway.hops.drain();
    // A holder that never writes the session: the caller's answer to the menu ends "busy".
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 800);
    armed = sessionId;
    // The network's end arrives just after the close landed (its reply lost), before the close tries again.
    meanwhile = () => gateway.hops.endSession("gen", sessionId, "abort", undefined, { keepClosed: true });
    expect((await post(next(sessionId, phone, 1, "1"))).body.action).toBe("end");
    await gateway.hops.drain();
    expect(armed).toBeNull();
    expect(meanwhile).toBeNull();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    // Our END (busy) was a screen shown: the menu and that END.
    expect(await metered(sessionId)).toEqual([{ stages: 2, end_reason: "end" }]);
    expect((await post(next(sessionId, phone, 2, "1"))).body.message).toBe(ENDED.slice(4));
    await gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
  }, 20_000);

  it("the same window, with the caller's next `begin` under the id instead: the old session metered, the new one left open", async () => {
    const phone = "+254713170102";
    await rig.customer(phone, "Kamau Window", "en", "4827", 1_000_00n);
    const sessionId = `lb-${randomBytes(4).toString("hex")}`;
    expect((await post(begin(sessionId, phone))).body.action).toBe("continue");
    await gateway.hops.drain();
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 800);
    armed = sessionId;
    // The integrator hands the id out again for the caller's next dial, just after the close landed.
    let redial: Promise<request.Response> | null = null;
    let redialAtMs = 0;
    meanwhile = () => {
      redialAtMs = Date.now();
      return (redial = post(begin(sessionId, phone)).then((r) => r));
    };
    expect((await post(next(sessionId, phone, 1, "1"))).body.action).toBe("end");
    await gateway.hops.drain();
    expect(armed).toBeNull();
    expect(redial).not.toBeNull();
    expect((await redial!).body.action).toBe("continue");
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    expect(await metered(sessionId)).toEqual([{ stages: 2, end_reason: "end" }]);
    // The row is the first session's (metering is keyed by the session's start), not the redial's.
    const keyed = await rig.test.db.query<{ session_id: string }>("SELECT session_id FROM metered_sessions WHERE session_id LIKE $1", [`gen:${sessionId}@%`]);
    expect(Number(keyed.rows[0]!.session_id.split("@")[1])).toBeLessThan(redialAtMs);
    // The new session goes on: the close of the old one did not end it.
    expect((await post(next(sessionId, phone, 1, "1"))).body.action).toBe("continue");
    await gateway.hops.drain();
    expect(await metered(sessionId)).toHaveLength(1);
  }, 20_000);

  it("the same window, with the record deleted (as USSD over SMPP's begin ends a closed session): metered once", async () => {
    const phone = "+254713170103";
    await rig.customer(phone, "Otieno Window", "en", "4827", 1_000_00n);
    const sessionId = `ld-${randomBytes(4).toString("hex")}`;
    expect((await post(begin(sessionId, phone))).body.action).toBe("continue");
    await gateway.hops.drain();
    await rig.redis.set(`${rig.prefix}lock:gen:${sessionId}`, "ghost", "PX", 800);
    armed = sessionId;
    // What an SMPP begin under the reused id does first: end its predecessor, deleting the closed record.
    meanwhile = () => gateway.hops.endSession("gen", sessionId, "abort", "another begin");
    expect((await post(next(sessionId, phone, 1, "1"))).body.action).toBe("end");
    await gateway.hops.drain();
    expect(meanwhile).toBeNull();
    await expect.poll(() => metered(sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);
    expect(await metered(sessionId)).toEqual([{ stages: 2, end_reason: "end" }]);
    expect(await rig.redis.exists(`${rig.prefix}gen:${sessionId}`)).toBe(0);
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
