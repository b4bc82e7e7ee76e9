/**
 * Africa's Talking's protocol, end to end (real Africa's Talking payloads via supertest, two gateway
 * instances on the real Redis, the real core on PostgreSQL): `text` is every input so far joined by
 * `*`, so a hop whose text does not extend the last answered one is no hop of the session; a
 * continuation of a session the gateway does not know (its record lost) is not run as a new dial;
 * the serviceCode must be the aggregator's configured one; a networkCode given must be an MCC+MNC.
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveHopsFirst } from "../../src/ussd/fast-path.js";
import { openUssdRig, type RigInstance, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-at-protocol-secret-0123456789abcdef";
const OUT_OF_ORDER = "END This request does not continue your session. Nothing was done. Please dial again.";
const EXPIRED = "END Your session has expired. Please dial again.";
const MAIN = "CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";
const PIN_PROMPT = "CON Enter your PIN to confirm:";

let rig: UssdRig;

beforeAll(async () => {
  rig = await openUssdRig({ code: "at-protocol-bank", secret: SECRET });
});

afterAll(() => rig?.close());

/** The session's stored record, as Redis holds it. */
const stored = (sessionId: string) => rig.redis.get(`${rig.prefix}at:${sessionId}`);

/** An Africa's Talking hop with exactly these form fields (none added). */
const form = (app: express.Express, fields: Record<string, string>) => request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send(fields);

describe("Africa's Talking: a text that does not extend the last answered one", () => {
  it("is refused (END) without running it: no money moves, the session stays where it was, the last hop's retry gets its answer, the next hop runs", async () => {
    const payer = await rig.customer("+254712760001", "Rose Chebet", "en", "4827", 1_000_00n);
    const payee = await rig.customer("+254712760002", "Peter Otieno", "en", "5831", 0n);
    const id = "atp-order-1";
    const replies = await rig.walk(id, "+254712760001", ["2", "0712760002", "100", "1"], { alternate: true });
    expect(replies.at(-1)).toBe(PIN_PROMPT);
    const record = await stored(id);
    const before = await rig.counts();

    // The amount typed as 150, not 100, then a PIN: not the last text followed by an input. Before
    // 2026-11-30 its segments past those consumed ("4827") ran as the answer to the PIN prompt and
    // sent the 100.
    for (const instance of [0, 1]) {
      const r = await rig.post(instance, id, "+254712760001", "2*0712760002*150*1*4827");
      expect([r.status, r.text]).toEqual([200, OUT_OF_ORDER]);
    }
    // As long as the last text but another one ("1*2" then "3*5"): before, taken for an older hop.
    expect((await rig.post(1, id, "+254712760001", "1*0712760002*100*9")).text).toBe(OUT_OF_ORDER);

    await rig.instances[0]!.gateway.hops.drain();
    await rig.instances[1]!.gateway.hops.drain();
    // The record only notes the refusal's END, metered with the session should it end there
    // (ussd-metering-refused); the real next hop below clears it.
    expect(JSON.parse((await stored(id))!)).toEqual({ ...JSON.parse(record!), refusedEnd: true });
    expect(await rig.counts()).toEqual(before);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n);

    // The session was neither changed nor closed: the last hop's retry gets its own answer again,
    // and the real next hop (the last text and the PIN) sends the payment once.
    expect((await rig.post(1, id, "+254712760001", "2*0712760002*100*1")).text).toBe(PIN_PROMPT);
    const sent = await rig.post(0, id, "+254712760001", "2*0712760002*100*1*4827");
    expect(sent.text).toMatch(/^END Sent KES 100\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\./);
    expect(await rig.balance(payer.walletAccountId)).toBe(900_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(100_00n);
  });

  it("an older hop delivered late (a prefix) still gets the current screen, and a PIN typed in another script extends its text", async () => {
    await rig.customer("+254712760003", "Mary Akinyi", "en", "4827", 500_00n);
    const id = "atp-order-2";
    const replies = await rig.walk(id, "+254712760003", ["1"]);
    expect(replies).toEqual([MAIN, "CON Enter your PIN:"]);
    expect((await rig.post(1, id, "+254712760003", "")).text).toBe("CON Enter your PIN:");
    // A phone set to Hindi types the PIN in Devanagari digits: the text still extends the last one.
    expect((await rig.post(1, id, "+254712760003", "1*४८२७")).text).toBe("END Your balance is KES 500.00.");
  });

  it("a dial-string shortcut's first text, then the next inputs, still run (the shortcut's text is the first hop's)", async () => {
    await rig.customer("+254712760004", "John Kamau", "en", "4827", 500_00n);
    await rig.customer("+254712760005", "Ann Njeri", "en", "5831", 0n);
    const id = "atp-order-3";
    expect((await rig.post(0, id, "+254712760004", "2*0712760005*100")).text).toBe("CON Send KES 100.00 to ANN N***?\nFee KES 0.00. Total KES 100.00.\n1. Confirm\n2. Cancel");
    expect((await rig.post(1, id, "+254712760004", "2*0712760005*100*1")).text).toBe(PIN_PROMPT);
    expect((await rig.post(0, id, "+254712760004", "2*0712760005*100*1*4827")).text).toMatch(/^END Sent KES 100\.00 to ANN N\*\*\*\./);
  });
});

