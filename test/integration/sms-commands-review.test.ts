/**
 * The SMS command channel read with a bank's and a feature-phone user's eyes, over HTTP MO
 * (supertest, as an aggregator posts) and the real core on PostgreSQL: whose message an
 * aggregator's id names, how a locked PIN or a SIM swap's cooling is told (as USSD tells it), the
 * language of a reply to a number the bank does not know, what a malformed POST is told, a
 * customer with no PIN yet, and a PIN in malformed commands.
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { containsPin, openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { walkAt } from "../helpers/ussd-env.js";
import { formatDate } from "../../src/infra/i18n/dates.js";

const SECRET = "review-smscmd-secret-0123456789";
const sent: SmsReply[] = [];
const replies: Replies = { send: async (reply) => void sent.push(reply) };

let env: SmsEnv;
let app: express.Express;
let amina: Customer;
let brian: Customer;
let chiku: Customer;
let dan: Customer;

/** An aggregator's POST, then the command it starts run to its end. */
async function mo(id: string, from: string, text: string) {
  const response = await request(app).post("/sms/at/mo").set("x-fingate-secret", SECRET).type("form").send({ from, to: "22555", text, id, date: "2026-11-30 16:00:00" });
  await env.sms.commands.drain();
  return response;
}

const repliesTo = (msisdn: string) => sent.filter((r) => r.msisdn === msisdn);

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-review-cmd", replies, receiptsViaOutbox: false });
  amina = await env.addCustomer("+254712660001", "Amina Odhiambo", "6284", "en", 800_00n);
  brian = await env.addCustomer("+254712660002", "Brian Kiptoo", "3917", "en", 100_00n);
  chiku = await env.addCustomer("+254712660003", "Chiku Wambui", "5173", "sw", 50_00n);
  dan = await env.addCustomer("+254712660004", "Dan Otieno", "8642", "en", 900_000_00n);
  app = express();
  app.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: env.bankId }], commands: env.sms.commands, logger: { warn() {}, error() {} } }));
});

afterAll(async () => {
  await env?.close();
});

