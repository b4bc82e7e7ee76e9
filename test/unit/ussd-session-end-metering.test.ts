// Every session is metered once, however it ends. Africa's Talking reports each session's end
// (its status says how); Hubtel, the generic dialect and SMPP report none after our END. A session
// one of our error ENDs ended (a failure, over budget) is closed and metered by the gateway, that
// END counted, on every dialect.
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { endReasonOf } from "../../src/ussd/africastalking.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession, HopLimits, HopRequest } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "end-metering-secret-0123456789";
const PAYER = "+254700000010";
const UNAVAILABLE = "Service unavailable. No money was moved. Please try later.";
const ENDED = "This session has ended. Please dial again.";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bank whose balance read fails and whose payee look-up is slow, behind a channel that records what it meters. */
function setup(hopLimits: Partial<HopLimits> = {}) {
  const bank = new FakeBank();
  bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  const ports = bank.ports();
  ports.accounts.balance = async () => {
    throw new Error("ledger down");
  };
  const lookUp = ports.directory.lookupPayee.bind(ports.directory);
  ports.directory.lookupPayee = async (query, institutionId) => {
    await sleep(300);
    return lookUp(query, institutionId);
  };
  const ended: EndedUssdSession[] = [];
  const channel = createUssdChannel({
    ports,
    institutionId: bank.institutionId,
    sessions: new MemorySessionStore(),
    secretKey: Buffer.alloc(32, 9),
    aggregators: [
      { name: "hubtel", dialect: "hubtel", secret: SECRET },
      { name: "at", dialect: "africastalking", secret: SECRET },
    ],
    logger: { info() {}, warn() {}, error() {} },
    hopLimits,
    onSessionEnd: async (session) => void ended.push(session),
  });
  const app = express();
  app.use(channel.router);
  const single = (sessionId: string, seq: number, text: string): HopRequest => ({ aggregator: "hubtel", sessionId, msisdn: PAYER, serviceCode: "*384#", mode: "single", text, hopKey: `seq:${seq}`, seq, ...(seq === 1 ? { opens: true } : {}) });
  return { channel, app, ended, single };
}

describe("sessions our own error END ended, on dialects that report no end", () => {
  it("a failure's END closes and meters the session once (as ended by us); a retry hears it has ended; a late Release meters nothing more", async () => {
    const { channel, app, ended, single } = setup();
    await channel.hops.handle(single("f1", 1, ""));
    await channel.hops.handle(single("f1", 2, "1"));
    expect(await channel.hops.handle(single("f1", 3, "4827"))).toEqual({ end: true, text: UNAVAILABLE });
    await channel.hops.drain();
    expect(ended.map((s) => [s.sessionId, s.endReason, s.stages])).toEqual([["f1", "end", 3]]);
    expect(await channel.hops.handle(single("f1", 3, "4827"))).toMatchObject({ end: true, text: ENDED });
    await request(app).post("/ussd/hubtel").set("x-fingate-secret", SECRET).send({ SessionId: "f1", Type: "Release" });
    await channel.hops.drain();
    expect(ended).toHaveLength(1);
  });

  it("an over-budget END is metered once the hop still running is over, for the screens shown", async () => {
    const { channel, ended, single } = setup({ hopBudgetMs: 100 });
    await channel.hops.handle(single("o1", 1, ""));
    await channel.hops.handle(single("o1", 2, "2"));
    // The payee look-up overruns: our END goes out, the hop goes on to store the amount prompt.
    expect((await channel.hops.handle(single("o1", 3, "peter"))).text).toBe(UNAVAILABLE);
    await channel.hops.drain();
    // Menu, payee prompt, and our END in place of the amount prompt.
    expect(ended.map((s) => [s.sessionId, s.endReason, s.stages])).toEqual([["o1", "end", 3]]);
    expect(await channel.hops.handle(single("o1", 3, "peter"))).toMatchObject({ end: true, text: ENDED });
  });

  it("Africa's Talking: an error END closes and meters the session too, counting that END; its later notification meters nothing more", async () => {
    const { channel, app, ended } = setup();
    const at = (text: string) => channel.hops.handle({ aggregator: "at", sessionId: "a1", msisdn: PAYER, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
    for (const text of ["", "1"]) await at(text);
    expect((await at("1*4827")).text).toBe(UNAVAILABLE);
    await channel.hops.drain();
    // Menu, PIN prompt, and our END: metered at once (its notification used to meter it a stage short).
    expect(ended.map((s) => [s.sessionId, s.endReason, s.stages])).toEqual([["a1", "end", 3]]);
    await request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ sessionId: "a1", status: "Failed" });
    await channel.hops.drain();
    expect(ended).toHaveLength(1);
  });
});

describe("Africa's Talking end statuses", () => {
  it("a session still open when Success is reported (our END's store failed) is metered as an end", async () => {
    const { channel, app, ended } = setup();
    await channel.hops.handle({ aggregator: "at", sessionId: "s1", msisdn: PAYER, serviceCode: "*384#", mode: "cumulative", text: "", hopKey: "" });
    await request(app).post("/ussd/at/events").set("x-fingate-secret", SECRET).type("form").send({ sessionId: "s1", status: "Success" });
    await channel.hops.drain();
    expect(ended.map((s) => [s.sessionId, s.endReason])).toEqual([["s1", "end"]]);
  });


  it("Success is an end, Incomplete and Failed are aborts, a timeout is a timeout", () => {
    expect(["Success", "Incomplete", "Failed", "Timeout", "Expired", ""].map(endReasonOf)).toEqual(["end", "abort", "abort", "timeout", "timeout", "abort"]);
  });
});
