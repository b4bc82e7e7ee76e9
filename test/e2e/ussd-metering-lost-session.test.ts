/**
 * Hubtel's `Response` and the generic dialect's `continue` for a session whose record fingate no
 * longer has (lapsed, evicted): the caller answered a screen we no longer know, inside the telco's
 * session. As on Africa's Talking (ussd-metering-refused), it is answered END "your session has
 * expired" and runs nothing (no main menu in its place), is metered once as the one screen it
 * showed, a retry of the hop on either instance hears the same answer, and the caller's resume
 * point stays for their next dial. A generic `begin` is now such a marked first hop: one that
 * fails before it reads the store (busy) is metered as Hubtel's Initiation is. Real JSON payloads through two gateway instances on the real
 * Redis and PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addBankPaidPlan } from "../helpers/ussd-proxied-core.js";
import { JsonInstances } from "../helpers/ussd-json-instances.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const HUBTEL_SECRET = "e2e-lost-hubtel-0123456789abcdef";
const GENERIC_SECRET = "e2e-lost-generic-0123456789abcdef";
const PAYEE = "+254712990002";
const EXPIRED = "END Your session has expired. Please dial again.";
const RESUME = "CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again";
/** The send flow's inputs up to the amount prompt; then the answer to it. */
const TO_AMOUNT = ["2", "0712990002"];

type Body = Record<string, unknown>;

interface Driver {
  name: string;
  secret: string;
  first(sessionId: string, msisdn: string): Body;
  /** Hop n (1, 2, …) after the first. */
  next(sessionId: string, msisdn: string, n: number, input: string): Body;
  /** The reply as it goes on the air: "CON …" or "END …". */
  read(body: Body): string;
}

const HUBTEL: Driver = {
  name: "hubtel",
  secret: HUBTEL_SECRET,
  first: (SessionId, msisdn) => ({ Type: "Initiation", Mobile: msisdn.slice(1), SessionId, ServiceCode: "384", Message: "*384#", Operator: "safaricom", Sequence: 1, ClientState: "" }),
  next: (SessionId, msisdn, n, input) => ({ Type: "Response", Mobile: msisdn.slice(1), SessionId, ServiceCode: "384", Message: input, Operator: "safaricom", Sequence: n + 1, ClientState: "" }),
  read: (body) => `${body.Type === "release" ? "END" : "CON"} ${body.Message as string}`,
};

const GENERIC: Driver = {
  name: "gen",
  secret: GENERIC_SECRET,
  first: (sessionId, msisdn) => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902" }),
  next: (sessionId, msisdn, n, input) => ({ sessionId, msisdn, serviceCode: "*384#", event: "continue", seq: n, input, networkCode: "63902" }),
  read: (body) => `${body.action === "end" ? "END" : "CON"} ${body.message as string}`,
};

let rig: UssdRig;
const instances = new JsonInstances();
const { gateways, apps } = instances;

async function hop(driver: Driver, instance: number, body: Body): Promise<string> {
  const r = await request(apps[instance]!).post(`/ussd/${driver.name}`).set("x-fingate-secret", driver.secret).send(body);
  expect(r.status, JSON.stringify(body)).toBe(200);
  return driver.read(r.body as Body);
}

async function settled(): Promise<void> {
  for (const gateway of gateways) await gateway.hops.drain();
}

async function metered(driver: Driver, sessionId: string) {
  const r = await rig.test.db.query<{ stages: number; end_reason: string; msisdn: string }>(
    "SELECT stages, end_reason, msisdn FROM metered_sessions WHERE session_id LIKE $1",
    [`${driver.name}:${sessionId}@%`],
  );
  return r.rows;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "lost-session-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0 });
  await instances.start(rig, [
      { name: HUBTEL.name, dialect: "hubtel", secret: HUBTEL_SECRET, networkCode: "63902" },
      { name: GENERIC.name, dialect: "generic", secret: GENERIC_SECRET },
    ]);
  await rig.customer(PAYEE, "Peter Lost", "en", "5831", 0n);
  await addBankPaidPlan(rig, { perSessionMinor: 10n, perStageMinor: 1n });
});

afterAll(async () => {
  await instances.close();
  await rig?.close();
});

