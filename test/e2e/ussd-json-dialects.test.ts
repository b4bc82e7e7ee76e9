/**
 * The two JSON dialects end to end: Hubtel (Type Initiation/Response/Timeout, Mobile, SessionId,
 * ServiceCode, Message, Sequence, ClientState; replies Type "response"/"release") and the generic
 * dialect ({ sessionId, msisdn, serviceCode, event, seq, input, dialString }; replies { sessionId,
 * seq, action, message }), as docs/ussd.md documents them. Real JSON payloads through supertest to
 * two gateway instances that share sessions in Redis (under this file's key prefix), hops
 * alternating between them, over the real core on PostgreSQL (this file's schema): balance and
 * send money with the PIN in English and Hindi, retried hops, Hubtel's Timeout, and refusals.
 */
import { randomBytes, randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { JsonInstances } from "../helpers/ussd-json-instances.js";
import { airBudget, expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const HUBTEL_SECRET = "e2e-hubtel-secret-0123456789abcdef";
const GENERIC_SECRET = "e2e-generic-secret-0123456789abcdef";
const GENERIC_HEADER = "x-gen-key";
const PIN = "4827";

type Dialect = "hubtel" | "generic";
type Lang = "en" | "hi";
type Body = Record<string, unknown>;

/** A reply as it goes on the air: "CON …" or "END …" (so the rig's budget checks apply). */
interface Hop {
  status: number;
  air: string;
  body: Body;
}

let rig: UssdRig;
const instances = new JsonInstances();
const { gateways, apps } = instances;

/** What a dialect's aggregator posts, and how its reply reads. */
interface Driver {
  /** The aggregator's name (URL segment and session key space). */
  name: string;
  /** The first hop; `dial` is the full dial string. */
  begin(sessionId: string, msisdn: string, dial?: string): Body;
  /** Hop number n (1, 2, …) after the first, with this hop's input. */
  next(sessionId: string, msisdn: string, n: number, input: string): Body;
  /** The network closed the session (Hubtel Timeout, generic end). */
  close(sessionId: string, msisdn: string): Body;
  secret: string;
  header: string;
  /** The reply's shape checked, read as "CON …"/"END …". */
  read(sent: Body, body: Body): string;
}

const HUBTEL: Driver = {
  name: "hubtel",
  secret: HUBTEL_SECRET,
  header: "x-fingate-secret",
  begin: (sessionId, msisdn, dial = "*384#") => ({
    Type: "Initiation",
    Mobile: msisdn.replace(/^\+/, ""),
    SessionId: sessionId,
    ServiceCode: "384",
    Message: dial,
    Operator: "safaricom",
    Sequence: 1,
    ClientState: "",
  }),
  next: (sessionId, msisdn, n, input) => ({
    Type: "Response",
    Mobile: msisdn.replace(/^\+/, ""),
    SessionId: sessionId,
    ServiceCode: "384",
    Message: input,
    Operator: "safaricom",
    Sequence: n + 1,
    ClientState: "",
  }),
  close: (sessionId, msisdn) => ({ Type: "Timeout", Mobile: msisdn.replace(/^\+/, ""), SessionId: sessionId, ServiceCode: "384", Message: "", Operator: "safaricom" }),
  read(sent, body) {
    expect(body.SessionId).toBe(sent.SessionId);
    expect(["response", "release"]).toContain(body.Type);
    const end = body.Type === "release";
    expect(body).toMatchObject({ Label: "fingate", DataType: end ? "display" : "input", FieldType: "text" });
    expect(body.ClientState).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(typeof body.Message).toBe("string");
    return `${end ? "END" : "CON"} ${body.Message as string}`;
  },
};

const GENERIC: Driver = {
  name: "gen",
  secret: GENERIC_SECRET,
  header: GENERIC_HEADER,
  begin: (sessionId, msisdn, dial) => ({ sessionId, msisdn, serviceCode: "*384#", event: "begin", seq: 0, input: "", networkCode: "63902", ...(dial ? { dialString: dial } : {}) }),
  next: (sessionId, msisdn, n, input) => ({ sessionId, msisdn, serviceCode: "*384#", event: "continue", seq: n, input, networkCode: "63902" }),
  close: (sessionId, msisdn) => ({ sessionId, msisdn, serviceCode: "*384#", event: "end", seq: 99 }),
  read(sent, body) {
    expect(body.sessionId).toBe(sent.sessionId);
    expect(body.seq).toBe(sent.seq);
    expect(["continue", "end"]).toContain(body.action);
    expect(typeof body.message).toBe("string");
    return `${body.action === "end" ? "END" : "CON"} ${body.message as string}`;
  },
};

const DRIVERS: Record<Dialect, Driver> = { hubtel: HUBTEL, generic: GENERIC };

function postJson(driver: Driver, instance: number, body: unknown, secret: string | null = driver.secret): request.Test {
  const r = request(apps[instance]!).post(`/ussd/${driver.name}`);
  if (secret !== null) r.set(driver.header, secret);
  return r.send(body as object);
}

async function hop(driver: Driver, instance: number, body: Body): Promise<Hop> {
  const r = await postJson(driver, instance, body);
  expect(r.status, JSON.stringify(body)).toBe(200);
  expect(r.headers["content-type"]).toMatch(/^application\/json/);
  return { status: r.status, air: driver.read(body, r.body as Body), body: r.body as Body };
}

/** A session from its first hop, hops alternating between the two instances; every payload is returned for retries. */
async function walk(driver: Driver, sessionId: string, msisdn: string, inputs: string[], dial?: string) {
  const sent: Body[] = [driver.begin(sessionId, msisdn, dial), ...inputs.map((input, i) => driver.next(sessionId, msisdn, i + 1, input))];
  const replies: string[] = [];
  for (const [i, body] of sent.entries()) replies.push((await hop(driver, i % 2, body)).air);
  return { replies, sent };
}

/** Every hop answered has also written its session and every ended session has been metered. */
async function settle(): Promise<void> {
  await Promise.all(gateways.map((g) => g.hops.drain()));
}

async function allKeys(): Promise<string[]> {
  await settle();
  return (await rig.redis.keys(`${rig.prefix}*`)).sort();
}

const refOf = (transferId: string) => transferId.replace(/-/g, "").slice(-10).toUpperCase();

async function p2pFrom(accountId: string): Promise<{ id: string; amount: string; credit: string }[]> {
  const r = await rig.test.db.query<{ id: string; amount: string; credit: string }>(
    "SELECT id, amount::text AS amount, credit_account_id AS credit FROM transfers WHERE code = 'p2p' AND debit_account_id = $1",
    [accountId],
  );
  return r.rows;
}

/** Hindi pages: UCS-2 within 80 UTF-16 units; English pages: GSM-7 within 182 septets. */
function expectPages(lang: Lang, replies: string[]) {
  expectOnAir(replies);
  for (const reply of replies) {
    const budget = airBudget(reply);
    expect(budget.encoding, reply).toBe(lang === "hi" ? "ucs2" : "gsm7");
    expect(budget.length, reply).toBeLessThanOrEqual(lang === "hi" ? 80 : 182);
  }
}

const SCREENS = {
  en: {
    main: "CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language",
    askPin: "CON Enter your PIN:",
    balance: "END Your balance is KES 1,000.00.",
    askPayee: "CON Enter the phone number or alias to pay:",
    askAmount: "CON Pay PETER O***. Enter the amount in KES:",
    confirm: ["CON Send KES 250.00 to PETER O***?\nFee KES 10.00. Total KES 260.00.\n1. Confirm\n2. Cancel"],
    confirmInputs: ["1"],
    askPayPin: "CON Enter your PIN to confirm:",
    receipt: /^END Sent KES 250\.00 to PETER O\*\*\*\. Ref ([0-9A-F]{10})\.\nFee KES 10\.00\.$/,
  },
  hi: {
    main: "CON fingate में आपका स्वागत है\n1. बैलेंस\n2. पैसे भेजें\n3. मिनी स्टेटमेंट\n98 आगे",
    askPin: "CON अपना पिन दर्ज करें:",
    balance: "END आपका बैलेंस KES 1,000.00 है।",
    askPayee: "CON भुगतान पाने वाले का फ़ोन नंबर या उपनाम दर्ज करें:",
    askAmount: "CON PETER O*** को भुगतान। राशि KES में दर्ज करें:",
    // Two pages: the amount and fee, then the options (98 pages on, 1 confirms).
    confirm: ["CON PETER O*** को KES 250.00 भेजें?\nशुल्क KES 10.00। कुल KES 260.00।\n98 आगे", "CON 1. पुष्टि करें\n2. रद्द करें\n0 पीछे"],
    confirmInputs: ["98", "1"],
    askPayPin: "CON पुष्टि के लिए अपना पिन दर्ज करें:",
    receipt: /^END PETER O\*\*\* को KES 250\.00 भेजे गए। संदर्भ ([0-9A-F]{10})।\nशुल्क KES 10\.00।$/,
  },
} as const;

let phones = 0;
/** A fresh number for this file (the schema is fresh each run). */
const nextPhone = () => `+2547331${String(++phones).padStart(5, "0")}`;
const local = (msisdn: string) => `0${msisdn.slice(4)}`;
const sid = (label: string) => `${label}-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  // The rig's core, institution (KES, KE) and p2p fees (free to 100.00, 10.00 above), with no
  // Africa's Talking instance: this file's two instances serve the JSON dialects.
  rig = await openUssdRig({ code: "json-dialect-bank", secret: "unused-at-secret-0123456789abcdef", instances: 0, p2pFee: true });
  await instances.start(rig, [
    { name: HUBTEL.name, dialect: "hubtel", secret: HUBTEL_SECRET, networkCode: "63902" },
    { name: GENERIC.name, dialect: "generic", secret: GENERIC_SECRET, header: GENERIC_HEADER },
  ]);
});

afterAll(async () => {
  await instances.close();
  await rig?.close();
});

describe.each(["hubtel", "generic"] as const)("the %s JSON dialect over the real core (PostgreSQL + Redis, two instances)", (dialect) => {
  const driver = DRIVERS[dialect];

  it.each(["en", "hi"] as const)("balance with the PIN, then send money with the PIN through to the receipt, in %s", async (lang) => {
    const screens = SCREENS[lang];
    const payer = await rig.customer(nextPhone(), lang === "hi" ? "राजेश शर्मा" : "Jane Wanjiru", lang, PIN, 1_000_00n);
    const payee = await rig.customer(nextPhone(), "Peter Otieno", "en", "5831");

    const balance = await walk(driver, sid(`${dialect}-bal-${lang}`), payer.msisdn, ["1", PIN]);
    expect(balance.replies).toEqual([screens.main, screens.askPin, screens.balance]);
    expectPages(lang, balance.replies);

    const send = await walk(driver, sid(`${dialect}-send-${lang}`), payer.msisdn, ["2", local(payee.msisdn), "250", ...screens.confirmInputs, PIN]);
    expect(send.replies.slice(0, -1)).toEqual([screens.main, screens.askPayee, screens.askAmount, ...screens.confirm, screens.askPayPin]);
    const receipt = screens.receipt.exec(send.replies.at(-1)!);
    expect(receipt, send.replies.at(-1)).not.toBeNull();
    expectPages(lang, send.replies);

    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(250_00n);
    const moved = await p2pFrom(payer.walletAccountId);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ amount: "25000", credit: payee.walletAccountId });
    expect(refOf(moved[0]!.id)).toBe(receipt![1]);
  });

  it("a dial-string shortcut on the first hop goes straight to the balance's PIN", async () => {
    const c = await rig.customer(nextPhone(), "Mary Akinyi", "en", PIN, 1_000_00n);
    const { replies } = await walk(driver, sid(`${dialect}-short`), c.msisdn, [PIN], "*384*1#");
    expect(replies).toEqual([SCREENS.en.askPin, SCREENS.en.balance]);
  });

  it("a retried hop (same sequence) gets the same reply, and a retried PIN hop moves the money once", async () => {
    const payer = await rig.customer(nextPhone(), "Grace Wambui", "en", PIN, 1_000_00n);
    const payee = await rig.customer(nextPhone(), "Peter Otieno", "en", "5831");
    const sessionId = sid(`${dialect}-retry`);
    const { replies, sent } = await walk(driver, sessionId, payer.msisdn, ["2", local(payee.msisdn), "250"]);
    expect(replies.at(-1)).toBe(SCREENS.en.confirm[0]);
    // The amount hop again, on the other instance: the stored reply, the flow does not move on.
    expect((await hop(driver, 0, sent.at(-1)!)).air).toBe(SCREENS.en.confirm[0]);
    expect((await hop(driver, 1, driver.next(sessionId, payer.msisdn, 4, "1"))).air).toBe(SCREENS.en.askPayPin);

    const pinHop = driver.next(sessionId, payer.msisdn, 5, PIN);
    const [a, b] = await Promise.all([hop(driver, 0, pinHop), hop(driver, 1, pinHop)]);
    expect(a.air).toMatch(SCREENS.en.receipt);
    expect(b.air).toBe(a.air);
    const again = await hop(driver, 0, pinHop);
    expect(again.air).toBe(a.air);
    if (dialect === "hubtel") expect([b.body.ClientState, again.body.ClientState]).toEqual([a.body.ClientState, a.body.ClientState]);

    await settle();
    const moved = await p2pFrom(payer.walletAccountId);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ amount: "25000", credit: payee.walletAccountId });
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(250_00n);
    const receipts = await rig.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_messages WHERE template = 'receipt.p2p_sent' AND msisdn = $1", [payer.msisdn]);
    expect(receipts.rows[0]!.n).toBe(1);
  });

  it("refuses a wrong secret, missing fields, a 10 KB message, malformed JSON and injection strings cleanly, storing nothing", async () => {
    const c = await rig.customer(nextPhone(), "Paul Mutua", "en", PIN, 100_00n);
    const rows = await rig.counts();
    const keys = await allKeys();
    const refused: string[] = [];
    const expectRefused = async (sessionId: string, r: request.Response, status: number) => {
      expect(r.status, `${sessionId}: ${r.text.slice(0, 80)}`).toBe(status);
      // Nothing of the request is echoed back.
      expect(r.text).not.toMatch(/DROP|<script|\{\{|%s|\$\{/);
      refused.push(sessionId);
    };

    // Wrong, missing or near-miss secrets: 401 before the body is read.
    const secretId = sid(`${dialect}-secret`);
    for (const [i, secret] of [null, "", "wrong-secret-0123456789abcdef", driver.secret.slice(0, -1), driver.secret.toUpperCase(), "' OR '1'='1"].entries()) {
      const r = await postJson(driver, i % 2, driver.begin(secretId, c.msisdn), secret);
      expect([r.status, r.text]).toEqual([401, "unauthorized"]);
    }
    refused.push(secretId);

    // Each required field missing in turn, or of the wrong type.
    const required = dialect === "hubtel" ? ["Type", "SessionId", "Mobile", "ServiceCode"] : ["sessionId", "event", "msisdn", "serviceCode", "seq"];
    for (const field of required) {
      const id = sid(`${dialect}-missing-${field}`);
      const body = driver.begin(id, c.msisdn);
      delete body[field];
      const r = await postJson(driver, 0, body);
      await expectRefused(id, r, 400);
      expect(r.body).toEqual({ error: "bad request" });
      const typed = await postJson(driver, 1, { ...driver.begin(id, c.msisdn), [field]: { $ne: null } });
      await expectRefused(id, typed, 400);
    }

    // A 10 KB message: over the 8 KiB body limit, refused unread (413); just over the field's
    // 182 characters, refused as a bad request.
    const bigId = sid(`${dialect}-big`);
    const bigField = dialect === "hubtel" ? "Message" : "input";
    await expectRefused(bigId, await postJson(driver, 0, { ...driver.next(bigId, c.msisdn, 1, ""), [bigField]: "9".repeat(10_240) }), 413);
    await expectRefused(bigId, await postJson(driver, 1, { ...driver.next(bigId, c.msisdn, 1, ""), [bigField]: "1".repeat(183) }), 400);

    // Not JSON, or broken JSON.
    const brokenId = sid(`${dialect}-broken`);
    const broken = await request(apps[0]!).post(`/ussd/${driver.name}`).set(driver.header, driver.secret).set("content-type", "application/json").send(`{"${dialect === "hubtel" ? "SessionId" : "sessionId"}":"${brokenId}",`);
    await expectRefused(brokenId, broken, 400);
    const form = await request(apps[1]!).post(`/ussd/${driver.name}`).set(driver.header, driver.secret).type("form").send(driver.begin(brokenId, c.msisdn) as Record<string, string>);
    await expectRefused(brokenId, form, 400);

    // Injection strings in every field that names the session, the caller, the code or the event;
    // control characters in the input.
    const injections = ["' OR '1'='1", "'; DROP TABLE customers;--", "<script>alert(1)</script>", "{{name}}", "%s%s%n", "${process.exit()}", "../../etc/passwd", "\u202eevil"];
    const idField = dialect === "hubtel" ? "SessionId" : "sessionId";
    const phoneField = dialect === "hubtel" ? "Mobile" : "msisdn";
    const codeField = dialect === "hubtel" ? "ServiceCode" : "serviceCode";
    const eventField = dialect === "hubtel" ? "Type" : "event";
    for (const [i, evil] of injections.entries()) {
      const id = sid(`${dialect}-inj${i}`);
      for (const [field, value] of [
        [idField, evil],
        [idField, `${id}${evil}`],
        [phoneField, `${c.msisdn}${evil}`],
        [codeField, `*384#${evil}`],
        [eventField, `${String(driver.begin(id, c.msisdn)[eventField])}${evil}`],
      ] as const) {
        const r = await postJson(driver, i % 2, { ...driver.begin(id, c.msisdn), [field]: value });
        await expectRefused(id, r, 400);
      }
      refused.push(evil);
    }
    for (const text of ["1\u0000", "2\u0007", "1\r\n", "\u007f"]) {
      const id = sid(`${dialect}-ctl`);
      await expectRefused(id, await postJson(driver, 0, driver.next(id, c.msisdn, 1, text)), 400);
    }
    if (dialect === "generic") {
      // A sequence that is not a hop number is no hop at all.
      for (const seq of ["1; DROP TABLE transfers", -1, 1.5, 1_001]) {
        const id = sid("generic-seq");
        await expectRefused(id, await postJson(driver, 1, { ...driver.begin(id, c.msisdn), seq }), 400);
      }
    }

    // No session record, lock or anything else under any refused id; no key, no row changed.
    for (const id of refused) expect(await rig.keysOf(id), id).toEqual([]);
    expect(await allKeys()).toEqual(keys);
    expect(await rig.counts()).toEqual(rows);
    // The refused session id is untouched: it starts normally.
    expect((await hop(driver, 0, driver.begin(secretId, c.msisdn))).air).toBe(SCREENS.en.main);
  });

  it("injection strings typed inside a session get the step's own refusal, are not echoed or stored, and move nothing", async () => {
    const payee = await rig.customer(nextPhone(), "Peter Otieno", "en", "5831");
    const evils = ["' OR '1'='1", "'; DROP TABLE customers;--", "<script>alert(1)</script>", "{{name}}"];
    // One payer per string: a session closed mid-flow leaves its resume offer to the number's next dial.
    const payers = [];
    for (const _ of evils) payers.push(await rig.customer(nextPhone(), "Rose Chebet", "en", PIN, 500_00n));
    const rows = await rig.counts();
    for (const [i, evil] of evils.entries()) {
      const payer = payers[i]!;
      const sessionId = sid(`${dialect}-evil${i}`);
      const { replies } = await walk(driver, sessionId, payer.msisdn, ["2", evil, local(payee.msisdn), evil, "10", "1", evil]);
      expect(replies[2]).toMatch(/^CON (This number or alias cannot be paid\.|Check the number or alias and try again\.|Use 3-20 letters or digits, starting with a letter\.)\nEnter the phone number or alias to pay:$/);
      expect(replies[4]).toBe("CON Invalid amount. Use digits, with at most 2 decimals.\nPay PETER O***. Enter the amount in KES:");
      expect(replies[7]).toMatch(/^CON (A PIN is 4 digits\.|Wrong PIN\. Try again\.)\nEnter your PIN to confirm:$/);
      for (const reply of replies) expect(reply).not.toContain(evil);
      expectOnAir(replies);
      await settle();
      const stored = (await rig.redis.get(`${rig.prefix}${driver.name}:${sessionId}`)) ?? "";
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).not.toContain(evil);
      expect(await rig.redis.exists(`${rig.prefix}lock:${driver.name}:${sessionId}`)).toBe(0);
      // The network closes it.
      expect((await postJson(driver, 0, driver.close(sessionId, payer.msisdn))).status).toBe(200);
    }
    const after = await rig.counts();
    expect(after).toMatchObject({ customers: rows.customers, transfers: rows.transfers, aliases: rows.aliases, pins: rows.pins });
    for (const payer of payers) expect(await rig.balance(payer.walletAccountId)).toBe(500_00n);
  });

  it("the network closing the session mid-flow ends it on both instances; the next dial offers to continue", async () => {
    const c = await rig.customer(nextPhone(), "Tom Kiprono", "en", PIN, 1_000_00n);
    const sessionId = sid(`${dialect}-close`);
    const { replies } = await walk(driver, sessionId, c.msisdn, ["1"]);
    expect(replies).toEqual([SCREENS.en.main, SCREENS.en.askPin]);
    await settle();
    expect((await rig.keysOf(sessionId)).sort()).toEqual([`${rig.prefix}${driver.name}:${sessionId}`]);

    const closed = await postJson(driver, 1, driver.close(sessionId, c.msisdn));
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual(
      dialect === "hubtel"
        ? { SessionId: sessionId, Type: "release", Message: "", Label: "", DataType: "display", FieldType: "text" }
        : { sessionId, action: "end", message: "" },
    );
    // The network's retry of the close, on the other instance: the same answer, no lock left. The
    // ended record is kept closed until it lapses, on both dialects (a generic begin under the id
    // still opens a new session).
    expect((await postJson(driver, 0, driver.close(sessionId, c.msisdn))).body).toEqual(closed.body);
    await settle();
    expect(await rig.keysOf(sessionId)).toEqual([`${rig.prefix}${driver.name}:${sessionId}`]);

    // It was interrupted at the PIN: the number's next session offers to continue there.
    const next = await walk(driver, sid(`${dialect}-resume`), c.msisdn, ["1", PIN]);
    expect(next.replies).toEqual(["CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again", SCREENS.en.askPin, SCREENS.en.balance]);
  });
});

