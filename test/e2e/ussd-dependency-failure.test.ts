/**
 * A dependency goes away in the middle of a payment, between the confirmation and the PIN: the
 * caller gets a clear END within the hop budget that says no money was moved, or that the payment
 * is unknown when that is the truth, and the ledger ends with no transfer or exactly one.
 *
 * The shared PostgreSQL and Redis are never touched: the failing gateway instance reaches them
 * through a TCP proxy of this file's own (test/helpers/tcp-proxy.ts), which the test stalls or
 * shuts. Its sessions are the same Redis keys as the healthy instance's, which can take over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";
import { openTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { coreThroughProxy } from "../helpers/ussd-proxied-core.js";
import { airBudget, openUssdRig, TEST_REDIS_URL, type RigInstance, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-depfail-secret-0123456789abcdef";
const BUDGET_MS = 1_000;
const PAYEE = "+254777000999";
const CONFIRM = "CON Send KES 250.00 to PETER O***?\nFee KES 10.00. Total KES 260.00.\n1. Confirm\n2. Cancel";
const UNKNOWN = "END We could not confirm your payment. Check your balance before trying again.";
const UNAVAILABLE = "END Service unavailable. No money was moved. Please try later.";
const RECEIPT = /^END Sent KES 250\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 10\.00\.$/;
const BASE = "2*0777000999*250";

let rig: UssdRig;
const cleanups: (() => Promise<unknown>)[] = [];

/** The core over the test's schema, reached through a proxy of its own. */
const coreThrough = (proxy: TcpProxy) => coreThroughProxy(rig, proxy, cleanups);

async function proxyTo(url: string): Promise<TcpProxy> {
  const u = new URL(url);
  const proxy = await openTcpProxy(u.hostname, Number(u.port || (u.protocol.startsWith("redis") ? 6379 : 5432)));
  cleanups.unshift(() => proxy.close());
  return proxy;
}

/** Walks a payment to its confirmation on the instance, then checks the confirmation came. */
async function toConfirmation(instance: RigInstance, sessionId: string, phone: string) {
  for (const text of ["", "2", "2*0777000999", BASE]) {
    const r = await rig.post(instance.app, sessionId, phone, text);
    expect(r.status).toBe(200);
    if (text === BASE) expect(r.text).toBe(CONFIRM);
  }
  expect((await rig.post(instance.app, sessionId, phone, `${BASE}*1`)).text).toBe("CON Enter your PIN to confirm:");
  // The session is written after the answer: written before anything fails.
  await instance.gateway.hops.drain();
}

async function timedPost(instance: RigInstance, sessionId: string, phone: string, text: string) {
  const started = Date.now();
  const r = await rig.post(instance.app, sessionId, phone, text);
  return { status: r.status, text: r.text, ms: Date.now() - started };
}

async function sentBy(payer: Customer): Promise<number> {
  const transfers = await rig.ledger.listAccountTransfers(payer.walletAccountId, { limit: 20 });
  return transfers.filter((t) => t.debitAccountId === payer.walletAccountId && t.amountMinor === 250_00n).length;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "depfail-bank", secret: SECRET, instances: 1, p2pFee: true });
  await rig.customer(PAYEE, "Peter Otieno", "en", "5831", 0n);
});

afterAll(async () => {
  await rig?.close();
  for (const cleanup of cleanups) await cleanup();
});

