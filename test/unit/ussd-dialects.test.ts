import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "dialect-shared-secret-0123456789";
const silent = { info() {}, warn() {}, error() {} };

const AGGREGATORS: AggregatorConfig[] = [
  { name: "hubtel", dialect: "hubtel", secret: SECRET, header: "x-hubtel-secret" },
  { name: "gen", dialect: "generic", secret: SECRET, secretIn: "path" },
];

function setup(aggregators = AGGREGATORS) {
  const bank = new FakeBank();
  const ctx = bank.context("+233200000000");
  const sessions = new MemorySessionStore();
  const ended: EndedUssdSession[] = [];
  const channel = createUssdChannel({
    ports: { directory: ctx.directory, pins: ctx.pins, accounts: ctx.accounts, payments: ctx.payments, simSwap: ctx.simSwap },
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 3),
    aggregators,
    logger: silent,
    onSessionEnd: async (session) => void ended.push(session),
  });
  const app = express();
  app.use(channel.router);
  bank.addCustomer("+233200000010", "Kofi Mensah", { pin: "4827", balance: 75_00n });
  bank.addCustomer("+233200000020", "Ama Owusu", { alias: "ama" });
  return { bank, app, sessions, ended };
}

describe("Hubtel dialect", () => {
  const hubtel = (app: express.Express, body: object, secret = SECRET) => request(app).post("/ussd/hubtel").set("x-hubtel-secret", secret).send(body);
  const base = { Mobile: "233200000010", SessionId: "h1", ServiceCode: "384", Operator: "MTN", Platform: "USSD" };

  it("Initiation → response, Response → release, retries by Sequence", async () => {
    const { app } = setup();
    const init = await hubtel(app, { ...base, Type: "Initiation", Message: "*384#", Sequence: 1 });
    expect(init.status).toBe(200);
    expect(init.body).toMatchObject({ SessionId: "h1", Type: "response", DataType: "input" });
    expect(init.body.Message).toMatch(/^Welcome to fingate\n1\. Balance/);
    expect((await hubtel(app, { ...base, Type: "Response", Message: "1", Sequence: 2 })).body.Message).toBe("Enter your PIN:");
    const done = await hubtel(app, { ...base, Type: "Response", Message: "4827", Sequence: 3 });
    expect(done.body).toMatchObject({ Type: "release", Message: "Your balance is KES 75.00." });
    expect((await hubtel(app, { ...base, Type: "Response", Message: "4827", Sequence: 3 })).body).toEqual(done.body);
  });

  it("without a Sequence, tells retries from new hops by the ClientState it handed out", async () => {
    const { app, bank } = setup();
    const b = { ...base, SessionId: "h3" };
    const init = await hubtel(app, { ...b, Type: "Initiation", Message: "*384#" });
    expect(init.body.ClientState).toMatch(/^[\w-]{12}$/);
    expect((await hubtel(app, { ...b, Type: "Initiation", Message: "*384#" })).body.Message).toBe(init.body.Message); // retried Initiation
    const choose = { ...b, Type: "Response", Message: "1", ClientState: init.body.ClientState };
    const prompt = await hubtel(app, choose);
    expect(prompt.body.Message).toBe("Enter your PIN:");
    const retried = await hubtel(app, choose); // "1" again is the retry, not a PIN
    expect(retried.body.Message).toBe("Enter your PIN:");
    expect(retried.body).toEqual(prompt.body); // the same reply, ClientState included
    const pin = { ...b, Type: "Response", Message: "4827", ClientState: prompt.body.ClientState };
    const done = await hubtel(app, pin);
    expect(done.body).toMatchObject({ Type: "release", Message: "Your balance is KES 75.00." });
    const verifies = bank.pins.get(bank.customers.get("+233200000010")!.id)!;
    expect(verifies.failures).toBe(0);
    const again = await hubtel(app, pin); // a retried final hop gets the stored reply, not "session ended"
    expect(again.body).toMatchObject({ Type: "release", Message: "Your balance is KES 75.00." });
  });

  it("without a Sequence, the same input on the next hop runs (the ClientState differs)", async () => {
    const { app } = setup();
    const b = { ...base, SessionId: "h4" };
    const init = await hubtel(app, { ...b, Type: "Initiation", Message: "*384#" });
    const first = await hubtel(app, { ...b, Type: "Response", Message: "1", ClientState: init.body.ClientState });
    expect(first.body.Message).toBe("Enter your PIN:");
    const second = await hubtel(app, { ...b, Type: "Response", Message: "1", ClientState: first.body.ClientState });
    expect(second.body.Message).not.toBe("Enter your PIN:"); // "1" was taken as the (malformed) PIN answer
  });

  it("dial-string shortcut on Initiation, and Timeout/Release end the session, kept closed until it lapses", async () => {
    const { app, sessions } = setup();
    const init = await hubtel(app, { ...base, SessionId: "h2", Type: "Initiation", Message: "*384*2*233200000020*10#", Sequence: 1 });
    expect(init.body.Message).toMatch(/^Send KES 10\.00 to AMA\?/);
    expect(await sessions.get("hubtel:h2")).not.toBeNull();
    const t = await hubtel(app, { SessionId: "h2", Type: "Timeout" });
    expect(t.body.Type).toBe("release");
    expect(JSON.parse((await sessions.get("hubtel:h2"))!)).toMatchObject({ closed: true, reply: { lines: [{ key: "err.session_ended" }] } });
  });

  it("on a code with an extension (ServiceCode '711*2'), a plain dial opens the main menu and what follows the extension is the shortcut", async () => {
    const { app } = setup();
    const code = { ...base, ServiceCode: "711*2" };
    const plain = await hubtel(app, { ...code, SessionId: "x1", Type: "Initiation", Message: "*711*2#", Sequence: 1 });
    expect(plain.body.Message).toMatch(/^Welcome to fingate\n1\. Balance/);
    const balance = await hubtel(app, { ...code, SessionId: "x2", Type: "Initiation", Message: "*711*2*1#", Sequence: 1 });
    expect(balance.body.Message).toBe("Enter your PIN:");
    // The same with the code written in full; a dial of some other code (another caller: no resume offer) has no shortcut.
    expect((await hubtel(app, { ...base, ServiceCode: "*711*2#", SessionId: "x3", Type: "Initiation", Message: "*711*2*1#", Sequence: 1 })).body.Message).toBe("Enter your PIN:");
    expect((await hubtel(app, { ...code, Mobile: "233200000020", SessionId: "x4", Type: "Initiation", Message: "*711*3*1#", Sequence: 1 })).body.Message).toMatch(/^Welcome to fingate/);
  });

  it("a configured service code names the extension when the requests' ServiceCode leaves it out", async () => {
    const { app } = setup([{ name: "hubtel", dialect: "hubtel", secret: SECRET, header: "x-hubtel-secret", serviceCode: "*713*20#" }]);
    const code = { ...base, ServiceCode: "713" };
    expect((await hubtel(app, { ...code, SessionId: "y1", Type: "Initiation", Message: "*713*20#", Sequence: 1 })).body.Message).toMatch(/^Welcome to fingate/);
    expect((await hubtel(app, { ...code, SessionId: "y2", Type: "Initiation", Message: "*713*20*1#", Sequence: 1 })).body.Message).toBe("Enter your PIN:");
  });

  it("a session is metered under its caller's network (Operator), else the aggregator's configured one", async () => {
    const { app, ended } = setup([
      { name: "hubtel", dialect: "hubtel", secret: SECRET, header: "x-hubtel-secret", networkCode: "62001", operatorNetworks: { mtn: "62001", vodafone: "62002", orange: "61203" } },
    ]);
    for (const [SessionId, Operator] of [["n1", "vodafone"], ["n2", "MTN"], ["n3", "Orange"], ["n4", "unheard-of"], ["n5", undefined]] as const) {
      await hubtel(app, { ...base, SessionId, Operator, Type: "Initiation", Message: "*384#", Sequence: 1 });
      await hubtel(app, { SessionId, Type: "Timeout" });
    }
    const networks = Object.fromEntries(ended.map((s) => [s.sessionId, s.networkCode]));
    // null: the gateway's meter bills the aggregator's networkCode.
    expect(networks).toEqual({ n1: "62002", n2: "62001", n3: "61203", n4: null, n5: null });
  });

  it("without operatorNetworks, Hubtel's Operator names Ghana's networks", async () => {
    const { app, ended } = setup();
    for (const [SessionId, Operator] of [["m1", "vodafone"], ["m2", "mtn"], ["m3", "airtel"], ["m4", "tigo"]] as const) {
      await hubtel(app, { ...base, SessionId, Operator, Type: "Initiation", Message: "*384#", Sequence: 1 });
      await hubtel(app, { SessionId, Type: "Release" });
    }
    expect(ended.map((s) => s.networkCode)).toEqual(["62002", "62001", "62006", "62003"]);
  });

  it("refuses a wrong secret and malformed JSON", async () => {
    const { app } = setup();
    expect((await hubtel(app, { ...base, Type: "Initiation", Message: "*384#" }, "wrong-secret-wrong")).status).toBe(401);
    const bad = await request(app).post("/ussd/hubtel").set("x-hubtel-secret", SECRET).type("json").send('{"Type": "Initiation",');
    expect(bad.status).toBe(400);
    expect((await hubtel(app, { ...base, Type: "Explode" })).status).toBe(400);
  });
});

