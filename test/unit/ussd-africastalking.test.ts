import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore, type SessionStore } from "../../src/menus/engine/session-store.js";
import type { MenuContext } from "../../src/menus/index.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { FakeBank } from "../helpers/menu-fakes.js";
import { containsPin } from "../helpers/pin-leak.js";

const SECRET = "at-shared-secret-0123456789";

class CapturingLogger {
  readonly lines: string[] = [];
  info(obj: object, msg: string) {
    this.lines.push(JSON.stringify({ obj, msg }));
  }
  warn(obj: object, msg: string) {
    this.info(obj, msg);
  }
  error(obj: object, msg: string) {
    this.info(obj, msg);
  }
}

function setup(
  options: { ipAllowList?: string[]; secretIn?: "header" | "path" } = {},
  tweak?: { hopBudgetMs?: number; slow?: (ctx: MenuContext) => void; sessions?: SessionStore },
) {
  const bank = new FakeBank();
  const ctx = bank.context("+254700000000");
  tweak?.slow?.(ctx);
  const sessions = tweak?.sessions ?? new MemorySessionStore();
  const logger = new CapturingLogger();
  const channel = createUssdChannel({
    ports: { directory: ctx.directory, pins: ctx.pins, accounts: ctx.accounts, payments: ctx.payments, simSwap: ctx.simSwap, agents: ctx.agents },
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET, ...options }],
    logger,
    hopLimits: tweak?.hopBudgetMs ? { hopBudgetMs: tweak.hopBudgetMs } : {},
  });
  const app = express();
  app.use(channel.router);
  return { bank, app, sessions, logger };
}

type App = ReturnType<typeof setup>["app"];

function hop(app: App, sessionId: string, phoneNumber: string, text: string, secret = SECRET) {
  return request(app)
    .post("/ussd/at")
    .set("x-fingate-secret", secret)
    .type("form")
    .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text });
}