describe.each([
  ["hubtel", HUBTEL, "+254712990011"],
  ["generic", GENERIC, "+254712990012"],
] as const)("%s: a hop of a session whose record was lost", (_name, driver, phone) => {
  it("is answered END 'session expired', runs nothing, is metered once as that one screen, and leaves the resume point", async () => {
    await rig.customer(phone, "Rose Lost", "en", "4827", 1_000_00n);
    const sessionId = `lost-${randomBytes(4).toString("hex")}`;
    const replies = [await hop(driver, 0, driver.first(sessionId, phone))];
    for (const [i, input] of TO_AMOUNT.entries()) replies.push(await hop(driver, (i + 1) % 2, driver.next(sessionId, phone, i + 1, input)));
    expect(replies.at(-1)).toBe("CON Pay PETER L***. Enter the amount in KES:");
    await settled();
    await rig.redis.del(`${rig.prefix}${driver.name}:${sessionId}`);
    const before = await rig.counts();

    // The caller's answer to the amount prompt, and the aggregator's retries of it on both instances.
    const answer = driver.next(sessionId, phone, 3, "100");
    const first = await Promise.all([0, 1].map((i) => hop(driver, i, answer)));
    expect(first).toEqual([EXPIRED, EXPIRED]);
    await settled();
    for (const i of [1, 0]) expect(await hop(driver, i, answer)).toBe(EXPIRED);
    await settled();
    await expect.poll(() => metered(driver, sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "end", msisdn: phone }]);
    // Nothing ran: no customer, no payment; only the one metered session and its charge (a transfer, audited).
    const charged = { ...before, metered: before.metered + 1, transfers: before.transfers + 1, audit: before.audit + 1 };
    await expect.poll(() => rig.counts(), { timeout: 5_000, interval: 50 }).toEqual(charged);

    // The caller's next dial offers to continue where the lost session was.
    const again = `again-${randomBytes(4).toString("hex")}`;
    expect(await hop(driver, 1, driver.first(again, phone))).toBe(RESUME);
    expect(await hop(driver, 0, driver.next(again, phone, 1, "1"))).toBe("CON Pay PETER L***. Enter the amount in KES:");
  });
});

describe("generic: a begin that fails before it reads the session store", () => {
  it("the session's lock held elsewhere past the wait (busy): metered once as that END, as Hubtel's Initiation is", async () => {
    const phone = "+254712990013";
    const sessionId = `busy-${randomBytes(4).toString("hex")}`;
    // A holder that never writes the session (an instance that died mid-hop): its lock lapses after the hop's wait (5 s).
    await rig.redis.set(`${rig.prefix}lock:${GENERIC.name}:${sessionId}`, "ghost", "PX", 5_800);
    expect(await hop(GENERIC, 0, GENERIC.first(sessionId, phone))).toMatch(/^END .*(still|working)/i);
    await settled();
    await expect.poll(() => metered(GENERIC, sessionId), { timeout: 5_000, interval: 50 }).toEqual([{ stages: 1, end_reason: "end", msisdn: phone }]);
    // Its retry hears that the session ended, and meters nothing more.
    expect(await hop(GENERIC, 1, GENERIC.first(sessionId, phone))).toBe("END This session has ended. Please dial again.");
    await settled();
    expect(await metered(GENERIC, sessionId)).toHaveLength(1);
  }, 20_000);
});

describe("hubtel: a hop of a session delivered after Hubtel's Release", () => {
  it("hears that the session ended and meters nothing more: Hubtel's session ids are never handed out again, so the ended record is kept closed", async () => {
    const phone = "+254712990014";
    await rig.customer(phone, "Rita Late", "en", "4827", 1_000_00n);
    const sessionId = `late-${randomBytes(4).toString("hex")}`;
    expect(await hop(HUBTEL, 0, HUBTEL.first(sessionId, phone))).toMatch(/^CON /);
    await settled();
    const release = { Type: "Release", Mobile: phone.slice(1), SessionId: sessionId, ServiceCode: "384", Message: "", Operator: "safaricom", Sequence: 2, ClientState: "" };
    const ended = await request(apps[1]!).post(`/ussd/${HUBTEL.name}`).set("x-fingate-secret", HUBTEL_SECRET).send(release);
    expect(ended.status).toBe(200);
    await settled();
    await expect.poll(() => metered(HUBTEL, sessionId), { timeout: 5_000, interval: 50 }).toHaveLength(1);

    // The caller's answer to the menu, delivered late (reordered by the network), on either instance.
    for (const i of [0, 1]) expect(await hop(HUBTEL, i, HUBTEL.next(sessionId, phone, 1, "1"))).toBe("END This session has ended. Please dial again.");
    await settled();
    expect(await metered(HUBTEL, sessionId)).toHaveLength(1);
  });
});