describe("SMS commands (review)", () => {
  it("runs each subscriber's message when an aggregator gives two subscribers' messages one id", async () => {
    // Some aggregators number messages per connection or restart their counters: an id names a
    // message only together with its sender. Brian's message used to be taken for a re-delivery
    // of Amina's and dropped without a word (or run under her message's id).
    expect((await mo("seq-1", amina.msisdn, "BAL 6284")).status).toBe(200);
    expect((await mo("seq-1", brian.msisdn, "BAL 3917")).status).toBe(200);
    expect(repliesTo(amina.msisdn).at(-1)!.text).toBe("Your balance is KES 800.00.");
    expect(repliesTo(brian.msisdn).at(-1)!.text).toBe("Your balance is KES 100.00.");
    // The same sender's id again is still a re-delivery: answered once.
    const before = sent.length;
    expect((await mo("seq-1", brian.msisdn, "BAL 3917")).status).toBe(200);
    expect(sent.length).toBe(before);
  });

  it("tells a PIN locked for a time when it unlocks, as the USSD menu does, for BAL and for SEND", async () => {
    // The bank's default: 3 wrong PINs lock it for 30 minutes. SMS said "Contact your bank" for a
    // lock that ends by itself, where USSD says until when.
    for (const id of ["lock-1", "lock-2"]) await mo(id, chiku.msisdn, "SALIO 1111");
    expect(repliesTo(chiku.msisdn).at(-1)!.text).toBe("PIN si sahihi. Hakuna kilichofanyika.");
    await mo("lock-3", chiku.msisdn, "SALIO 1111");
    const locked = repliesTo(chiku.msisdn).at(-1)!.text;
    const ussd = await walkAt(env, "review-lock", chiku.msisdn, ["1", "5173"]);
    // The USSD screen and the SMS name the same moment, in the bank's time zone.
    expect(ussd.at(-1)).toMatch(/^END PIN yako imefungwa hadi .+\.$/);
    expect(locked).toBe(ussd.at(-1)!.slice("END ".length));
    // A SEND with the right PIN meanwhile: refused, the same end given; nothing moves.
    await mo("lock-4", chiku.msisdn, `TUMA ${brian.msisdn} 10 5173`);
    expect(repliesTo(chiku.msisdn).at(-1)!.text).toBe(locked);
    expect((await env.ledger.getAccount(chiku.walletAccountId))!.debitsPosted).toBe(0n);
  });

  it("tells when a SIM swap's cooling ends, as the USSD menu does", async () => {
    const swapped = await env.services.simSwap.report({ actor: { type: "telco", id: "safaricom" }, channel: "api", msisdn: dan.msisdn, kind: "sim_swap" });
    if (!swapped.ok) throw new Error(swapped.code);
    await mo("swap-1", dan.msisdn, `SEND ${brian.msisdn} 500000 8642`);
    const until = formatDate("en", swapped.coolingEndsAt, "Africa/Nairobi", "dayTime");
    expect(repliesTo(dan.msisdn).at(-1)!.text).toBe(`Your SIM changed recently: transfers wait until ${until}.`);
    expect((await env.ledger.getAccount(dan.walletAccountId))!.debitsPosted).toBe(0n);
  });

  it("answers a number it does not know, writing no command word, in the bank's language", async () => {
    // A Kiswahili bank: its USSD menu greets unknown numbers in Kiswahili; SMS answered them in English.
    await env.test.db.query("UPDATE institutions SET language = 'sw' WHERE id = $1", [env.bankId]);
    try {
      await mo("stranger-1", "+254712660099", "habari");
      expect(repliesTo("+254712660099").at(-1)!.text).toBe("Amri haijulikani. Tuma SALIO <PIN>, TAARIFA <PIN>, TUMA <namba> <kiasi> <PIN>, LUGHA SW, ACHA au MSAADA.");
      // A command word still answers in its own language; a known customer in theirs.
      await mo("stranger-2", "+254712660099", "HELP");
      expect(repliesTo("+254712660099").at(-1)!.text).toMatch(/^BAL <PIN> balance\./);
      await mo("known-1", amina.msisdn, "habari");
      expect(repliesTo(amina.msisdn).at(-1)!.text).toMatch(/^Unknown command\./);
    } finally {
      await env.test.db.query("UPDATE institutions SET language = 'en' WHERE id = $1", [env.bankId]);
    }
  });

  it("refuses a malformed aggregator POST with an error that names the field, and records nothing", async () => {
    const rows = async () => (await env.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM sms_mo_messages")).rows[0]!.n;
    const [recorded, replied] = [await rows(), sent.length];
    const post = (body: unknown, type = "json") => request(app).post("/sms/at/mo").set("x-fingate-secret", SECRET).type(type).send(body as object);
    const ok = { from: "+254712660005", to: "22555", text: "HELP", id: "bad-1" };
    const cases: Array<[unknown, RegExp]> = [
      [{ ...ok, from: undefined }, /^bad request: from\b/],
      [{ ...ok, from: 254712660005 }, /^bad request: from\b/],
      [{ ...ok, from: "0712660005" }, /^bad request: from\b/],
      [{ ...ok, id: undefined }, /^bad request: id\b/],
      [{ ...ok, id: 42 }, /^bad request: id\b/],
      [{ ...ok, id: "   " }, /^bad request: id\b/],
      [{ ...ok, id: "x".repeat(129) }, /^bad request: id\b/],
      [{ ...ok, text: undefined }, /^bad request: text\b/],
      [{ ...ok, text: ["BAL", "6284"] }, /^bad request: text\b/],
      [{ ...ok, text: "x".repeat(1_601) }, /^bad request: text\b.*1600/],
    ];
    for (const [body, named] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.text, JSON.stringify(body).slice(0, 80)).toMatch(named);
    }
    expect((await post("{not json", "application/json")).status).toBe(400);
    expect((await post([ok])).status).toBe(400);
    expect((await post({ ...ok, text: "x".repeat(9_000) })).status).toBe(413);
    await env.sms.commands.drain();
    expect(await rows()).toBe(recorded);
    expect(sent.length).toBe(replied);
  });

  it("tells a customer who has not chosen a PIN yet to choose one, not that their PIN is wrong", async () => {
    // Registered on USSD, left before choosing the PIN: every BAL answered "Wrong PIN" for ever.
    const self = { actorType: "customer" as const, actorId: "self-registration", channel: "ussd" as const };
    const registered = await env.services.directory.register(self, { institutionId: env.bankId, msisdn: "+254712660006", displayName: "Esther Njeri", language: "en" });
    if (!registered.ok) throw new Error(registered.code);
    for (const [id, text] of [["first-1", "BAL 1234"], ["first-2", "MINI 1234"], ["first-3", `SEND ${brian.msisdn} 10 1234`]]) {
      await mo(id!, "+254712660006", text!);
      expect(repliesTo("+254712660006").at(-1)!.text, text).toBe("You have no PIN yet. Dial the bank's USSD code to choose one.");
    }
  });

  it("keeps a PIN out of logs, stored messages, replies and the audit trail, whatever the shape of the command", async () => {
    // Malformed ones too: no space after the word, the PIN and the amount swapped, the PIN first, a long text.
    const texts = ["BAL6284", `SEND ${brian.msisdn} 6284 2000`, "6284 BAL", `MINI 6284 ${"x".repeat(200)}`, "Solde: 6284", "BAL 6284"];
    for (const [i, text] of texts.entries()) expect((await mo(`pin-${i}`, amina.msisdn, text)).status).toBe(200);
    const stored = [
      env.logs.join("\n"),
      JSON.stringify((await env.test.db.query("SELECT * FROM sms_mo_messages")).rows),
      JSON.stringify((await env.test.db.query("SELECT * FROM audit_log")).rows),
      sent.map((r) => r.text).join("\n"),
    ];
    for (const [i, text] of stored.entries()) for (const pin of ["6284", "628400"]) expect(containsPin(text, pin), `${i} ${pin}`).toBe(false);
    expect((await env.ledger.getAccount(amina.walletAccountId))!.debitsPosted).toBe(0n);
  });
});
