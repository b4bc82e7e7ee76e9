/**
 * When the Hubtel dialect asks for the institution's country (DialectOptions.localMsisdn): only for
 * a Mobile in national format on a request that otherwise reads, never on an ordinary hop (Mobile
 * "233…", as Hubtel sends it as a rule), whose cost stays what it was. And the link's serviceId is
 * checked when the router is built.
 */
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "hubtel-lookup-shared-secret-0123456789";
const silent = { info() {}, warn() {}, error() {} };
const CALLER = "+233241310101";

function setup(aggregators: AggregatorConfig[] = [{ name: "hubtel", dialect: "hubtel", secret: SECRET }]) {
  const bank = new FakeBank();
  const ctx = bank.context(CALLER);
  const asked: string[] = [];
  const channel = createUssdChannel({
    ports: { directory: ctx.directory, pins: ctx.pins, accounts: ctx.accounts, payments: ctx.payments, simSwap: ctx.simSwap },
    institutionId: bank.institutionId,
    sessions: new MemorySessionStore(),
    secretKey: Buffer.alloc(32, 5),
    aggregators,
    logger: silent,
    // What the gateway does with the directory, for Ghana: "0241310101" → "+233241310101".
    localMsisdn: async (national) => {
      asked.push(national);
      return /^0[0-9]{9}$/.test(national) ? `+233${national.slice(1)}` : null;
    },
  });
  const app = express();
  app.use(channel.router);
  bank.addCustomer(CALLER, "Kofi Mensah", { pin: "4827", balance: 75_00n });
  return { app, asked };
}

const hop = (app: express.Express, body: object) => request(app).post("/ussd/hubtel").set("x-fingate-secret", SECRET).send(body);
const base = { Type: "Initiation", SessionId: "s1", ServiceCode: "384", Message: "*384#", Operator: "mtn", Sequence: 1 };

describe("Hubtel Mobile: the institution's country is asked for only when needed", () => {
  it("an ordinary hop (233…, +233…) serves without asking", async () => {
    const { app, asked } = setup();
    for (const [i, Mobile] of ["233241310101", "+233241310101"].entries()) {
      const r = await hop(app, { ...base, SessionId: `plain-${i}`, Mobile });
      expect([r.status, r.body.Type], Mobile).toEqual([200, "response"]);
    }
    expect(asked).toEqual([]);
  });

  it("a local number is asked for once and served as the customer's E.164 number", async () => {
    const { app, asked } = setup();
    const r = await hop(app, { ...base, SessionId: "local", Mobile: "0241310101" });
    expect([r.status, r.body.Type]).toEqual([200, "response"]);
    expect(r.body.Message).toMatch(/^Welcome to fingate\n1\. Balance/);
    expect(asked).toEqual(["0241310101"]);
  });

  it("garbage, or a local number on a request refused for another field, is refused without asking", async () => {
    const { app, asked } = setup();
    for (const Mobile of ["abc", "0241310101abc", "0", "+0241310101", "0".repeat(40), 241310101]) {
      const r = await hop(app, { ...base, SessionId: "bad", Mobile });
      expect([r.status, r.body], String(Mobile)).toEqual([400, { error: "bad request" }]);
    }
    for (const more of [{ Sequence: "x" }, { ServiceCode: "*#" }, { Message: "1\u0000" }]) {
      const r = await hop(app, { ...base, SessionId: "bad", Mobile: "0241310101", ...more });
      expect([r.status, r.body], JSON.stringify(more)).toEqual([400, { error: "bad request" }]);
    }
    expect(asked).toEqual([]);
  });

  it("a local number that reads as none is refused (400)", async () => {
    const { app, asked } = setup();
    const r = await hop(app, { ...base, SessionId: "short", Mobile: "024131" });
    expect([r.status, r.body]).toEqual([400, { error: "bad request" }]);
    expect(asked).toEqual(["024131"]);
  });
});

describe("a configured serviceId", () => {
  it("must be a Programmable Services id, on a Hubtel link", () => {
    for (const serviceId of ["", "12345", "7c920dc4-9b7a", "x".repeat(65), "abc def"]) {
      expect(() => setup([{ name: "hubtel", dialect: "hubtel", secret: SECRET, serviceId }]), serviceId).toThrow(/serviceId/);
    }
    expect(() => setup([{ name: "gen", dialect: "generic", secret: SECRET, serviceId: "b230733cd56b4a0fad820e39f66bc27c" }])).toThrow(/serviceId/);
    expect(() => setup([{ name: "hubtel", dialect: "hubtel", secret: SECRET, serviceId: "b230733cd56b4a0fad820e39f66bc27c" }])).not.toThrow();
  });
});