describe("Africa's Talking: the continuation of a session the gateway does not know", () => {
  it("ends with 'session expired' instead of running its inputs, stores only that END, and leaves the caller's resume point", async () => {
    await rig.customer("+254712760006", "Grace Wambui", "en", "4827", 500_00n);
    await rig.customer("+254712760007", "Paul Mwangi", "en", "5831", 0n);
    const id = "atp-lost-1";
    // Mid-flow (the amount is asked): the session's record is lost (evicted, lapsed).
    expect((await rig.walk(id, "+254712760006", ["2", "0712760007"])).at(-1)).toBe("CON Pay PAUL M***. Enter the amount in KES:");
    await rig.redis.del(`${rig.prefix}at:${id}`);
    const before = await rig.counts();

    // Four inputs: more than any dial string carries (a menu number and two values), so no first hop.
    // Before 2026-11-30 it opened the main menu, whose next answer was a choice nobody made.
    for (const instance of [0, 1]) {
      const r = await rig.post(instance, id, "+254712760006", "2*0712760007*100*1");
      expect([r.status, r.text]).toEqual([200, EXPIRED]);
    }
    await rig.instances[0]!.gateway.hops.drain();
    await rig.instances[1]!.gateway.hops.drain();
    // That END ended the session: a later hop of it hears so. No main menu is stored under the
    // session, only its END, closed (and metered as that one screen: ussd-metering-refused);
    // nothing moved.
    expect((await rig.post(0, id, "+254712760006", "2*0712760007*100*1*4827")).text).toBe("END This session has ended. Please dial again.");
    expect(JSON.parse((await stored(id))!)).toMatchObject({ menu: null, closed: true, consumed: 0 });
    expect(await rig.keysOf(id)).toEqual([`${rig.prefix}at:${id}`]);
    expect(await rig.counts()).toMatchObject({ transfers: before.transfers, customers: before.customers, pins: before.pins });

    // Dialling again offers to continue where the lost session was.
    expect((await rig.post(1, "atp-lost-2", "+254712760006", "")).text).toBe("CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again");
  });

  it("a text of up to three segments cannot be told from a shortcut dial's first hop: it opens the shortcut", async () => {
    await rig.customer("+254712760008", "Lucy Atieno", "en", "4827", 500_00n);
    expect((await rig.post(0, "atp-lost-3", "+254712760008", "1")).text).toBe("CON Enter your PIN:");
  });
});

describe("Africa's Talking: serviceCode and networkCode", () => {
  let configured: RigInstance;
  let fronted: express.Express;
  const served = { fast: 0 };

  beforeAll(async () => {
    configured = await rig.addInstance({ atServiceCode: "*384*12#" });
    // The same instance's hops served off node:http ahead of Express, as the gateway does.
    const app = express();
    app.use(configured.gateway.router);
    fronted = serveHopsFirst(app, (req, res) => {
      const took = configured.gateway.fastPath(req, res);
      if (took) served.fast += 1;
      return took;
    });
  });

  const fields = (sessionId: string, more: Record<string, string>) => ({ sessionId, serviceCode: "*384*12#", phoneNumber: "+254712760009", networkCode: "63902", text: "", ...more });

  it("a request for another short code than the configured one is refused (400), on the Express route and the fast path", async () => {
    await rig.customer("+254712760009", "Daniel Kiprop", "en", "4827", 500_00n);
    for (const [name, app] of [["express", configured.app], ["fast", fronted]] as const) {
      for (const code of ["*385#", "*384*13#", "*385*12#"]) {
        const id = `atp-code-${name}-${code.replace(/\W/g, "")}`;
        const r = await form(app, fields(id, { serviceCode: code }));
        expect([r.status, r.text], `${code} via ${name}`).toEqual([400, "END bad request"]);
        expect(await rig.keysOf(id)).toEqual([]);
      }
      // The configured code, and that code with its extension left out (as some aggregators send it).
      for (const code of ["*384*12#", "*384#"]) {
        const r = await form(app, fields(`atp-code-ok-${name}-${code.replace(/\W/g, "")}`, { serviceCode: code }));
        expect([r.status, r.text], `${code} via ${name}`).toEqual([200, MAIN]);
      }
    }
    expect(served.fast).toBe(5);
    // An aggregator without a configured code answers any well-formed one, as before.
    expect((await form(rig.instances[0]!.app, fields("atp-code-any", { serviceCode: "*385#" }))).status).toBe(200);
  });

  it("a networkCode that is not an MCC+MNC is refused (400); absent, empty or of 5-6 digits it is taken", async () => {
    for (const [name, app] of [["express", configured.app], ["fast", fronted]] as const) {
      for (const code of ["abc", "6390a", "63 902", "+63902", "639", "6390212"]) {
        const id = `atp-net-${name}-${code.replace(/\W/g, "_")}`;
        const r = await form(app, fields(id, { networkCode: code }));
        expect([r.status, r.text], `${JSON.stringify(code)} via ${name}`).toEqual([400, "END bad request"]);
        expect(await rig.keysOf(id)).toEqual([]);
      }
      for (const code of ["63902", "405854", ""]) {
        const r = await form(app, fields(`atp-net-ok-${name}-${code || "empty"}`, { networkCode: code }));
        expect([r.status, r.text], `${JSON.stringify(code)} via ${name}`).toEqual([200, MAIN]);
      }
      const { networkCode: _none, ...without } = fields(`atp-net-ok-${name}-absent`, {});
      expect((await form(app, without)).text).toBe(MAIN);
    }
  });
});