describe("a dependency fails between the confirmation and the PIN", () => {
  it("PostgreSQL refuses connections: a clear END at once, no transfer; the customer can pay once afterwards", async () => {
    const payer = await rig.customer("+254777000001", "Jane Wanjiru", "en", "4827", 1_000_00n);
    const proxy = await proxyTo(TEST_DATABASE_URL);
    const flaky = await rig.addInstance({ ...(await coreThrough(proxy)), hopLimits: { hopBudgetMs: BUDGET_MS } });
    await toConfirmation(flaky, "dep-pg-1", "+254777000001");
    await proxy.close();
    const answer = await timedPost(flaky, "dep-pg-1", "+254777000001", `${BASE}*1*4827`);
    expect(answer.status).toBe(200);
    // The payment port threw: the menu cannot know whether the ledger got it, and says so.
    expect(answer.text).toBe(UNKNOWN);
    expect(answer.ms).toBeLessThan(BUDGET_MS + 500);
    expect(airBudget(answer.text).length).toBeLessThanOrEqual(airBudget(answer.text).limit);
    await flaky.gateway.hops.drain();
    expect(await sentBy(payer)).toBe(0);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n);
    // The aggregator's retry on the healthy instance gets the same answer: it does not pay behind it.
    expect((await rig.post(0, "dep-pg-1", "+254777000001", `${BASE}*1*4827`)).text).toBe(UNKNOWN);
    expect(await sentBy(payer)).toBe(0);
    // Dialling again, on the healthy instance: a fresh session (the ended one is not offered), which pays once.
    const again = await rig.walk("dep-pg-2", "+254777000001", ["2", "0777000999", "250", "1", "4827"]);
    expect(again[0]).toMatch(/^CON Welcome to fingate/);
    expect(again.at(-1)).toMatch(RECEIPT);
    expect(await sentBy(payer)).toBe(1);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
  });

  it("PostgreSQL stalls: 'payment unknown' within the budget; when it comes back the payment posts once and the retry shows the receipt", async () => {
    const payer = await rig.customer("+254777000002", "Rose Chebet", "en", "4827", 1_000_00n);
    const proxy = await proxyTo(TEST_DATABASE_URL);
    const flaky = await rig.addInstance({ ...(await coreThrough(proxy)), hopLimits: { hopBudgetMs: BUDGET_MS } });
    await toConfirmation(flaky, "dep-stall-1", "+254777000002");
    proxy.stall();
    const answer = await timedPost(flaky, "dep-stall-1", "+254777000002", `${BASE}*1*4827`);
    expect(answer.text).toBe(UNKNOWN);
    expect(answer.ms).toBeGreaterThanOrEqual(BUDGET_MS - 50);
    expect(answer.ms).toBeLessThan(BUDGET_MS + 500);
    expect(await sentBy(payer)).toBe(0);
    // The database answers again: the hop still running finishes the payment, once.
    proxy.resume();
    await flaky.gateway.hops.drain();
    expect(await sentBy(payer)).toBe(1);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
    // Which the aggregator's retry of the PIN hop now tells, on either instance, without paying again.
    const retried = await rig.post(0, "dep-stall-1", "+254777000002", `${BASE}*1*4827`);
    expect(retried.text).toMatch(RECEIPT);
    expect((await rig.post(flaky.app, "dep-stall-1", "+254777000002", `${BASE}*1*4827`)).text).toBe(retried.text);
    expect(await sentBy(payer)).toBe(1);
  });

  it("Redis goes away: 'no money was moved' at once, true; dialling again resumes the payment and pays once", async () => {
    const payer = await rig.customer("+254777000003", "Mary Akinyi", "en", "4827", 1_000_00n);
    const proxy = await proxyTo(TEST_REDIS_URL);
    const sessions = await RedisSessionStore.connect(proxy.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ sessions, hopLimits: { hopBudgetMs: BUDGET_MS } });
    await toConfirmation(flaky, "dep-redis-1", "+254777000003");
    await proxy.close();
    const answer = await timedPost(flaky, "dep-redis-1", "+254777000003", `${BASE}*1*4827`);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(UNAVAILABLE);
    expect(answer.ms).toBeLessThan(BUDGET_MS + 500);
    await flaky.gateway.hops.drain();
    expect(await sentBy(payer)).toBe(0);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n);
    // The session waited at the PIN in Redis; the number's next dial offers to continue it.
    const resumed = await rig.walk("dep-redis-2", "+254777000003", ["1", "4827"]);
    expect(resumed[0]).toBe("CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again");
    expect(resumed[1]).toBe("CON Enter your PIN to confirm:");
    expect(resumed[2]).toMatch(RECEIPT);
    expect(await sentBy(payer)).toBe(1);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
  });

  it("a hop that outlives its lock does not overwrite the session another instance took over meanwhile", async () => {
    const payer = await rig.customer("+254777000005", "Esther Njeri", "en", "4827", 1_000_00n);
    const pg = await proxyTo(TEST_DATABASE_URL);
    const flaky = await rig.addInstance({ ...(await coreThrough(pg)), hopLimits: { hopBudgetMs: BUDGET_MS, lockTtlMs: 1_000 } });
    for (const text of ["", "2", "2*0777000999"]) expect((await rig.post(flaky.app, "dep-lapse-1", "+254777000005", text)).status).toBe(200);
    await flaky.gateway.hops.drain();
    // The amount hop reads the database, which stalls: the hop holds the session's lock past its TTL.
    pg.stall();
    expect((await timedPost(flaky, "dep-lapse-1", "+254777000005", BASE)).text).toMatch(/^END /);
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:at:dep-lapse-1`), { timeout: 3_000, interval: 50 }).toBe(0);
    // The aggregator's retry lands on the healthy instance, and the customer goes on to the PIN there.
    expect((await rig.post(0, "dep-lapse-1", "+254777000005", BASE)).text).toBe(CONFIRM);
    expect((await rig.post(0, "dep-lapse-1", "+254777000005", `${BASE}*1`)).text).toBe("CON Enter your PIN to confirm:");
    await rig.instances[0]!.gateway.hops.drain();
    // The stalled hop finishes now; its write of the session as it saw it (at the confirmation) is refused.
    pg.resume();
    await flaky.gateway.hops.drain();
    const stored = JSON.parse((await rig.redis.get(`${rig.prefix}at:dep-lapse-1`))!) as { closed: boolean; menu: { step: string } };
    expect(stored).toMatchObject({ closed: false, menu: { step: "pin" } });
    expect((await rig.post(0, "dep-lapse-1", "+254777000005", `${BASE}*1*4827`)).text).toMatch(RECEIPT);
    expect(await sentBy(payer)).toBe(1);
  });

  it("Redis goes away while the PIN step waits on a stalled database: the payment posts once, the session is not saved, a retry tells the outcome", async () => {
    const payer = await rig.customer("+254777000004", "Grace Wambui", "en", "4827", 1_000_00n);
    const pg = await proxyTo(TEST_DATABASE_URL);
    const redis = await proxyTo(TEST_REDIS_URL);
    const sessions = await RedisSessionStore.connect(redis.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ ...(await coreThrough(pg)), sessions, hopLimits: { hopBudgetMs: BUDGET_MS, lockTtlMs: 1_000 } });
    await toConfirmation(flaky, "dep-both-1", "+254777000004");
    pg.stall();
    const answer = await timedPost(flaky, "dep-both-1", "+254777000004", `${BASE}*1*4827`);
    expect(answer.text).toBe(UNKNOWN);
    expect(answer.ms).toBeLessThan(BUDGET_MS + 500);
    // The hop holds the session's lock in Redis and waits on the database; Redis goes, the database comes back.
    await redis.close();
    pg.resume();
    await flaky.gateway.hops.drain();
    expect(await sentBy(payer)).toBe(1);
    // What Redis holds is the session as it was before the PIN hop: waiting at the PIN.
    const stored = JSON.parse((await rig.redis.get(`${rig.prefix}at:dep-both-1`))!) as { closed: boolean; menu: { step: string } };
    expect(stored).toMatchObject({ closed: false, menu: { step: "pin" } });
    // Its lock expires (lockTtlMs); the retry on the healthy instance runs the PIN step again over
    // the unsaved session: the same payment id, so the ledger answers with the payment already made.
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:at:dep-both-1`), { timeout: 3_000, interval: 50 }).toBe(0);
    const retried = await rig.post(0, "dep-both-1", "+254777000004", `${BASE}*1*4827`);
    expect(retried.text).toMatch(RECEIPT);
    expect(await sentBy(payer)).toBe(1);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
  });

  it("an agent's cash-out whose PIN hop was not saved, retried after the customer decided: the agent is told the decision, not 'sent'", async () => {
    const ACTOR = { type: "system" as const, id: "e2e" };
    const customer = await rig.customer("+254777000015", "Faith Chebet", "en", "4827", 1_000_00n);
    const onboarded = await rig.services.agents.onboard({ institutionId: rig.bankId, msisdn: "+254777000105", storeNumber: "445566", name: "Chebet Duka", location: "Eldoret", pin: "6253", actor: ACTOR });
    if (!onboarded.ok) throw new Error(onboarded.code);
    const agentPhone = "+254777000105";
    const pg = await proxyTo(TEST_DATABASE_URL);
    const redis = await proxyTo(TEST_REDIS_URL);
    const sessions = await RedisSessionStore.connect(redis.url(TEST_REDIS_URL), { prefix: rig.prefix, connectTimeoutMs: 2_000 });
    const flaky = await rig.addInstance({ ...(await coreThrough(pg)), sessions, hopLimits: { hopBudgetMs: BUDGET_MS, lockTtlMs: 1_000 } });
    const walk = ["", "2", "2*0777000015", "2*0777000015*300"];
    for (const text of walk) expect((await rig.post(flaky.app, "dep-cx-1", agentPhone, text)).status).toBe(200);
    await flaky.gateway.hops.drain();
    // The PIN hop: the hold is made while Redis goes away, so the session stays at the PIN step.
    pg.stall();
    await timedPost(flaky, "dep-cx-1", agentPhone, "2*0777000015*300*6253");
    await redis.close();
    pg.resume();
    await flaky.gateway.hops.drain();
    const pending = await rig.services.agents.pendingCashOuts(customer.id);
    expect(pending).toHaveLength(1);
    // The customer approves at the counter; then the agent's phone retries the PIN hop.
    expect(await rig.services.agents.approveCashOut({ pendingId: pending[0]!.pendingId, customerId: customer.id, customerPin: "4827" })).toMatchObject({ ok: true });
    await expect.poll(() => rig.redis.exists(`${rig.prefix}lock:at:dep-cx-1`), { timeout: 3_000, interval: 50 }).toBe(0);
    const retried = await rig.post(0, "dep-cx-1", agentPhone, "2*0777000015*300*6253");
    expect(retried.text).toMatch(/^END FAITH C\*\*\* approved KES 300\.00\. Give the cash now\. Ref [0-9A-F]{10}\.$/);
    expect(await rig.balance(customer.walletAccountId)).toBe(1_000_00n - 300_00n);
  });
});
