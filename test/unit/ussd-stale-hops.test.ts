/**
 * A hop that arrives late and out of order (an aggregator's delayed retry of an older hop, after a
 * newer one was answered) runs no step and changes nothing: it gets the current screen again (the
 * same answer the newest hop got), the newest hop's retry still gets its stored answer, and the
 * flow goes on. Without this, the earlier amount "1234" landed on the PIN prompt as a wrong PIN.
 */
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "stale-hop-shared-secret-0123456789";
const silent = { info() {}, warn() {}, error() {} };
const PAYER = "+254700000010";
const PIN_PROMPT = "Enter your PIN to confirm:";
const RECEIPT = /^Sent KES 1,234\.00 to PETER\. Ref [0-9A-F]+\./;

function setup() {
  const bank = new FakeBank();
  const sessions = new MemorySessionStore();
  const channel = createUssdChannel({
    ports: bank.ports(),
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 5),
    aggregators: [
      { name: "hubtel", dialect: "hubtel", secret: SECRET, header: "x-hubtel-secret" },
      { name: "gen", dialect: "generic", secret: SECRET, secretIn: "path" },
      { name: "at", dialect: "africastalking", secret: SECRET },
    ],
    logger: silent,
  });
  const app = express();
  app.use(channel.router);
  const payer = bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 5_000_00n });
  bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  const failures = () => bank.pins.get(payer.id)!.failures;
  return { bank, app, sessions, failures };
}

/** The send flow's inputs up to the PIN prompt: send money, payee, amount, confirm. */
const TO_PIN = ["2", "peter", "1234", "1"];

describe("Hubtel: a lower Sequence after a higher one", () => {
  const base = { Mobile: "254700000010", SessionId: "hs1", ServiceCode: "384" };
  const hubtel = (app: express.Express, body: object) =>
    request(app)
      .post("/ussd/hubtel")
      .set("x-hubtel-secret", SECRET)
      .send({ ...base, ...body });

  it("the earlier amount on the PIN prompt runs nothing: no wrong PIN, the session as it was, the newest hop's retry answered", async () => {
    const { app, bank, sessions, failures } = setup();
    expect((await hubtel(app, { Type: "Initiation", Message: "*384#", Sequence: 1 })).body.Message).toMatch(/^Welcome to fingate/);
    let last!: request.Response;
    for (const [i, input] of TO_PIN.entries()) last = await hubtel(app, { Type: "Response", Message: input, Sequence: i + 2 });
    expect(last.body).toMatchObject({ Type: "response" });
    expect(last.body.Message).toContain(PIN_PROMPT);
    const stored = await sessions.get("hubtel:hs1");

    // The amount hop (Sequence 4), delayed, lands after the confirmation (Sequence 5).
    const stale = await hubtel(app, { Type: "Response", Message: "1234", Sequence: 4 });
    expect(stale.body).toMatchObject({ Type: "response", Message: last.body.Message });
    // So does the Initiation, re-delivered late.
    expect((await hubtel(app, { Type: "Initiation", Message: "*384#", Sequence: 1 })).body.Message).toBe(last.body.Message);
    expect(failures()).toBe(0);
    expect(await sessions.get("hubtel:hs1")).toBe(stored);

    // The newest hop's retry still gets its stored answer, ClientState included.
    expect((await hubtel(app, { Type: "Response", Message: "1", Sequence: 5 })).body).toEqual(last.body);
    // And the flow goes on.
    const done = await hubtel(app, { Type: "Response", Message: "4827", Sequence: 6 });
    expect(done.body.Type).toBe("release");
    expect(done.body.Message).toMatch(RECEIPT);
    expect(bank.sends.size).toBe(1);
    expect(failures()).toBe(0);
  });
});

