/**
 * MO SMS over HTTP, as Africa's Talking delivers it (form POST with from, to, text, date, id,
 * linkId), authenticated by the aggregator's secret header, feeding the same command handler as
 * SMPP. Replies are collected at the Replies port (the outbox's entry point).
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { containsPin, openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const SECRET = "http-mo-secret-0123456789abcdef";
const sent: SmsReply[] = [];
const replies: Replies = { send: async (reply) => void sent.push(reply) };

let env: SmsEnv;
let app: express.Express;
let amina: Customer;
let rate: SmsEnv;

function post(fields: Record<string, string>, secret = SECRET) {
  return request(app).post("/sms/at/mo").set("x-fingate-secret", secret).type("form").send(fields);
}

/** The POST is answered once the message is recorded; the command runs after. This waits for both. */
async function mo(fields: Record<string, string>, secret = SECRET) {
  const response = await post(fields, secret);
  await env.sms.commands.drain();
  return response;
}

const at = (id: string, from: string, text: string) => ({ from, to: "22555", text, date: "2026-11-25 21:00:00", id, linkId: "SampleLinkId123" });

/** PIN verifications recorded in the audit chain for Amina. */
async function pinChecks(): Promise<number> {
  const { rows } = await env.test.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_log WHERE action = 'pin.verify' AND subject = $1",
    [amina.id],
  );
  return rows[0]!.n;
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-http-bank", replies, receiptsViaOutbox: false });
  amina = await env.addCustomer("+254711000001", "Amina Odhiambo", "6284", "fr", 800_00n);
  await env.addCustomer("+254711000002", "Brian Kiptoo", "3917", "en", 100_00n);
  app = express();
  // The short codes the bank has with this aggregator: a reply comes from the one the customer texted.
  app.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: env.bankId, shortCodes: ["22555", "22556"] }], commands: env.sms.commands, logger: { warn() {}, error() {} } }));
});

afterAll(async () => {
  await env?.close();
  await rate?.close();
});