describe("Africa's Talking dialect over fakes", () => {
  it("walks the main menu to a balance with CON/END text/plain replies", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
    const first = await hop(app, "s1", "+254700000010", "");
    expect(first.status).toBe(200);
    expect(first.headers["content-type"]).toMatch(/^text\/plain/);
    expect(first.text).toMatch(/^CON Welcome to fingate\n1\. Balance/);
    expect((await hop(app, "s1", "+254700000010", "1")).text).toBe("CON Enter your PIN:");
    expect((await hop(app, "s1", "+254700000010", "1*4827")).text).toBe("END Your balance is KES 1,234.50.");
  });

  it("a retried hop gets the same reply and never repeats the payment", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const payee = bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await hop(app, "s2", "+254700000010", text);
    const receipt = await hop(app, "s2", "+254700000010", "2*peter*100*1*4827");
    expect(receipt.text).toMatch(/^END Sent KES 100\.00 to PETER\. Ref [0-9A-F]+\./);
    const again = await hop(app, "s2", "+254700000010", "2*peter*100*1*4827");
    expect(again.text).toBe(receipt.text);
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    expect(bank.sends.size).toBe(1);
    // A new hop after END is told the session has ended.
    expect((await hop(app, "s2", "+254700000010", "2*peter*100*1*4827*1")).text).toMatch(/^END This session has ended/);
  });

  it("two hops of one session at once are processed one after the other", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    await hop(app, "s3", "+254700000010", "");
    const [a, b] = await Promise.all([hop(app, "s3", "+254700000010", "1"), hop(app, "s3", "+254700000010", "1")]);
    expect(a.text).toBe("CON Enter your PIN:");
    expect(b.text).toBe(a.text);
    const [c, d] = await Promise.all([hop(app, "s3", "+254700000010", "1*4827"), hop(app, "s3", "+254700000010", "1*4827")]);
    expect(c.text).toBe(d.text);
    expect(c.text).toMatch(/^END Your balance/);
  });

  it("pages in Hindi with 98 and 0, within 80 characters", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "सुनीता कुमारी", { pin: "4827", language: "hi" });
    const p1 = await hop(app, "s4", "+254700000010", "");
    expect(p1.text.startsWith("CON ")).toBe(true);
    expect(p1.text.slice(4).length).toBeLessThanOrEqual(80);
    expect(p1.text).toMatch(/98 आगे$/);
    const p2 = await hop(app, "s4", "+254700000010", "98");
    expect(p2.text).toMatch(/0 पीछे/);
    expect(p2.text).not.toBe(p1.text);
    const back = await hop(app, "s4", "+254700000010", "98*0");
    expect(back.text).toBe(p1.text);
    // The menu still answers after paging: 1 = balance.
    expect((await hop(app, "s4", "+254700000010", "98*0*1")).text).toBe("CON अपना पिन दर्ज करें:");
  });

  it("stores no rendered screen: a retried page is rendered again, the same, and the record stays under 1 KiB", async () => {
    const { bank, app, sessions } = setup();
    bank.addCustomer("+254700000010", "सुनीता कुमारी", { pin: "4827", language: "hi" });
    await hop(app, "s6", "+254700000010", "");
    const p2 = await hop(app, "s6", "+254700000010", "98");
    const stored = (await sessions.get("at:s6"))!;
    expect(stored).not.toContain(p2.text.slice(4, 20));
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(1_024);
    expect((await hop(app, "s6", "+254700000010", "98")).text).toBe(p2.text); // the retry: page 2 again, not page 3
  });

  it("shortcut *384*2*number*amount# goes straight to confirmation", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    bank.addCustomer("+254700000020", "Peter Otieno");
    const r = await hop(app, "s5", "+254700000010", "2*0700000020*50");
    expect(r.text).toMatch(/^CON Send KES 50\.00 to PETER\?/);
    expect((await hop(app, "s5", "+254700000010", "2*0700000020*50*1")).text).toBe("CON Enter your PIN to confirm:");
  });

  it("never logs a PIN or the cumulative text", async () => {
    const { bank, app, logger, sessions } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 5_00n });
    for (const text of ["", "1", "1*4827"]) await hop(app, "s6", "+254700000010", text);
    expect(containsPin(logger.lines.join("\n"), "4827")).toBe(false);
    expect(logger.lines.join("\n")).not.toContain("1*4827");
    expect(containsPin((await sessions.get("at:s6")) ?? "", "4827")).toBe(false);
  });

  it("refuses a wrong or missing secret, and a caller outside the allow-list, before any session exists", async () => {
    const { app, sessions } = setup();
    expect((await hop(app, "s7", "+254700000010", "", "wrong-secret-wrong-secret")).status).toBe(401);
    expect((await request(app).post("/ussd/at").type("form").send({ sessionId: "s7" })).status).toBe(401);
    expect(await sessions.get("at:s7")).toBeNull();
    const other = setup({ ipAllowList: ["10.9.9.9"] });
    expect((await hop(other.app, "s8", "+254700000010", "")).status).toBe(403);
  });

  it("accepts the secret as a path segment when configured so", async () => {
    const { bank, app } = setup({ secretIn: "path" });
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827" });
    const form = { sessionId: "s9", serviceCode: "*384#", phoneNumber: "+254700000010", text: "" };
    expect((await request(app).post(`/ussd/at/${SECRET}`).type("form").send(form)).text).toMatch(/^CON /);
    expect((await request(app).post(`/ussd/at/nope-nope-nope-nope`).type("form").send(form)).status).toBe(401);
  });

  it("refuses malformed and hostile payloads", async () => {
    const { app, sessions } = setup();
    const post = (body: Record<string, string>) => request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send(body);
    expect((await post({ serviceCode: "*384#", phoneNumber: "+254700000010" })).status).toBe(400);
    expect((await post({ sessionId: "x", serviceCode: "*384#", phoneNumber: "not-a-number" })).status).toBe(400);
    expect((await post({ sessionId: "x'; DROP TABLE customers;--", serviceCode: "*384#", phoneNumber: "+254700000010" })).status).toBe(400);
    expect((await post({ sessionId: "big", serviceCode: "*384#", phoneNumber: "+254700000010", text: "1".repeat(10_240) })).status).toBe(413);
    expect((await post({ sessionId: "ctl", serviceCode: "*384#", phoneNumber: "+254700000010", text: "1\u0000" })).status).toBe(400);
    expect(await sessions.get("at:big")).toBeNull();
  });

  it("treats injection strings as plain input", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 5_00n });
    await hop(app, "s10", "+254700000010", "");
    await hop(app, "s10", "+254700000010", "2");
    const r = await hop(app, "s10", "+254700000010", "2*<script>alert(1)</script>{{x}}$t(main.title)");
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^CON Check the number or alias|^CON This number or alias cannot be paid/);
    expect(r.text).not.toContain("<script>");
  });

  it("registers an unknown number end to end", async () => {
    const { bank, app } = setup();
    const texts = ["", "Amina Njeri", "Amina Njeri*1", "Amina Njeri*1*4827", "Amina Njeri*1*4827*4827"];
    let last = "";
    for (const text of texts) last = (await hop(app, "s11", "+254700000099", text)).text;
    expect(last).toBe("END Welcome Amina Njeri! Your wallet is ready. Dial again to use it.");
    expect(bank.customers.get("+254700000099")?.displayName).toBe("Amina Njeri");
  });

  it("answers END with 'no money was moved' when a dependency fails, and the events callback closes the session", async () => {
    const { bank, app, sessions } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827" });
    bank.failNext = true;
    const r = await hop(app, "s12", "+254700000010", "");
    expect(r.text).toBe("END Service unavailable. No money was moved. Please try later.");
    await hop(app, "s13", "+254700000010", "");
    expect(await sessions.get("at:s13")).not.toBeNull();
    const ev = await request(app)
      .post("/ussd/at/events")
      .set("x-fingate-secret", SECRET)
      .type("form")
      .send({ sessionId: "s13", status: "Success", cost: "KES 0.50", durationInMillis: "4000", input: "4827" });
    expect(ev.status).toBe(200);
    // Kept closed until it lapses (Africa's Talking never hands the id out again): a hop of it
    // delivered late hears that it has ended, and is not taken for an unknown session and metered.
    expect(JSON.parse((await sessions.get("at:s13"))!)).toMatchObject({ closed: true, ends: true });
    expect((await hop(app, "s13", "+254700000010", "1*2*3*4")).text).toBe("END This session has ended. Please dial again.");
  });

  it("a session our END closed keeps that END through the notice: a retry of its last hop after the notice gets the same answer", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000011", "Mary Wanjiru", { pin: "4827" });
    for (const text of ["", "1"]) await hop(app, "s14", "+254700000011", text);
    const balance = (await hop(app, "s14", "+254700000011", "1*4827")).text;
    expect(balance).toMatch(/^END Your balance is /);
    const ev = await request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ sessionId: "s14", status: "Success" });
    expect(ev.status).toBe(200);
    expect((await hop(app, "s14", "+254700000011", "1*4827")).text).toBe(balance);
  });

  it("answers within the budget when a dependency is slow, truthfully about money", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const slowSend = setup({}, {
      hopBudgetMs: 150,
      slow: (ctx) => {
        const send = ctx.payments.send.bind(ctx.payments);
        ctx.payments.send = async (input) => {
          await sleep(400);
          return send(input);
        };
      },
    });
    slowSend.bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    slowSend.bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await hop(slowSend.app, "b1", "+254700000010", text);
    const started = Date.now();
    const late = await hop(slowSend.app, "b1", "+254700000010", "2*peter*100*1*4827");
    expect(Date.now() - started).toBeLessThan(380);
    expect(late.text).toBe("END We could not confirm your payment. Check your balance before trying again.");
    // The aggregator's retry, once the step finished, learns the outcome; the money moved once.
    await sleep(400);
    expect((await hop(slowSend.app, "b1", "+254700000010", "2*peter*100*1*4827")).text).toMatch(/^END Sent KES 100\.00/);
    expect(slowSend.bank.sends.size).toBe(1);

    const slowLookup = setup({}, {
      hopBudgetMs: 150,
      slow: (ctx) => {
        const find = ctx.directory.findByMsisdn.bind(ctx.directory);
        ctx.directory.findByMsisdn = async (m, i) => {
          await sleep(400);
          return find(m, i);
        };
      },
    });
    expect((await hop(slowLookup.app, "b2", "+254700000010", "")).text).toBe("END Service unavailable. No money was moved. Please try later.");
  });

  it("an agent's cash-in over budget says to check, not that nothing moved; the retry tells, and it moved once", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const { bank, app } = setup({}, {
      hopBudgetMs: 150,
      slow: (ctx) => {
        const cashIn = ctx.agents!.cashIn.bind(ctx.agents);
        ctx.agents!.cashIn = async (input) => {
          await sleep(400);
          return cashIn(input);
        };
      },
    });
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827" });
    const shop = bank.addAgent("+254700000030", "Baraka Shop", { pin: "6253", float: 1_000_00n });
    for (const text of ["", "1", "1*0700000010", "1*0700000010*100"]) await hop(app, "a1", "+254700000030", text);
    const late = await hop(app, "a1", "+254700000030", "1*0700000010*100*6253");
    expect(late.text).toBe("END We could not confirm your payment. Check your balance before trying again.");
    await sleep(400);
    expect((await hop(app, "a1", "+254700000030", "1*0700000010*100*6253")).text).toMatch(/^END Deposited KES 100\.00 for JANE\. Ref /);
    expect(shop.float).toBe(900_00n);
    expect(bank.agentMoves.size).toBe(1);
  });

  it("logs nothing of an input that answered a PIN prompt, whatever its shape", async () => {
    const { bank, app, logger } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 5_00n });
    for (const text of ["", "1", "1*98765432"]) await hop(app, "p1", "+254700000010", text);
    expect(logger.lines.join("\n")).not.toContain("98765432");
    expect(logger.lines.join("\n")).toContain("[pin]");
  });

  it("offers to continue an interrupted session on the next dial, and posts a resumed payment once", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const payee = bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await hop(app, "r1", "+254700000010", text);
    // The network drops the session; the customer dials again.
    const offer = await hop(app, "r2", "+254700000010", "");
    expect(offer.text).toBe("CON You were interrupted. Continue where you left off?\n1. Continue\n2. Start again");
    expect((await hop(app, "r2", "+254700000010", "1")).text).toBe("CON Enter your PIN to confirm:");
    expect((await hop(app, "r2", "+254700000010", "1*4827")).text).toMatch(/^END Sent KES 100\.00 to PETER/);
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    // Finished: the next dial gets the main menu, and "2" on an offer starts afresh.
    expect((await hop(app, "r3", "+254700000010", "")).text).toMatch(/^CON Welcome to fingate/);
    for (const text of ["", "3"]) await hop(app, "r4", "+254700000010", text);
    expect((await hop(app, "r5", "+254700000010", "")).text).toMatch(/^CON You were interrupted/);
    expect((await hop(app, "r5", "+254700000010", "2")).text).toMatch(/^CON Welcome to fingate/);
  });

  it("a long last screen left unpaged is not offered to be continued: the flow was over", async () => {
    const { bank, app } = setup();
    bank.addCustomer("+254700000010", "सुनीता कुमारी", { pin: "4827", language: "hi", balance: 1_000_00n });
    bank.addCustomer("+254700000030", "राजेश कुमार", { pin: "5831", language: "hi" });
    bank.addAgent("+254700000030", "Rajesh Kirana", { pin: "6253" });
    let last = "";
    for (const text of ["", "2", "2*0700000010", "2*0700000010*100", "2*0700000010*100*6253"]) last = (await hop(app, "u1", "+254700000030", text)).text;
    // The receipt takes two Hindi pages; the agent hangs up on the first.
    expect(last).toMatch(/^CON भेजा गया।[^]*98 आगे$/);
    expect(bank.cashOuts.size).toBe(1);
    expect((await hop(app, "u2", "+254700000030", "")).text).toMatch(/^CON एजेंट मेनू\n/);
  });

  it("with the session store down: a clear END on hops, a 500 on the events callback, nothing thrown", async () => {
    const down = async () => {
      throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    };
    const broken: SessionStore = { lockAndGet: down, commit: down, get: down, scan: down, set: down, delete: down, tryLock: down, unlock: down, close: async () => {} };
    const { bank, app, logger } = setup({}, { sessions: broken });
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827" });
    const r = await hop(app, "d1", "+254700000010", "1*4827");
    expect(r.status).toBe(200);
    expect(r.text).toBe("END Service unavailable. No money was moved. Please try later.");
    const ev = await request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ sessionId: "d1", status: "Success", input: "4827" });
    expect(ev.status).toBe(500);
    expect(containsPin(logger.lines.join("\n"), "4827")).toBe(false);
  });
});
