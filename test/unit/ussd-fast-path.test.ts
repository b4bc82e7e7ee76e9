/**
 * Hops served off node:http ahead of Express (src/ussd/fast-path.ts) answer exactly what the
 * Express route answers, and whatever is not a plain well-formed hop still goes through Express.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { serveHopsFirst } from "../../src/ussd/fast-path.js";
import type { AggregatorConfig } from "../../src/ussd/router.js";
import type { HopLogger } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";
const CALLER = "+254700000010";

/** The same channel twice: mounted on Express alone, and with the fast path in front. */
function setup(aggregator: Partial<AggregatorConfig> = {}, logger: HopLogger = { info() {}, warn() {}, error() {} }) {
  const bank = new FakeBank();
  bank.addCustomer(CALLER, "Jane Wanjiru", { pin: "4827", balance: 5_00n });
  const channel = () =>
    createUssdChannel({
      ports: bank.ports(),
      institutionId: bank.institutionId,
      sessions: new MemorySessionStore(),
      secretKey: Buffer.alloc(32, 7),
      aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET, ...aggregator }],
      logger,
    });
  const plain = express();
  plain.use(channel().router);
  const fronted = channel();
  const served = { fast: 0 };
  const app = express();
  app.use(fronted.router);
  app.use((_req, res) => void res.status(404).send("none"));
  serveHopsFirst(app, (req, res) => {
    const took = fronted.fastPath(req, res);
    if (took) served.fast += 1;
    return took;
  });
  plain.use((_req, res) => void res.status(404).send("none"));
  return { plain, app, served };
}

type App = ReturnType<typeof setup>["app"];

const form = (sessionId: string, text: string, extra: Record<string, string> = {}) => ({
  sessionId,
  serviceCode: "*384#",
  phoneNumber: CALLER,
  networkCode: "63902",
  text,
  ...extra,
});

async function answer(app: App, path: string, body: Record<string, string> | string, headers: Record<string, string> = { "x-fingate-secret": SECRET }) {
  const r = await request(app).post(path).set(headers).type("form").send(body);
  return { status: r.status, type: r.headers["content-type"] as string | undefined, text: r.text };
}

describe("USSD hops ahead of Express", () => {
  it("walks a balance the same way, every hop off the fast path", async () => {
    const { plain, app, served } = setup();
    for (const text of ["", "1", "1*4827", "1*4827"]) {
      const fast = await answer(app, "/ussd/at", form("b1", text));
      expect(fast).toEqual(await answer(plain, "/ussd/at", form("b1", text)));
      expect(fast.status).toBe(200);
      expect(fast.type).toBe("text/plain; charset=utf-8");
    }
    expect(served.fast).toBe(4);
  });

  it("answers malformed forms as the Express route does (400, END bad request)", async () => {
    const { plain, app, served } = setup();
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, "1"]));
    const cases: Array<Record<string, string>> = [
      { serviceCode: "*384#", phoneNumber: CALLER },
      form("x", "", { phoneNumber: "not-a-number" }),
      form("x'; DROP TABLE customers;--", ""),
      form("ctl", "1\u0000"),
      form("long", "1".repeat(1_100)),
      { ...form("many", ""), ...many },
    ];
    for (const body of cases) {
      const fast = await answer(app, "/ussd/at", body);
      expect(fast.status).toBe(400);
      expect(fast.text).toBe("END bad request");
      expect(fast.type).toBe((await answer(plain, "/ussd/at", body)).type);
    }
    expect(served.fast).toBe(cases.length);
  });

  it("leaves everything else to Express, which answers as before", async () => {
    const { plain, app, served } = setup();
    const cases: Array<[string, Record<string, string> | string, Record<string, string>?]> = [
      ["/ussd/at", form("s1", ""), { "x-fingate-secret": "wrong-secret-wrong-secret" }],
      ["/ussd/at", form("s2", ""), {}],
      ["/ussd/at", form("big", "1".repeat(10_240))],
      ["/ussd/at?x=1", form("q", "")],
      ["/ussd/at/", form("slash", "")],
      ["/USSD/AT", form("case", "")],
      ["/ussd/at/events", { sessionId: "s3", status: "Success", input: "4827" }],
      ["/ussd/other", form("other", "")],
    ];
    for (const [path, body, headers] of cases) expect(await answer(app, path, body, headers)).toEqual(await answer(plain, path, body, headers));
    const json = await request(app).post("/ussd/at").set("x-fingate-secret", SECRET).send(form("json", ""));
    expect(json.status).toBe(400);
    expect((await request(app).get("/ussd/at")).status).toBe(404);
    expect(served.fast).toBe(0);
  });

  it("refuses a caller outside the allow-list and takes the secret from the path when configured so", async () => {
    const fenced = setup({ ipAllowList: ["10.9.9.9"] });
    expect((await answer(fenced.app, "/ussd/at", form("f1", ""))).status).toBe(403);
    const pathed = setup({ secretIn: "path" });
    expect((await answer(pathed.app, `/ussd/at/${SECRET}`, form("p1", ""), {})).text).toMatch(/^CON Welcome to fingate\n1. Balance/);
    expect((await answer(pathed.app, "/ussd/at/nope-nope-nope-nope", form("p2", ""), {})).status).toBe(401);
    expect((await answer(pathed.app, `/ussd/at/${SECRET}%20`, form("p3", ""), {})).status).toBe(401);
    expect((await answer(pathed.app, "/ussd/at", form("p4", ""), {})).status).toBe(404);
    expect(fenced.served.fast + pathed.served.fast).toBe(1);
  });

  it("a failure inside the hop is a logged 500, as on the Express route", async () => {
    const logged: string[] = [];
    const logger: HopLogger = {
      info: () => {
        throw new Error("log sink gone");
      },
      warn: () => {},
      error: (obj, msg) => void logged.push(`${msg} ${JSON.stringify(obj)}`),
    };
    const { plain, app, served } = setup({}, logger);
    const fast = await answer(app, "/ussd/at", form("e1", ""));
    expect(fast).toEqual(await answer(plain, "/ussd/at", form("e2", "")));
    expect(fast.status).toBe(500);
    expect(fast.text).toBe("END Service unavailable");
    expect(served.fast).toBe(1);
    expect(logged).toEqual([`ussd request failed {"err":{"name":"Error"},"path":"/ussd/at"}`, `ussd request failed {"err":{"name":"Error"},"path":"/ussd/at"}`]);
  });
});

describe("a chunked hop (no declared length)", () => {
  let server: http.Server;
  let port = 0;
  let served: { fast: number };
  beforeAll(async () => {
    const s = setup();
    served = s.served;
    server = http.createServer(s.app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const chunked = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port, path: "/ussd/at", method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "x-fingate-secret": SECRET } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on("error", reject);
      for (let i = 0; i < body.length; i += 1_000) req.write(body.slice(i, i + 1_000));
      req.end();
    });

  it("goes through Express: answered when small, 413 when over the limit", async () => {
    expect((await chunked(new URLSearchParams(form("c1", "")).toString())).text).toMatch(/^CON Welcome to fingate\n1. Balance/);
    expect((await chunked(new URLSearchParams(form("c2", "1".repeat(10_240))).toString())).status).toBe(413);
    expect(served.fast).toBe(0);
  });
});
