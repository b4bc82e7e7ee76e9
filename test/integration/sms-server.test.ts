/**
 * Server mode over real sockets: a telco binds to our listener with its own system_id and password,
 * keeps the link alive, is held to its throughput cap, sends its subscribers' MO commands to our
 * short code (English and Swahili), and gets our replies and MT messages back as deliver_sm.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_RINVPASWD, ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { ESME_RALYBND, ESME_RINVBNDSTS, ESME_RINVDSTADR } from "../../src/sms/server/status-codes.js";
import { containsPin, openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

let env: SmsEnv;
let jane: Customer;
let otieno: Customer;
const telcos: TestTelco[] = [];

async function telco(): Promise<TestTelco> {
  const t = await TestTelco.connect(env.port);
  telcos.push(t);
  return t;
}

async function bound(systemId = "safaricom"): Promise<TestTelco> {
  const t = await telco();
  expect(await t.bind(systemId, "Secret1!")).toBe(ESME_ROK);
  return t;
}

async function transfersOf(accountId: string): Promise<number> {
  const { rows } = await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM transfers WHERE debit_account_id = $1", [accountId]);
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-server-bank" });
  jane = await env.addCustomer("+254700000001", "Jane Wanjiru", "4827", "en", 5_000_00n);
  otieno = await env.addCustomer("+254700000002", "Otieno Kamau", "5903", "sw", 1_000_00n);
  await env.addCustomer("+254700000005", "Priya Sharma", "6194", "hi", 300_00n);
  await env.addServerLink("safaricom", { maxBinds: 10 });
  await env.addServerLink("capped", { throughputPerS: 2, maxBinds: 5, shortCodes: ["22666"], msisdnPrefixes: [] });
  await env.addServerLink("limited", { maxBinds: 1, shortCodes: ["22777"], msisdnPrefixes: [] });
});

afterAll(async () => {
  for (const t of telcos) await t.close();
  await env?.close();
});

describe("binding", () => {
  it("refuses a wrong password, an unknown system_id (the same answer) and binds beyond the account's limit", async () => {
    expect(await (await telco()).bind("safaricom", "wrong1")).toBe(ESME_RINVPASWD);
    expect(await (await telco()).bind("nobody", "Secret1!")).toBe(ESME_RINVPASWD);
    expect(env.logs.some((l) => l.includes("unknown system_id"))).toBe(true);
    await bound("limited");
    expect(await (await telco()).bind("limited", "Secret1!")).toBe(ESME_RALYBND);
    expect(env.logs.join("\n")).not.toContain("Secret1!");
  });

  it("takes binds only from the addresses on a link's allow-list, when it has one", async () => {
    await env.addServerLink("fenced", { maxBinds: 2, shortCodes: ["22888"], msisdnPrefixes: [], ipAllowList: ["10.20.30.40"] });
    expect(await (await telco()).bind("fenced", "Secret1!")).toBe(ESME_RINVPASWD);
    expect(env.logs.some((l) => l.includes("address not allowed"))).toBe(true);
    await env.addServerLink("open-door", { maxBinds: 2, shortCodes: ["22889"], msisdnPrefixes: [], ipAllowList: ["10.20.30.40", "127.0.0.1"] });
    expect(await (await telco()).bind("open-door", "Secret1!")).toBe(ESME_ROK);
  });

  it("answers enquire_link, and refuses messages before a bind", async () => {
    const t = await telco();
    expect((await t.request("enquire_link")).command_status).toBe(ESME_ROK);
    expect((await t.mo("254700000001", "22555", "HELP")).command_status).toBe(ESME_RINVBNDSTS);
    expect(await t.bind("capped", "Secret1!")).toBe(ESME_ROK);
    expect((await t.request("enquire_link")).command_status).toBe(ESME_ROK);
  });
});

describe("throughput cap", () => {
  it("answers ESME_RTHROTTLED beyond the telco's messages per second", async () => {
    const t = await bound("capped");
    // To an address that is not ours: each accepted PDU is refused as such, so nothing runs.
    const statuses = await Promise.all(Array.from({ length: 40 }, () => t.mo("254700000009", "99999", "HELP").then((r) => r.command_status)));
    const throttled = statuses.filter((s) => s === ESME_RTHROTTLED).length;
    expect(statuses.filter((s) => s === ESME_RINVDSTADR).length).toBeGreaterThanOrEqual(2);
    expect(throttled).toBeGreaterThan(0);
    expect(throttled + statuses.filter((s) => s === ESME_RINVDSTADR).length).toBe(40);
    const status = env.sms.admin.status().find((s) => s.id === "capped")!;
    expect(status.throttled).toBeGreaterThanOrEqual(throttled);
    expect(status.bound).toBe(true);
  });
});

describe("MO commands", () => {
  it("answers a balance in English and in Swahili, as deliver_sm to the subscriber", async () => {
    const t = await bound();
    expect((await t.mo("254700000001", "22555", "bal 4827")).command_status).toBe(ESME_ROK);
    const en = await t.nextDeliver();
    expect(en.destination_addr).toBe("254700000001");
    expect(en.source_addr).toBe("22555");
    expect(textOf(en)).toBe("Your balance is KES 5,000.00.");
    expect((await t.mo("254700000002", "22555", "SALIO 5903")).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliver())).toBe("Salio lako ni Ksh 1,000.00.");
    await t.close();
  });

  it("sends money once even when the telco delivers the same message again", async () => {
    const t = await bound();
    const before = await transfersOf(jane.walletAccountId);
    expect((await t.mo("254700000001", "22555", "SEND 0700000002 150 4827")).command_status).toBe(ESME_ROK);
    // The payment's receipts (the ledger's outbox rows) answer the payer and tell the payee.
    const receipt = textOf(await t.nextDeliverTo("254700000001"));
    expect(receipt).toMatch(/^Sent KES 150\.00 to OTIENO K\*+\. Fee KES 0\.00\. Ref [0-9A-F]{10}\.$/);
    expect(containsPin(receipt, "4827")).toBe(false);
    expect(textOf(await t.nextDeliverTo("254700000002"))).toMatch(/^Umepokea Ksh 150\.00 kutoka kwa Jane W/);
    // The re-delivery: acknowledged, recognised, not run again.
    expect((await t.mo("254700000001", "22555", "SEND 0700000002 150 4827")).command_status).toBe(ESME_ROK);
    expect((await t.mo("254700000001", "22555", "BAL 4827")).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000001"))).toBe("Your balance is KES 4,850.00.");
    expect(t.pending()).toBe(0);
    expect(await transfersOf(jane.walletAccountId)).toBe(before + 1);
    expect((await env.ledger.getAccount(otieno.walletAccountId))!.creditsPosted).toBe(1_150_00n);
    await t.close();
  });

  it("takes the same SEND text after the SEND window for a new payment, and a copy inside it for no payment", async () => {
    const t = await bound();
    // Customers of their own, so that the other tests' numbers, rates and statements stay as they were.
    const halima = await env.addCustomer("+254712710011", "Halima Ali", "2468", "sw", 100_00n);
    await env.addCustomer("+254712710012", "Peter Njoroge", "1357", "en", 1_00n);
    const before = await transfersOf(halima.walletAccountId);
    const send = "TUMA 0712710012 35 2468";
    expect((await t.mo("254712710011", "22555", send)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254712710011"))).toMatch(/^Umetuma Ksh 35\.00 kwa PETER N\*+\./);
    expect(textOf(await t.nextDeliverTo("254712710012"))).toMatch(/^Received KES 35\.00 from Halima/);
    await env.sms.commands.drain();
    // A copy two minutes later (a late re-delivery, or Halima sending it again): answered, not paid.
    const pass = (interval: string) =>
      env.test.db.query(
        `UPDATE sms_mo_messages SET received_at = received_at - $2::interval, last_seen_at = last_seen_at - $2::interval, paid_at = paid_at - $2::interval
         WHERE msisdn = $1 AND command = 'send'`,
        ["+254712710011", interval],
      );
    await pass("2 minutes");
    expect((await t.mo("254712710011", "22555", send)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254712710011"))).toMatch(/^Tayari umetuma Ksh 35\.00 kwa PETER N\*+ saa \d\d:\d\d \(Kumb [0-9A-F]{10}\)\./);
    await env.sms.commands.drain();
    expect(await transfersOf(halima.walletAccountId)).toBe(before + 1);
    // Ten minutes on, past the SEND window (5 minutes), the same text is a new payment, as a new
    // SMS is. It used to be recognised for 48 hours, and every repeat in them went unanswered (a
    // customer refused for funds who topped up and sent it again heard nothing): the window is
    // now short, and a copy inside it is answered (test/integration/sms-repeats.test.ts).
    await pass("10 minutes");
    expect((await t.mo("254712710011", "22555", send)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254712710011"))).toMatch(/^Umetuma Ksh 35\.00 kwa PETER N\*+\./);
    expect(textOf(await t.nextDeliverTo("254712710012"))).toMatch(/^Received KES 35\.00 from Halima/);
    await env.sms.commands.drain();
    expect(await transfersOf(halima.walletAccountId)).toBe(before + 2);
    await t.close();
  });

  it("pays once when the same message arrives twice at the same moment", async () => {
    const t = await bound();
    const before = await transfersOf(jane.walletAccountId);
    const sendRows = async () => Number((await env.test.db.query<{ n: string }>("SELECT count(*)::text AS n FROM sms_mo_messages WHERE command = 'send'")).rows[0]!.n);
    const rowsBefore = await sendRows();
    const send = () => t.mo("254700000001", "22555", "SEND 0700000002 20 4827");
    const statuses = await Promise.all([send(), send()]);
    expect(statuses.map((r) => r.command_status)).toEqual([ESME_ROK, ESME_ROK]);
    // Both were recorded under one message (one id) before they were acknowledged…
    expect(await sendRows()).toBe(rowsBefore + 1);
    expect(textOf(await t.nextDeliverTo("254700000001"))).toMatch(/^Sent KES 20\.00 to OTIENO/);
    expect(textOf(await t.nextDeliverTo("254700000002"))).toMatch(/^Umepokea Ksh 20\.00/);
    // …so whichever ran carried the same payment id: one transfer (a second run finds it done).
    await env.sms.commands.drain();
    expect(await transfersOf(jane.walletAccountId)).toBe(before + 1);
    await t.close();
  });

  it("holds SEND to the bank's SMS limits, lower than USSD's", async () => {
    const t = await bound();
    const before = await transfersOf(jane.walletAccountId);
    // Tier 0 over SMS (Y.2740 level 2): KES 1,000 per transaction; USSD would allow KES 10,000.
    await t.mo("254700000001", "22555", "SEND 0700000002 1500 4827");
    expect(textOf(await t.nextDeliver())).toMatch(/^This is over your SMS limit(\.|: you may send up to KES 1,000\.00 now\.)/);
    expect(await transfersOf(jane.walletAccountId)).toBe(before);
    await t.close();
  });

  it("reads a Hindi command sent in UCS-2 and answers in Hindi, in UCS-2", async () => {
    const t = await bound();
    expect((await t.mo("254700000005", "22555", "बैलेंस 6194", { data_coding: 8 })).command_status).toBe(ESME_ROK);
    const reply = await t.nextDeliver();
    expect(reply.data_coding).toBe(8);
    expect(textOf(reply)).toMatch(/^आपकी शेष राशि .*300\.00 है।$/);
    await t.close();
  });

  it("sends a mini-statement", async () => {
    const t = await bound();
    await t.mo("254700000002", "22555", "taarifa 5903");
    const lines = textOf(await t.nextDeliver()).split("\n")
    expect(lines[0]).toBe("Miamala ya mwisho:");
    expect(lines.slice(1).some((l) => /^\+Ksh 1,000\.00 \S+ \S+ [0-9A-F]{10}$/.test(l))).toBe(true);
    await t.close();
  });

  it("answers malformed and unknown commands with short help, in the word's language", async () => {
    const t = await bound();
    await t.mo("254700000003", "22555", "hello there");
    expect(textOf(await t.nextDeliver())).toMatch(/^Unknown command\./);
    await t.mo("254700000003", "22555", "TUMA 0700000002");
    expect(textOf(await t.nextDeliver())).toBe("Kutuma pesa tuma: TUMA <namba au jina> <kiasi> <PIN>");
    await t.mo("254700000003", "22555", "SALIO 1234");
    expect(textOf(await t.nextDeliver())).toBe("Namba hii haina akaunti. Piga msimbo wa USSD wa benki kufungua.");
    await t.close();
  });

  it("records STOP and START so the outbound relay can respect them", async () => {
    const t = await bound();
    await t.mo("254700000001", "22555", "STOP");
    expect(textOf(await t.nextDeliver())).toBe("You will get no more payment receipts (security notices still come). Send START to resume.");
    expect(await env.sms.optOuts.isOptedOut("+254700000001")).toBe(true);
    await t.mo("254700000001", "22555", "anza");
    // Jane's language is English: the reply follows the customer, not the word.
    expect(textOf(await t.nextDeliver())).toBe("Receipts resumed. Send STOP to end them.");
    expect(await env.sms.optOuts.isOptedOut("+254700000001")).toBe(false);
    await t.close();
  });

  it("refuses MO to an address that is not ours on the link", async () => {
    const t = await bound();
    expect((await t.mo("254700000001", "11111", "BAL 4827")).command_status).toBe(ESME_RINVDSTADR);
    await t.close();
  });

  it("never logs or stores the PIN", async () => {
    const logs = env.logs.join("\n");
    for (const pin of ["4827", "5903", "6194"]) expect(containsPin(logs, pin), pin).toBe(false);
    // What is stored of each message: ids, the number, the command word, and a keyed digest.
    const { rows } = await env.test.db.query<{ mo_key: string; command: string; msisdn: string }>("SELECT mo_key, command, msisdn FROM sms_mo_messages");
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) {
      expect(row.mo_key).toMatch(/^digest:[A-Za-z0-9_-]{43}$/);
      expect(["balance", "statement", "send", "help", "language", "stop", "start", "[text]"]).toContain(row.command);
      expect(row.msisdn).toMatch(/^\+[0-9]+$/);
    }
  });
});

describe("MT to the telco's subscribers", () => {
  it("routes by prefix to the server link and sends deliver_sm parts", async () => {
    const t = await bound();
    const route = env.sms.manager.route("+254700000001");
    expect(route).toEqual({ linkId: "safaricom", from: "22555" });
    const link = env.sms.manager.link("safaricom")!;
    expect(link.state()).toBe("bound");
    const text = "Your PIN was changed. ".repeat(9).trim();
    const encoded = encodeSms(text, { reference: 7 });
    const result = await link.submit({
      ref: "test-1",
      from: "22555",
      to: "254700000001",
      dataCoding: encoded.dataCoding,
      udhi: encoded.udhi,
      parts: encoded.parts.map((payload, index) => ({ index, payload })),
      registeredDelivery: true,
    });
    expect(result.smscMessageIds).toHaveLength(2);
    const parts = [await t.nextDeliver(), await t.nextDeliver()];
    expect(parts.map((p) => p.esm_class)).toEqual([0x40, 0x40]);
    expect(parts.map(textOf).join("")).toBe(text);
    expect(env.sms.manager.route("+255700000001")).toBeNull();

    // The telco's delivery receipt for a part comes back to the link's receipt listeners.
    const heard = new Promise<{ smscMessageId: string; outcome: string | null }>((resolve) => {
      const off = link.onReceipt((receipt) => {
        off();
        resolve(receipt);
      });
    });
    const id = result.smscMessageIds[0]!;
    const dlr = `id:${id} sub:001 dlvrd:001 submit date:2611252100 done date:2611252101 stat:DELIVRD err:000 text:Your PIN`;
    expect((await t.mo("254700000001", "22555", dlr, { esm_class: 0x04 })).command_status).toBe(ESME_ROK);
    expect(await heard).toMatchObject({ smscMessageId: id, outcome: "delivered" });
    await t.close();
  });
});