describe("generic JSON dialect", () => {
  const gen = (app: express.Express, body: object, secret = SECRET) => request(app).post(`/ussd/gen/${secret}`).send(body);
  const base = { sessionId: "g1", msisdn: "+233200000010", serviceCode: "*384#" };

  it("begin, continue with seq, retry, end", async () => {
    const { app, sessions } = setup();
    const b = await gen(app, { ...base, event: "begin", seq: 0, input: "" });
    expect(b.body).toMatchObject({ sessionId: "g1", seq: 0, action: "continue" });
    expect((await gen(app, { ...base, event: "continue", seq: 1, input: "1" })).body.message).toBe("Enter your PIN:");
    const r = await gen(app, { ...base, event: "continue", seq: 2, input: "4827" });
    expect(r.body).toMatchObject({ action: "end", message: "Your balance is KES 75.00." });
    expect((await gen(app, { ...base, event: "continue", seq: 2, input: "4827" })).body).toEqual(r.body);
    await gen(app, { sessionId: "g1", event: "end" });
    // Kept closed until it lapses: a late hop hears that the session ended; a begin opens a new one.
    expect(JSON.parse((await sessions.get("gen:g1"))!)).toMatchObject({ closed: true, networkEnded: true });
    expect((await gen(app, { ...base, event: "continue", seq: 3, input: "1" })).body).toMatchObject({ action: "end", message: "This session has ended. Please dial again." });
    expect((await gen(app, { ...base, event: "begin", seq: 0, input: "" })).body).toMatchObject({ seq: 0, action: "continue" });
  });

  it("begin with a dial string shortcut; bad payloads are refused", async () => {
    const { app } = setup();
    const b = await gen(app, { ...base, sessionId: "g2", event: "begin", seq: 0, input: "", dialString: "*384*1#" });
    expect(b.body.message).toBe("Enter your PIN:");
    expect((await gen(app, { ...base, event: "begin", seq: 0 }, "wrong-secret-wrong-secret")).status).toBe(401);
    expect((await gen(app, { ...base, event: "continue", seq: -1, input: "1" })).status).toBe(400);
    expect((await gen(app, { ...base, event: "continue", seq: 1, input: { $gt: "" } })).status).toBe(400);
    expect((await gen(app, { ...base, msisdn: "abc", event: "begin", seq: 0 })).status).toBe(400);
  });

  it("a service code with an extension (*384*1#) dialled plainly opens the main menu; the segments after it are the shortcut", async () => {
    const { app } = setup();
    const code = { ...base, serviceCode: "*384*1#", event: "begin", seq: 0, input: "" };
    expect((await gen(app, { ...code, sessionId: "g3", dialString: "*384*1#" })).body.message).toMatch(/^Welcome to fingate/);
    expect((await gen(app, { ...code, sessionId: "g4", dialString: "*384*1*1#" })).body.message).toBe("Enter your PIN:");
  });
});
