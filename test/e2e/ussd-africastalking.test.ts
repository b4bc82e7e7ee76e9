/**
 * The whole USSD channel over the real core: PostgreSQL (directory, PINs with Argon2id, ledger),
 * Redis sessions shared by two gateway instances, real Africa's Talking payloads via supertest.
 */
import { randomBytes, randomUUID } from "node:crypto";
import express from "express";
import { Redis } from "ioredis";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { AccountFlags } from "../../src/core/ledger/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { RedisSessionStore } from "../../src/infra/redis/session-store.js";
import { buildServices, type CoreServices } from "../../src/services.js";
import { buildUssdGateway, type UssdGateway } from "../../src/ussd/gateway.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { registerWithPin } from "../helpers/core-setup.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const SECRET = "e2e-at-secret-0123456789abcdef";
const SYSTEM = { actorType: "system" as const, actorId: "e2e", channel: "system" as const };
const silent = { info() {}, warn() {}, error() {} };

let test: TestDb;
let ledger: Ledger;
let services: CoreServices;
const gateways: UssdGateway[] = [];
const apps: express.Express[] = [];
let prefix: string;
let bankId: string;
let treasury: string;

async function fund(walletAccountId: string, amountMinor: bigint) {
  const r = await ledger.transfer({ id: randomUUID(), debitAccountId: treasury, creditAccountId: walletAccountId, amountMinor, code: "cash_in" });
  expect(r.result).toBe("ok");
}

async function customer(msisdn: string, name: string, language: "en" | "hi", pin: string, balanceMinor: bigint) {
  const c = await registerWithPin(services, bankId, { msisdn, name, pin, language });
  if (balanceMinor > 0n) await fund(c.walletAccountId, balanceMinor);
  return c;
}

const post = (i: number, sessionId: string, phoneNumber: string, text: string, secret = SECRET) =>
  request(apps[i]!)
    .post("/ussd/at")
    .set("x-fingate-secret", secret)
    .type("form")
    .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text });

/** Walks a session through cumulative texts, alternating instances, and returns each reply. */
async function walk(sessionId: string, phone: string, inputs: string[], alternate = false): Promise<string[]> {
  const out: string[] = [];
  const texts = ["", ...inputs.map((_, i) => inputs.slice(0, i + 1).join("*"))];
  for (const [i, text] of texts.entries()) {
    const r = await post(alternate ? i % 2 : 0, sessionId, phone, text);
    expect(r.status).toBe(200);
    out.push(r.text);
  }
  return out;
}