describe("generic JSON: a lower seq after a higher one", () => {
  const base = { sessionId: "gs1", msisdn: PAYER, serviceCode: "*384#" };
  const gen = (app: express.Express, body: object) =>
    request(app)
      .post(`/ussd/gen/${SECRET}`)
      .send({ ...base, ...body });

  it("the earlier amount on the PIN prompt runs nothing: no wrong PIN, the session as it was, the newest hop's retry answered", async () => {
    const { app, bank, sessions, failures } = setup();
    expect((await gen(app, { event: "begin", seq: 0, input: "" })).body.message).toMatch(/^Welcome to fingate/);
    let last!: request.Response;
    for (const [i, input] of TO_PIN.entries()) last = await gen(app, { event: "continue", seq: i + 1, input });
    expect(last.body).toMatchObject({ action: "continue", seq: 4 });
    expect(last.body.message).toContain(PIN_PROMPT);
    const stored = await sessions.get("gen:gs1");

    const stale = await gen(app, { event: "continue", seq: 3, input: "1234" });
    expect(stale.body).toEqual({ sessionId: "gs1", seq: 3, action: "continue", message: last.body.message });
    expect((await gen(app, { event: "continue", seq: 1, input: "2" })).body.message).toBe(last.body.message);
    expect((await gen(app, { event: "begin", seq: 0, input: "" })).body.message).toBe(last.body.message);
    expect(failures()).toBe(0);
    expect(await sessions.get("gen:gs1")).toBe(stored);

    expect((await gen(app, { event: "continue", seq: 4, input: "1" })).body).toEqual(last.body);
    const done = await gen(app, { event: "continue", seq: 5, input: "4827" });
    expect(done.body.action).toBe("end");
    expect(done.body.message).toMatch(RECEIPT);
    expect(bank.sends.size).toBe(1);
    expect(failures()).toBe(0);
  });

  it("an earlier choice landing on the confirmation neither confirms nor cancels it", async () => {
    const { app, bank, sessions } = setup();
    await gen(app, { event: "begin", seq: 0, input: "" });
    let last!: request.Response;
    // "1" (seq 3) is the amount; then seq 4 answers the confirmation with "2" (Cancel) would end it.
    for (const [i, input] of ["2", "peter", "1"].entries()) last = await gen(app, { event: "continue", seq: i + 1, input });
    expect(last.body.message).toMatch(/^Send KES 1\.00 to PETER\?/);
    const stored = await sessions.get("gen:gs1");
    // The main menu's "2" (seq 1), delayed, would be Cancel on this screen.
    expect((await gen(app, { event: "continue", seq: 1, input: "2" })).body).toMatchObject({ action: "continue", message: last.body.message });
    expect(await sessions.get("gen:gs1")).toBe(stored);
    expect((await gen(app, { event: "continue", seq: 4, input: "1" })).body.message).toContain(PIN_PROMPT);
    expect((await gen(app, { event: "continue", seq: 5, input: "4827" })).body.message).toMatch(/^Sent KES 1\.00 to PETER\./);
    expect(bank.sends.size).toBe(1);
  });
});

describe("Africa's Talking: a shorter cumulative text after a longer one", () => {
  const at = (app: express.Express, text: string) =>
    request(app)
      .post("/ussd/at")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId: "as1", serviceCode: "*384#", phoneNumber: PAYER, networkCode: "63902", text });
  const texts = ["", ...TO_PIN.map((_, i) => TO_PIN.slice(0, i + 1).join("*"))];

  it("an older text runs nothing, keeps the stored session, and the newest hop's retry still gets its answer", async () => {
    const { app, bank, sessions, failures } = setup();
    let last!: request.Response;
    for (const text of texts) last = await at(app, text);
    expect(last.text).toMatch(/^CON /);
    expect(last.text).toContain(PIN_PROMPT);
    const stored = await sessions.get("at:as1");

    // The amount hop ("2*peter*1234"), delayed, and the very first hop, re-delivered late.
    for (const text of ["2*peter*1234", "2*peter", ""]) expect((await at(app, text)).text, text).toBe(last.text);
    // A text as long as the one consumed but not it is no hop of this session: refused (END),
    // nothing run (before 2026-11-30 it was taken for an older hop and shown this screen). The
    // session stays where it was; its record only notes the refusal, for the metering should the
    // session end there.
    expect((await at(app, "2*peter*1234*2")).text).toBe("END This request does not continue your session. Nothing was done. Please dial again.");
    expect(failures()).toBe(0);
    expect(JSON.parse((await sessions.get("at:as1"))!)).toEqual({ ...JSON.parse(stored!), refusedEnd: true });

    // The real retry of the newest hop gets its stored answer (the stale hop did not overwrite it).
    expect((await at(app, "2*peter*1234*1")).text).toBe(last.text);
    const done = await at(app, "2*peter*1234*1*4827");
    expect(done.text).toMatch(/^END Sent KES 1,234\.00 to PETER\. Ref /);
    expect(bank.sends.size).toBe(1);
    expect(failures()).toBe(0);
    // After the END, an older hop is told the session has ended, as any other new hop is.
    expect((await at(app, "2*peter*1234")).text).toMatch(/^END This session has ended/);
    expect((await at(app, "2*peter*1234*1*4827")).text).toBe(done.text);
  });
});
