/**
 * Malformed aggregator payloads that a dialect used to accept, against the real gateway
 * (PostgreSQL core, in-memory sessions): Africa's Talking forms with a field given twice (on the
 * Express route and on the fast path ahead of it), requests for a short code other than the
 * configured one (Hubtel, generic), and inputs that are not well-formed text (undecodable bytes,
 * lone surrogates). Each is refused with the dialect's 400 and leaves no session behind.
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { serveHopsFirst } from "../../src/ussd/fast-path.js";
import { openUssdEnv, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "e2e-dialect-edges-secret-0123456789";
const HUBTEL_SECRET = "e2e-dialect-edges-hubtel-0123456789";
const GENERIC_SECRET = "e2e-dialect-edges-generic-0123456789";
const PHONE = "+254712690001";
const OTHER = "+254712690002";

let env: UssdEnv;
let fastApp: express.Express;
const sessions = new MemorySessionStore();

beforeAll(async () => {
  env = await openUssdEnv({
    code: "dialect-edges-bank",
    secret: SECRET,
    sessions,
    moreAggregators: [
      { name: "hub", dialect: "hubtel", secret: HUBTEL_SECRET, serviceCode: "*711*2#" },
      { name: "gen", dialect: "generic", secret: GENERIC_SECRET, serviceCode: "*384*5#" },
      { name: "hub2", dialect: "hubtel", secret: HUBTEL_SECRET },
      // This test's client is 127.0.0.1, written as an operator might: in full, or in upper case.
      { name: "fenced", dialect: "generic", secret: GENERIC_SECRET, ipAllowList: ["0:0:0:0:0:ffff:7f00:1"] },
      { name: "fenced-uc", dialect: "generic", secret: GENERIC_SECRET, ipAllowList: ["::FFFF:127.0.0.1"] },
      { name: "walled", dialect: "generic", secret: GENERIC_SECRET, ipAllowList: ["10.9.9.9"] },
    ],
  });
  fastApp = serveHopsFirst(express(), env.gateway.fastPath);
  fastApp.use(env.gateway.router);
});

afterAll(() => env?.close());

const form = (app: express.Express, body: string) => request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send(body);
const hubtel = (body: Record<string, unknown>) => request(env.app).post("/ussd/hub").set("x-fingate-secret", HUBTEL_SECRET).send(body);
const generic = (body: Record<string, unknown> | string | Buffer) =>
  request(env.app).post("/ussd/gen").set("x-fingate-secret", GENERIC_SECRET).set("content-type", "application/json").send(body);

async function expectNoSession(key: string) {
  expect(await sessions.get(key), key).toBeNull();
}

describe("Africa's Talking: a field given twice", () => {
  const cases = {
    phoneNumber: (id: string) => `sessionId=${id}&serviceCode=*384%23&phoneNumber=%2B254712690001&phoneNumber=%2B254712690002&networkCode=63902&text=`,
    sessionId: (id: string) => `sessionId=${id}&sessionId=${id}-b&serviceCode=*384%23&phoneNumber=%2B254712690001&networkCode=63902&text=`,
    text: (id: string) => `sessionId=${id}&serviceCode=*384%23&phoneNumber=%2B254712690001&networkCode=63902&text=&text=1`,
  };

  for (const [field, body] of Object.entries(cases)) {
    it(`${field} twice is refused (400) on the Express route and on the fast path, and no session is kept`, async () => {
      for (const [path, app] of [["express", env.app], ["fast", fastApp]] as const) {
        const id = `dup-${field}-${path}`;
        const r = await form(app, body(id));
        expect([r.status, r.text], `${field} via ${path}`).toEqual([400, "END bad request"]);
        await expectNoSession(`at:${id}`);
        await expectNoSession(`at:${id}-b`);
      }
    });
  }

  it("a well-formed hop is still served on both paths", async () => {
    for (const [path, app] of [["express", env.app], ["fast", fastApp]] as const) {
      const r = await form(app, `sessionId=ok-${path}&serviceCode=*384%23&phoneNumber=%2B254712690003&networkCode=63902&text=`);
      expect(r.status).toBe(200);
      expect(r.text.startsWith("CON ")).toBe(true);
      // The key expectNoSession looks under is where a served hop's session is.
      expect(await sessions.get(`at:ok-${path}`)).not.toBeNull();
    }
  });
});

describe("a request for another short code than the configured one", () => {
  it("Hubtel: refused (400) unless its ServiceCode is the configured code or that code with the extension left out", async () => {
    const hop = (SessionId: string, ServiceCode: string) =>
      hubtel({ Type: "Initiation", Mobile: PHONE.slice(1), SessionId, ServiceCode, Message: `*${ServiceCode}#`, Operator: "safaricom", Sequence: 1 });
    for (const code of ["999", "71", "7112", "711*3", "711*2*1"]) {
      const id = `hub-${code.replace(/\W/g, "_")}`;
      const r = await hop(id, code);
      expect([r.status, r.body], code).toEqual([400, { error: "bad request" }]);
      await expectNoSession(`hub:${id}`);
    }
    for (const code of ["711", "711*2", "*711*2#"]) {
      const r = await hop(`hub-ok-${code.replace(/\W/g, "_")}`, code);
      expect([r.status, r.body.Type], code).toEqual([200, "response"]);
    }
  });

  it("generic: refused (400) unless its serviceCode is the configured code or that code with the extension left out", async () => {
    const hop = (sessionId: string, serviceCode: string) => generic({ sessionId, msisdn: OTHER, serviceCode, event: "begin", seq: 0, input: "" });
    for (const code of ["*999#", "*38#", "*384*6#", "*3845#"]) {
      const r = await hop(`gen-${code.replace(/\W/g, "")}`, code);
      expect([r.status, r.body], code).toEqual([400, { error: "bad request" }]);
      await expectNoSession(`gen:gen-${code.replace(/\W/g, "")}`);
    }
    for (const code of ["*384#", "*384*5#"]) {
      const r = await hop(`gen-ok-${code.replace(/\W/g, "")}`, code);
      expect([r.status, r.body.action], code).toEqual([200, "continue"]);
    }
  });
});

describe("a phone number with control or foreign space characters", () => {
  it("Africa's Talking: refused (400) on both paths, not cleaned into a number", async () => {
    for (const [path, app] of [["express", env.app], ["fast", fastApp]] as const) {
      for (const [n, sep] of ["%0A", "%09", "%0D", "%0B", "%0C", "%C2%A0", "%E2%80%A8", "%E3%80%80"].entries()) {
        const id = `msisdn-${path}-${n}`;
        const r = await form(app, `sessionId=${id}&serviceCode=*384%23&phoneNumber=%2B2547126${sep}90008&networkCode=63902&text=`);
        expect([r.status, r.text], `${sep} via ${path}`).toEqual([400, "END bad request"]);
        await expectNoSession(`at:${id}`);
      }
    }
  });

  it("spaces and dashes (a form's unencoded + reads as a space) are still read as the number", async () => {
    for (const [n, phone] of ["+254712690008", "254712690008", "+254 712 690-008"].entries()) {
      const r = await form(env.app, `sessionId=msisdn-ok-${n}&serviceCode=*384%23&phoneNumber=${phone}&networkCode=63902&text=`);
      expect([r.status, r.text.startsWith("CON ")], phone).toEqual([200, true]);
    }
  });
});

describe("a service code that is no short code", () => {
  const noCodes = ["*", "#", "**", "*#", "##", "*384", "384#", "*384**1#", "*384#*", "#*384#"];

  it("Africa's Talking: refused (400) on both paths", async () => {
    for (const [path, app] of [["express", env.app], ["fast", fastApp]] as const) {
      for (const [n, code] of noCodes.entries()) {
        const id = `nocode-${path}-${n}`;
        const r = await form(app, `sessionId=${id}&serviceCode=${encodeURIComponent(code)}&phoneNumber=%2B254712690005&networkCode=63902&text=`);
        expect([r.status, r.text], `${code} via ${path}`).toEqual([400, "END bad request"]);
        await expectNoSession(`at:${id}`);
      }
    }
  });

  it("Hubtel: an empty or star-only ServiceCode is refused (400), not read as *#", async () => {
    for (const [n, code] of ["", "*", "#", "**"].entries()) {
      const id = `hub-nocode-${n}`;
      const r = await request(env.app)
        .post("/ussd/hub2")
        .set("x-fingate-secret", HUBTEL_SECRET)
        .send({ Type: "Initiation", Mobile: PHONE.slice(1), SessionId: id, ServiceCode: code, Message: "*711#", Operator: "mtn", Sequence: 1 });
      expect([r.status, r.body], JSON.stringify(code)).toEqual([400, { error: "bad request" }]);
      await expectNoSession(`hub2:${id}`);
    }
  });

  it("a short code with a leading # (#144#) is still one", async () => {
    const r = await form(env.app, "sessionId=hash-code&serviceCode=%23144%23&phoneNumber=%2B254712690006&networkCode=63902&text=");
    expect(r.status).toBe(200);
  });
});

describe("input that is not well-formed text", () => {
  it("Africa's Talking: undecodable bytes or a C1 control character in text are refused (400), on both paths", async () => {
    for (const [path, app] of [["express", env.app], ["fast", fastApp]] as const) {
      for (const [n, text] of ["%FF", "1*%C3", "%ED%A0%80", "%C2%85"].entries()) {
        const id = `enc-${path}-${n}`;
        const r = await form(app, `sessionId=${id}&serviceCode=*384%23&phoneNumber=%2B254712690004&networkCode=63902&text=${text}`);
        expect([r.status, r.text], `${text} via ${path}`).toEqual([400, "END bad request"]);
        await expectNoSession(`at:${id}`);
      }
    }
  });

  it("generic: a lone surrogate or undecodable bytes in input are refused (400)", async () => {
    const begin = await generic({ sessionId: "enc-gen", msisdn: OTHER, serviceCode: "*384#", event: "begin", seq: 0, input: "" });
    expect(begin.status).toBe(200);
    const lone = await generic(`{"sessionId":"enc-gen","msisdn":"${OTHER}","serviceCode":"*384#","event":"continue","seq":1,"input":"\\ud800"}`);
    expect([lone.status, lone.body]).toEqual([400, { error: "bad request" }]);
    const raw = Buffer.concat([Buffer.from(`{"sessionId":"enc-gen","msisdn":"${OTHER}","serviceCode":"*384#","event":"continue","seq":1,"input":"`), Buffer.from([0xff, 0xfe]), Buffer.from(`"}`)]);
    const bytes = await generic(raw);
    expect([bytes.status, bytes.body]).toEqual([400, { error: "bad request" }]);
    // The session is where the begin left it: the next well-formed hop answers its screen.
    const next = await generic({ sessionId: "enc-gen", msisdn: OTHER, serviceCode: "*384#", event: "continue", seq: 1, input: "Jane Wanjiru" });
    expect([next.status, next.body.action]).toEqual([200, "continue"]);
  });
});

describe("generic: an optional field given that is not one", () => {
  const begin = (sessionId: string, more: Record<string, unknown>) =>
    generic({ sessionId, msisdn: "+254712960100", serviceCode: "*384#", event: "begin", seq: 0, input: "", ...more });

  it("a networkCode that is no MCC+MNC, or a dialString that is no dial, is refused (400), not dropped, and leaves no session", async () => {
    const bad = [
      { networkCode: "MTN" },
      { networkCode: "6390" },
      { networkCode: 6390 },
      { networkCode: 63902.5 },
      { networkCode: "63902\n" },
      { dialString: "*384*a#" },
      { dialString: "*384*1#; DROP TABLE transfers" },
      { dialString: ["*384*1#"] },
    ];
    for (const [n, more] of bad.entries()) {
      const r = await begin(`gen-opt-${n}`, more);
      expect([r.status, r.body], JSON.stringify(more)).toEqual([400, { error: "bad request" }]);
      await expectNoSession(`gen:gen-opt-${n}`);
    }
  });

  it("absent, null or empty they are none: the session opens", async () => {
    for (const [n, more] of [{}, { networkCode: null, dialString: null }, { networkCode: "", dialString: "" }].entries()) {
      const r = await begin(`gen-opt-none-${n}`, more);
      expect([r.status, r.body.action], JSON.stringify(more)).toEqual([200, "continue"]);
    }
  });

  it("a networkCode sent as a JSON number is read as its digits (an integrator's JSON may carry it so)", async () => {
    for (const [n, more] of [{ networkCode: 63902 }, { networkCode: 310260 }].entries()) {
      const r = await begin(`gen-opt-number-${n}`, more);
      expect([r.status, r.body.action], JSON.stringify(more)).toEqual([200, "continue"]);
    }
  });
});

describe("the IP allow-list", () => {
  const begin = (name: string, sessionId: string) =>
    request(env.app)
      .post(`/ussd/${name}`)
      .set("x-fingate-secret", GENERIC_SECRET)
      .set("x-forwarded-for", "10.9.9.9")
      .send({ sessionId, msisdn: "+254712690007", serviceCode: "*384#", event: "begin", seq: 0, input: "" });

  it("matches the caller's address however the configured one is written (full or upper-case IPv6)", async () => {
    for (const name of ["fenced", "fenced-uc"]) {
      const r = await begin(name, `ip-${name}`);
      expect([r.status, r.body.action], name).toEqual([200, "continue"]);
    }
  });

  it("is not bypassed by X-Forwarded-For naming an allowed address (no proxy is trusted)", async () => {
    const r = await begin("walled", "ip-walled");
    expect([r.status, r.text]).toEqual([403, "forbidden"]);
    await expectNoSession("walled:ip-walled");
  });
});