beforeAll(async () => {
  test = await openTestDb("postgres", { maxConnections: 16 });
  ledger = new Ledger(new SqlLedgerStore(test.db), { isRetryable: isRetryableSqlError });
  bankId = randomUUID();
  services = buildServices(test.db, ledger, { schema: test.schema });
  await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'bank-e2e', 'Bank E2E', 'KES', 'Africa/Nairobi')`, [bankId]);
  // KES 10 fee from KES 100.01 up; smaller payments are free.
  await services.fees.put(bankId, "p2p", {
    type: "p2p",
    agentShareBps: 0,
    bands: [
      { minMinor: 1n, maxMinor: 100_00n, feeMinor: 0n },
      { minMinor: 100_01n, maxMinor: 10_000_000_00n, feeMinor: 10_00n },
    ],
  }, new Date(), () => []);
  const account = await ledger.createAccount({ institutionId: bankId, currency: "KES", kind: "settlement", flags: 0 });
  treasury = account.id;
  prefix = `fingate-test:${randomBytes(6).toString("hex")}:`;
  const secretKey = randomBytes(32);
  for (let i = 0; i < 2; i++) {
    const gw = await buildUssdGateway({
      services,
      ledger,
      logger: silent,
      institutionId: bankId,
      aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }],
      secretKey,
      sessions: await RedisSessionStore.connect(REDIS_URL, { prefix }),
    });
    gateways.push(gw!);
    const app = express();
    app.use(gw!.router);
    apps.push(app);
  }
  const configured = await services.directory.setDefaultCountry(SYSTEM, bankId, "KE");
  expect(configured.ok).toBe(true);
  expect(AccountFlags.debitsMustNotExceedCredits).toBe(1);
});

afterAll(async () => {
  for (const gw of gateways) await gw.close();
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  await ledger?.close();
  await services?.close();
  await test?.cleanup();
});

describe("USSD over Africa's Talking, end to end (PostgreSQL + Redis)", () => {
  it("registers an unknown number: name, language, PIN twice → tier-0 wallet", async () => {
    const replies = await walk("reg-1", "+254711000001", ["Amina Njeri", "1", "4827", "4827"]);
    expect(replies[0]).toMatch(/^CON Welcome! This number is not registered yet\.\nEnter your full name:$/);
    expect(replies[3]).toBe("CON Enter the PIN again:");
    expect(replies[4]).toBe("END Welcome Amina Njeri! Your wallet is ready. Dial again to use it.");
    const found = await services.directory.findCustomerByMsisdn("+254711000001");
    expect(found.ok && found.value.kycTier).toBe(0);
    // The new customer's PIN works.
    expect((await walk("reg-2", "+254711000001", ["1", "4827"])).at(-1)).toBe("END Your balance is KES 0.00.");
  });

  it("sends money to a phone number, hops alternating between two instances, with a retried PIN hop", async () => {
    const payer = await customer("+254711000010", "Jane Wanjiru", "en", "4827", 1_000_00n);
    const payee = await customer("+254711000020", "Peter Otieno", "en", "5831", 0n);
    const replies = await walk("send-1", "+254711000010", ["2", "0711000020", "250"], true);
    expect(replies[2]).toBe("CON Pay PETER O***. Enter the amount in KES:");
    expect(replies[3]).toBe("CON Send KES 250.00 to PETER O***?\nFee KES 10.00. Total KES 260.00.\n1. Confirm\n2. Cancel");
    expect((await post(0, "send-1", "+254711000010", "2*0711000020*250*1")).text).toBe("CON Enter your PIN to confirm:");
    const text = "2*0711000020*250*1*4827";
    const [a, b] = await Promise.all([post(1, "send-1", "+254711000010", text), post(0, "send-1", "+254711000010", text)]);
    expect(a.text).toMatch(/^END Sent KES 250\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 10\.00\.$/);
    expect(b.text).toBe(a.text);
    expect((await post(1, "send-1", "+254711000010", text)).text).toBe(a.text);
    const [from, to] = await ledger.getAccounts([payer.walletAccountId, payee.walletAccountId]).then((accts) =>
      [payer.walletAccountId, payee.walletAccountId].map((id) => accts.find((x) => x.id === id)!),
    );
    expect(from!.debitsPosted).toBe(260_00n);
    expect(to!.creditsPosted).toBe(250_00n);
    // Mini-statement shows it.
    const stmt = (await walk("stmt-1", "+254711000020", ["3", "5831"])).at(-1)!;
    expect(stmt).toMatch(/^END Last transactions:\n.* Received KES 250\.00 Ref [0-9A-F]{10}$/);
    // The payer's: one line for the payment with its fee (what left the wallet), under the receipt's
    // reference; the fee is not a payment of its own. The funding shows as received.
    const ref = /Ref ([0-9A-F]{10})/.exec(a.text)![1];
    const paid = (await walk("stmt-2", "+254711000010", ["3", "4827"])).at(-1)!;
    expect(paid).toMatch(new RegExp(`^END Last transactions:\\n.* Sent KES 260\\.00 Ref ${ref}\\n.* Received KES 1,000\\.00 Ref [0-9A-F]{10}$`));
  });

  it("clear refusals: unknown payee, invalid amount, insufficient funds, wrong PIN then locked", async () => {
    await customer("+254711000030", "Mary Akinyi", "en", "4827", 10_00n);
    await customer("+254711000031", "John Kamau", "en", "5831", 0n);
    const r = await walk("ref-1", "+254711000030", ["2", "0799999999", "0711000031", "12.345", "50", "1", "4827"]);
    expect(r[2]).toMatch(/^CON This number or alias cannot be paid\./);
    expect(r[4]).toMatch(/^CON Invalid amount\. Use digits, with at most 2 decimals\./);
    expect(r.at(-1)).toBe("END Insufficient funds. No money was moved.");
    const locked = await walk("ref-2", "+254711000030", ["1", "1111", "2222", "3333"]);
    expect(locked[2]).toBe("CON Wrong PIN. Try again.\nEnter your PIN:");
    expect(locked.at(-1)).toMatch(/^END Your PIN is locked until /);
  });

  it("a payment over the channel's limit says what can still be sent", async () => {
    await customer("+254711000060", "Rose Chebet", "en", "4827", 30_000_00n);
    await customer("+254711000061", "Tom Kiprono", "en", "5831", 0n);
    // Said at the amount, before any PIN, and the amount may be typed again.
    const r = await walk("lim-1", "+254711000060", ["2", "0711000061", "15000"]);
    // Over the per-payment maximum: what one payment may carry now, not "what you can still send
    // today" (two such payments may fit the day).
    expect(r.at(-1)).toMatch(/^CON Over the limit\. The most allowed now is KES [0-9,.]+\.\nPay TOM K\*\*\*\. Enter the amount in KES:$/);
  });

  it("SIM-swap cooling refuses a large payment", async () => {
    await customer("+254711000040", "Grace Wambui", "en", "4827", 500_00n);
    await customer("+254711000041", "Paul Mutua", "en", "5831", 0n);
    const swapped = await services.simSwap.report({ actor: { type: "telco", id: "t" }, channel: "system", msisdn: "+254711000040", kind: "sim_swap" });
    expect(swapped.ok).toBe(true);
    const r = await walk("swap-1", "+254711000040", ["2", "0711000041", "200"]);
    expect(r.at(-1)).toMatch(/^END Your SIM was changed recently\. Payments are limited until /);
    // On the bank's clock (Nairobi), not UTC's.
    const until = (await services.simSwap.coolingEndsAt("+254711000040"))!;
    const nairobi = new Intl.DateTimeFormat("en", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "Africa/Nairobi" });
    expect(r.at(-1)!.replace(/\s+/g, " ")).toContain(`until ${nairobi.format(until).replace(/\s+/g, " ")}.`);
  });

  it("Hindi: paging with 98 and 0 inside 80 characters, balance in Hindi, dial-string shortcut", async () => {
    await customer("+254711000050", "सुनीता कुमारी", "hi", "4827", 12_345_67n);
    const p1 = await post(0, "hi-1", "+254711000050", "");
    expect(p1.text).toMatch(/^CON fingate में आपका स्वागत है\n1\. बैलेंस/);
    expect(p1.text).toMatch(/\n98 आगे$/);
    for (const page of [p1.text]) expect(page.slice(4).length).toBeLessThanOrEqual(80);
    const p2 = await post(1, "hi-1", "+254711000050", "98");
    expect(p2.text).toMatch(/^CON 4\. नकद निकालें\n5\. पिन बदलें\n6\. मेरा खाता\n7\. भाषा\n0 पीछे$/);
    expect((await post(0, "hi-1", "+254711000050", "98*0")).text).toBe(p1.text);
    expect((await post(1, "hi-1", "+254711000050", "98*0*1")).text).toBe("CON अपना पिन दर्ज करें:");
    expect((await post(0, "hi-1", "+254711000050", "98*0*1*4827")).text).toBe("END आपका बैलेंस KES 12,345.67 है।");
    // *384*1# goes straight to the PIN for the balance.
    expect((await post(0, "hi-2", "+254711000050", "1")).text).toBe("CON अपना पिन दर्ज करें:");
  });

  it("claims a pseudonym over USSD and is paid by it", async () => {
    await customer("+254711000070", "Wanjiku Muthoni", "en", "4827", 0n);
    await customer("+254711000071", "Otieno Ouma", "en", "5831", 500_00n);
    const claimed = await walk("alias-1", "+254711000070", ["6", "2", "mama.wanjiku"]);
    expect(claimed.at(-1)).toBe("END Your alias mama.wanjiku is ready. Others can pay you with it.");
    const paid = await walk("alias-2", "+254711000071", ["2", "Mama.Wanjiku", "50", "1", "5831"], true);
    expect(paid[2]).toBe("CON Pay WANJIKU M***. Enter the amount in KES:");
    expect(paid.at(-1)).toMatch(/^END Sent KES 50\.00 to WANJIKU M\*\*\*\. Ref /);
    const listed = await walk("alias-3", "+254711000070", ["6", "1"]);
    expect(listed.at(-1)).toBe("END Your aliases: mama.wanjiku");
  });

  it("a payment to a pseudonym that changes hands between the confirmation and the PIN goes to the payee the payer was shown", async () => {
    const amina = await customer("+254711000080", "Amina Chebet", "en", "4827", 0n);
    const mallory = await customer("+254711000081", "Mallory Kip", "en", "5831", 0n);
    await customer("+254711000082", "Faith Njoroge", "en", "3917", 500_00n);
    const system = { actorType: "system" as const, actorId: "e2e", channel: "system" as const };
    expect((await services.directory.claimAlias(system, amina.id, "shop.amina")).ok).toBe(true);
    const texts = ["", "2", "2*shop.amina", "2*shop.amina*50", "2*shop.amina*50*1"];
    const seen: string[] = [];
    for (const text of texts) seen.push((await post(seen.length % 2, "alias-move-1", "+254711000082", text)).text);
    expect(seen[3]).toMatch(/^CON Send KES 50\.00 to AMINA C\*\*\*\?/);
    expect((await services.directory.releaseAlias(system, amina.id, "shop.amina")).ok).toBe(true);
    // Its quarantine over (ALIAS_QUARANTINE_DAYS), as if the payer had taken a month over the PIN.
    await test.db.query("UPDATE customer_aliases SET released_at = released_at - interval '31 days' WHERE alias_key = 'shop.amina'");
    expect((await services.directory.claimAlias(system, mallory.id, "shop.amina")).ok).toBe(true);
    const paid = await post(1, "alias-move-1", "+254711000082", "2*shop.amina*50*1*3917");
    expect(paid.text).toMatch(/^END Sent KES 50\.00 to AMINA C\*\*\*\. Ref /);
    const balanceOf = async (id: string) => {
      const a = (await ledger.getAccount(id))!;
      return a.creditsPosted - a.debitsPosted;
    };
    expect(await balanceOf(amina.walletAccountId)).toBe(50_00n);
    expect(await balanceOf(mallory.walletAccountId)).toBe(0n);
  });

  it("refuses hostile payloads before any session exists", async () => {
    expect((await post(0, "bad-1", "+254711000010", "", "not-the-secret-at-all")).status).toBe(401);
    const big = await post(0, "bad-2", "+254711000010", "9".repeat(10_240));
    expect(big.status).toBe(413);
    const missing = await request(apps[0]!).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ text: "1" });
    expect(missing.status).toBe(400);
    const admin = new Redis(REDIS_URL);
    expect(await admin.keys(`${prefix}at:bad-*`)).toEqual([]);
    await admin.quit();
  });
});