/** Hubtel requests of one session without a Sequence: what tells a retry from the next hop is the ClientState handed back. */
function hubtelBody(msisdn: string, sessionId: string) {
  return (type: string, message: string, clientState: string): Body => ({
    Type: type,
    Mobile: msisdn.slice(1),
    SessionId: sessionId,
    ServiceCode: "*384#",
    Message: message,
    ClientState: clientState,
  });
}

describe("Hubtel specifics", () => {
  it("without a Sequence, a retry handing back the same ClientState gets the stored reply, and the next hop runs even with the same input", async () => {
    const c = await rig.customer(nextPhone(), "Anne Njoki", "en", PIN, 1_000_00n);
    const sessionId = sid("hubtel-state");
    const bare = hubtelBody(c.msisdn, sessionId);
    const first = await hop(HUBTEL, 0, bare("Initiation", "*384#", ""));
    expect(first.air).toBe(SCREENS.en.main);
    const askPin = await hop(HUBTEL, 1, bare("Response", "1", first.body.ClientState as string));
    expect(askPin.air).toBe(SCREENS.en.askPin);
    const wrong = "CON Wrong PIN. Try again.\nEnter your PIN:";
    const wrong1 = await hop(HUBTEL, 0, bare("Response", "1111", askPin.body.ClientState as string));
    expect(wrong1.air).toBe(wrong);
    // Retried twice (same ClientState as the first try): the stored reply, the PIN not tried again.
    for (const instance of [1, 0]) {
      const retry = await hop(HUBTEL, instance, bare("Response", "1111", askPin.body.ClientState as string));
      expect([retry.air, retry.body.ClientState]).toEqual([wrong, wrong1.body.ClientState]);
    }
    // The same input with the new ClientState is a new hop: the second wrong PIN, then the third locks.
    const wrong2 = await hop(HUBTEL, 1, bare("Response", "1111", wrong1.body.ClientState as string));
    expect(wrong2.air).toBe(wrong);
    expect(wrong2.body.ClientState).not.toBe(wrong1.body.ClientState);
    const wrong3 = await hop(HUBTEL, 0, bare("Response", "1111", wrong2.body.ClientState as string));
    expect(wrong3.air).toMatch(/^END Your PIN is locked until /);
  });

  it("without a Sequence, an Initiation re-delivered late, mid-session, gets the current screen and runs nothing", async () => {
    const c = await rig.customer(nextPhone(), "Agnes Moraa", "en", PIN, 1_000_00n);
    const sessionId = sid("hubtel-late-init");
    const bare = hubtelBody(c.msisdn, sessionId);
    const first = await hop(HUBTEL, 0, bare("Initiation", "*384#", ""));
    const askPin = await hop(HUBTEL, 1, bare("Response", "1", first.body.ClientState as string));
    expect(askPin.air).toBe(SCREENS.en.askPin);
    const audit = (await rig.counts()).audit;
    // The Initiation again, on either instance: the PIN prompt still, no empty answer to it tried.
    for (const instance of [0, 1]) expect((await hop(HUBTEL, instance, bare("Initiation", "*384#", ""))).air).toBe(SCREENS.en.askPin);
    expect((await rig.counts()).audit).toBe(audit);
    const balance = await hop(HUBTEL, 0, bare("Response", PIN, askPin.body.ClientState as string));
    expect(balance.air).toBe(SCREENS.en.balance);
  });

  // Hubtel's Operator here ("safaricom") is in no operator map: its aggregator's configured networkCode bills its sessions.
  // The generic dialect's requests carry theirs. Either way one session is metered once.
  it("a Timeout (Hubtel) or end (generic) meters the session once, even when repeated on the other instance", async () => {
    const now = new Date(Date.now() - 60_000);
    const telcoId = randomUUID();
    await new SqlTariffStore(rig.test.db).insertTelco({ id: telcoId, code: `safaricom-${randomBytes(3).toString("hex")}`, name: "Safaricom", networkCodes: ["63902"], smppLinkIds: [], createdAt: now }, []);
    for (const driver of [HUBTEL, GENERIC]) {
      const c = await rig.customer(nextPhone(), "Lucy Atieno", "en", PIN, 1_000_00n);
      const sessionId = sid(`${driver.name}-timeout`);
      await walk(driver, sessionId, c.msisdn, ["1"]);
      for (const instance of [1, 0]) expect((await postJson(driver, instance, driver.close(sessionId, c.msisdn))).status).toBe(200);
      await settle();
      expect(await rig.keysOf(sessionId)).toEqual([`${rig.prefix}${driver.name}:${sessionId}`]);
      const metered = await rig.test.db.query<{ stages: number; end_reason: string; telco_id: string }>(
        "SELECT stages, end_reason, telco_id FROM metered_sessions WHERE session_id LIKE $1 || '@%'",
        [`${driver.name}:${sessionId}`],
      );
      expect(metered.rows, driver.name).toEqual([{ stages: 2, end_reason: driver === HUBTEL ? "timeout" : "abort", telco_id: telcoId }]);
    }
  });
});
