// What the USSD routes answer and log when a request fails before or inside its handler: the
// body parser's refusals keep their 4xx status and the dialect's bad-request answer, and a failure
// logged with the request's path never shows a secret carried in that path.
import { gzipSync } from "node:zlib";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { serveHopsFirst } from "../../src/ussd/fast-path.js";
import type { HopLogger } from "../../src/ussd/hop-types.js";
import { loggedPath } from "../../src/http/logged-path.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "router-shared-secret-0123456789";
// Aggregator names may be up to 32 characters: as long as, or longer than, a secret.
const LONG_AT = "a-very-long-aggregator-name-at01";
const LONG_GEN = "a-very-long-aggregator-name-gen1";

function setup(logger: HopLogger = { info() {}, warn() {}, error() {} }) {
  const bank = new FakeBank();
  bank.addCustomer("+233200000010", "Kofi Mensah", { pin: "4827", balance: 75_00n });
  const channel = createUssdChannel({
    ports: bank.ports(),
    institutionId: bank.institutionId,
    sessions: new MemorySessionStore(),
    secretKey: Buffer.alloc(32, 3),
    aggregators: [
      { name: "hubtel", dialect: "hubtel", secret: SECRET, header: "x-hubtel-secret" },
      { name: "gen", dialect: "generic", secret: SECRET, secretIn: "path" },
      { name: LONG_AT, dialect: "africastalking", secret: SECRET, secretIn: "path" },
      { name: LONG_GEN, dialect: "generic", secret: SECRET, secretIn: "path" },
    ],
    logger,
  });
  const app = express();
  app.use(channel.router);
  const fast = serveHopsFirst(express(), channel.fastPath);
  fast.use(channel.router);
  return { app, fast };
}

/** A logger whose per-hop line fails (the handler throws) and which keeps its error lines. */
function failingLogger() {
  const errors: string[] = [];
  const logger: HopLogger = {
    info: () => {
      throw new Error("log sink gone");
    },
    warn: () => {},
    error: (obj, msg) => void errors.push(`${msg} ${JSON.stringify(obj)}`),
  };
  return { logger, errors };
}

describe("a failing handler's log line", () => {
  it("never holds a path-carried secret, whatever the aggregator name's length", async () => {
    const { logger, errors } = failingLogger();
    const { app, fast } = setup(logger);
    const form = { sessionId: "e1", serviceCode: "*384#", phoneNumber: "+233200000010", text: "" };
    const json = { sessionId: "e2", msisdn: "+233200000010", serviceCode: "*384#", event: "begin", seq: 0, input: "" };
    const answers = [
      await request(app).post(`/ussd/${LONG_AT}/${SECRET}`).type("form").send(form),
      await request(fast).post(`/ussd/${LONG_AT}/${SECRET}`).type("form").send(form),
      await request(app).post(`/ussd/${LONG_GEN}/${SECRET}`).send(json),
    ];
    for (const r of answers) expect([r.status, r.text]).toEqual([500, "END Service unavailable"]);
    expect(errors).toHaveLength(3);
    for (const line of errors) expect(line).not.toContain(SECRET);
    expect(errors).toEqual([
      `ussd request failed {"err":{"name":"Error"},"path":"/ussd/${LONG_AT}/[secret]"}`,
      `ussd request failed {"err":{"name":"Error"},"path":"/ussd/${LONG_AT}/[secret]"}`,
      `ussd request failed {"err":{"name":"Error"},"path":"/ussd/${LONG_GEN}/[secret]"}`,
    ]);
  });

  it("masks by position: the name and 'events' stay, anything after the name goes", () => {
    expect(loggedPath("/ussd/at")).toBe("/ussd/at");
    expect(loggedPath("/ussd/at/events")).toBe("/ussd/at/events");
    expect(loggedPath(`/ussd/${LONG_AT}/${SECRET}`)).toBe(`/ussd/${LONG_AT}/[secret]`);
    expect(loggedPath(`/ussd/${LONG_AT}/${SECRET}/events`)).toBe(`/ussd/${LONG_AT}/[secret]/events`);
    expect(loggedPath("/ussd/gen/short-secret/")).toBe("/ussd/gen/[secret]/");
  });
});

describe("a body the JSON parser refuses", () => {
  // The body goes out as given (superagent would serialize a Buffer sent as JSON).
  const raw = (body: unknown) => body as string;
  const cases: Array<[string, Record<string, string>, string | Buffer, number]> = [
    ["an unsupported charset", { "content-type": "application/json; charset=koi8-r" }, '{"Type":"Initiation"}', 415],
    ["an unsupported content encoding", { "content-type": "application/json", "content-encoding": "compress" }, '{"Type":"Initiation"}', 415],
    ["a corrupt gzip body", { "content-type": "application/json", "content-encoding": "gzip" }, Buffer.from("not gzip at all"), 400],
    ["malformed JSON", { "content-type": "application/json" }, '{"Type": "Initiation",', 400],
  ];

  it.each(cases)("Hubtel: %s keeps its status with the dialect's bad-request answer", async (_what, headers, body, status) => {
    const errors: string[] = [];
    const { app } = setup({ info() {}, warn() {}, error: (_o, msg) => void errors.push(msg) });
    const r = await request(app).post("/ussd/hubtel").set("x-hubtel-secret", SECRET).set(headers).serialize(raw).send(body);
    expect(r.status).toBe(status);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(r.body).toEqual({ error: "bad request" });
    expect(errors).toEqual([]);
  });

  it.each(cases)("generic: %s keeps its status with the dialect's bad-request answer", async (_what, headers, body, status) => {
    const errors: string[] = [];
    const { app } = setup({ info() {}, warn() {}, error: (_o, msg) => void errors.push(msg) });
    const r = await request(app).post(`/ussd/gen/${SECRET}`).set(headers).serialize(raw).send(body);
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: "bad request" });
    expect(errors).toEqual([]);
  });

  it("a well-formed gzip body is still served, and an oversized one is still a 413", async () => {
    const { app } = setup();
    const begin = { sessionId: "z1", msisdn: "+233200000010", serviceCode: "*384#", event: "begin", seq: 0, input: "" };
    const zipped = await request(app)
      .post(`/ussd/gen/${SECRET}`)
      .set({ "content-type": "application/json", "content-encoding": "gzip" })
      .serialize(raw)
      .send(gzipSync(JSON.stringify(begin)));
    expect(zipped.status).toBe(200);
    expect(zipped.body).toMatchObject({ sessionId: "z1", action: "continue" });
    const big = await request(app).post(`/ussd/gen/${SECRET}`).send({ ...begin, input: "1".repeat(10_240) });
    expect([big.status, big.text]).toEqual([413, "END request too large"]);
  });
});