describe("HTTP MO", () => {
  it("refuses requests without the aggregator's secret, and malformed ones", async () => {
    expect((await mo(at("x1", "+254711000001", "SOLDE 6284"), "wrong-secret-0123456789")).status).toBe(401);
    expect((await request(app).post("/sms/at/mo").type("form").send(at("x1", "+254711000001", "SOLDE 6284"))).status).toBe(401);
    // Nothing recorded either: the same id later with the right secret is a new message.
    expect((await mo({ from: "+254711000001", text: "AIDE" })).status).toBe(400);
    expect((await mo(at("x2", "not-a-number", "AIDE"))).status).toBe(400);
    expect(sent).toHaveLength(0);
  });

  it("answers a French command in French, through the Replies port", async () => {
    const r = await mo(at("ATXid_1", "+254711000001", "Solde 6284"));
    expect(r.status).toBe(200);
    expect(r.text).toBe("OK");
    expect(sent.at(-1)).toMatchObject({ msisdn: "+254711000001", linkId: null, from: "22555" });
    expect(sent.at(-1)!.text).toMatch(/^Votre solde est de 800,00 KES\.$/);
  });

  it("replies from the short code texted only when it is one configured for the aggregator", async () => {
    await env.addCustomer("+254712210201", "Wanjiku Mwangi", "4051", "en", 10_00n);
    expect((await mo({ ...at("ATXsender_1", "+254712210201", "HELP"), to: "22556" })).status).toBe(200);
    expect(sent.at(-1)).toMatchObject({ msisdn: "+254712210201", from: "22556" });
    // Any other sender ID (up to 32 characters) the aggregator names: before the fix our link sent
    // the reply from it. Now the reply comes from the route's own sender (null here).
    for (const [i, to] of ["MPESA", "+254700000000", "Bank-Security-Team-Notice", ""].entries()) {
      expect((await mo({ ...at(`ATXsender_${i + 2}`, "+254712210201", "HELP"), to })).status).toBe(200);
      expect(sent.at(-1), to).toMatchObject({ msisdn: "+254712210201", from: null });
    }
    // A configured list must hold short codes or numbers.
    const bad = (shortCodes: unknown) => () =>
      smsMoRouter({ aggregators: [{ name: "x", secret: SECRET, institutionId: env.bankId, shortCodes: shortCodes as string[] }], commands: env.sms.commands, logger: { warn() {}, error() {} } });
    expect(bad("22555")).toThrow(/shortCodes/);
    expect(bad(["22 555"])).toThrow(/shortCodes/);
    expect(bad(["22555", ""])).toThrow(/shortCodes/);
  });

  it("pays once when the aggregator delivers the same message id twice", async () => {
    const before = sent.length;
    const body = at("ATXid_2", "+254711000001", "ENVOI 0711000002 25 6284");
    expect((await mo(body)).status).toBe(200);
    expect((await mo(body)).status).toBe(200);
    expect(sent.length).toBe(before + 1);
    expect(sent.at(-1)!.text).toMatch(/^25,00 KES envoye a BRIAN K\*+\. Frais 0,00 KES\. Ref [0-9A-F]{10}\.$/);
    expect(containsPin(sent.at(-1)!.text, "6284")).toBe(false);
    const wallet = await env.ledger.getAccount(amina.walletAccountId);
    expect(wallet!.debitsPosted).toBe(25_00n);
  });

  it("acknowledges before running, and runs a message once when it is re-delivered while it runs", async () => {
    const before = sent.length;
    const verifies = await pinChecks();
    const body = at("ATXid_6", "+254711000001", "ENVOI 0711000002 10 6284");
    // The aggregator's timeout retries, all of them answered while the first delivery still runs.
    const responses = await Promise.all([post(body), post(body), post(body), post(body)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await env.sms.commands.drain();
    expect(sent.length).toBe(before + 1);
    expect(await pinChecks()).toBe(verifies + 1);
    expect((await env.ledger.getAccount(amina.walletAccountId))!.debitsPosted).toBe(35_00n);
    expect(env.logs.some((l) => l.includes("re-delivered while it runs") || l.includes("already answered"))).toBe(true);
  });

  it("refuses a wrong PIN without moving money, and never logs a PIN", async () => {
    expect((await mo(at("ATXid_3", "+254711000001", "ENVOI 0711000002 25 1111"))).status).toBe(200);
    expect(sent.at(-1)!.text).toBe("PIN incorrect. Rien n'a ete fait.");
    expect((await env.ledger.getAccount(amina.walletAccountId))!.debitsPosted).toBe(35_00n);
    const logs = env.logs.join("\n");
    for (const pin of ["6284", "1111"]) expect(containsPin(logs, pin), pin).toBe(false);
  });

  it("changes the customer's language with LANG", async () => {
    expect((await mo(at("ATXid_4", "+254711000002", "LANG SW"))).status).toBe(200);
    expect(sent.at(-1)!.text).toBe("Lugha sasa ni Kiswahili.");
    expect((await mo(at("ATXid_5", "+254711000002", "BAL 3917"))).status).toBe(200);
    expect(sent.at(-1)!.text).toBe("Salio lako ni Ksh 135.00.");
  });

  it("drops messages beyond the number's rate without answering them", async () => {
    rate = await openSmsEnv({ code: "sms-http-rate", replies, rateLimit: { max: 2, windowSec: 3600 }, receiptsViaOutbox: false });
    const limited = express();
    limited.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: rate.bankId }], commands: rate.sms.commands, logger: { warn() {}, error() {} } }));
    const before = sent.length;
    for (const id of ["r1", "r2", "r3", "r4"]) {
      const r = await request(limited).post("/sms/at/mo").set("x-fingate-secret", SECRET).type("form").send(at(id, "+254711000009", "HELP"));
      expect(r.status).toBe(200);
      await rate.sms.commands.drain();
    }
    expect(sent.length).toBe(before + 2);
    expect(rate.logs.some((l) => l.includes("over the number's rate"))).toBe(true);
  });
});
