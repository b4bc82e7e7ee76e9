/**
 * Command replies through the outbox, and concatenated MO messages, over real loopback sockets and
 * the real PostgreSQL: a reply outlives a client link that is down when it is written and goes out
 * once the link binds again; a re-run of the same MO message queues no second reply; STOP does not
 * silence replies; and multi-part MO messages (UDH with 8- and 16-bit references, SAR TLVs, parts
 * out of order and duplicated, GSM and Hindi UCS-2) run once as the whole command, across a
 * restart, while an incomplete one expires without running.
 */
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { insertOutboxReply } from "../../src/infra/db/outbox-store.js";
import { replyOutboxId } from "../../src/sms/commands/outbox-replies.js";
import { encodeSms } from "../../src/sms/encoding.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { startTestSmsc, type TestSmsc } from "../helpers/sms-outbox-smsc.js";
import { TestTelco, textOf } from "../helpers/smpp-telco.js";

/** Seconds an incomplete message waits for its parts here (short, so expiry can be seen). */
const PARTS_TTL_SEC = 3;

let env: SmsEnv;
let smsc: TestSmsc;
const telcos: TestTelco[] = [];

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, limitMs = 20_000): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bound(): Promise<TestTelco> {
  const t = await TestTelco.connect(env.port);
  telcos.push(t);
  expect(await t.bind("safaricom", "Secret1!")).toBe(ESME_ROK);
  return t;
}

async function outboxRows(msisdn: string): Promise<Array<{ id: string; state: string; template: string; in_reply_to: string | null; reply_link_id: string | null; link_id: string | null; sender: string | null }>> {
  const { rows } = await env.test.db.query<{ id: string; state: string; template: string; in_reply_to: string | null; reply_link_id: string | null; link_id: string | null; sender: string | null }>(
    "SELECT id, state, template, in_reply_to, reply_link_id, link_id, sender FROM outbox_messages WHERE msisdn = $1 ORDER BY seq",
    [msisdn],
  );
  return rows;
}

async function moRows(msisdn: string): Promise<Array<{ id: string; command: string | null; handled: boolean }>> {
  const { rows } = await env.test.db.query<{ id: string; command: string | null; handled: boolean }>(
    "SELECT id, command, handled_at IS NOT NULL AS handled FROM sms_mo_messages WHERE msisdn = $1 ORDER BY received_at",
    [msisdn],
  );
  return rows;
}

/** A part as the telco's network sends it: submit_sm to our short code. */
function part(t: TestTelco, from: string, fields: smpp.PduOptions): Promise<smpp.PDU> {
  return t.request("submit_sm", { source_addr_ton: 1, source_addr_npi: 1, source_addr: from, dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: "22555", ...fields });
}

/** UDH concatenation element with an 8-bit reference (IEI 0x00). */
function udh8(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref, total, seq]);
}

/** UDH concatenation element with a 16-bit reference (IEI 0x08). */
function udh16(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x06, 0x08, 0x04, ref >> 8, ref & 0xff, total, seq]);
}

/** A text split into `n` GSM payloads (unpacked septets, one octet each) of near-equal length. */
function gsmChunks(text: string, n: number): Buffer[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => encodeSms(text.slice(i * size, (i + 1) * size), { reference: 0, maxParts: 1 }).parts[0]!);
}

/** Waits a moment and checks that nothing more was delivered. */
async function nothingMore(t: TestTelco, ms = 800): Promise<void> {
  await sleep(ms);
  await env.sms.commands.drain();
  await sleep(200);
  expect(t.pending()).toBe(0);
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-replies-concat-bank", moPartsTtlSec: PARTS_TTL_SEC });
  await env.addCustomer("+254700000001", "Jane Wanjiru", "4827", "en", 5_000_00n);
  await env.addCustomer("+254700000002", "Otieno Kamau", "5903", "sw", 1_000_00n);
  await env.addCustomer("+254700000005", "Priya Sharma", "6194", "hi", 300_00n);
  await env.addCustomer("+254700000006", "Amani Otieno", "7316", "en", 200_00n);
  await env.addCustomer("+254700000007", "Neema Atieno", "2958", "en", 100_00n);
  await env.addCustomer("+255700000008", "Baraka Juma", "3841", "en", 50_00n);
  await env.addServerLink("safaricom", { maxBinds: 10 });
  smsc = await startTestSmsc();
  await env.addClientLink("smsc-tz", smsc.port, { shortCodes: ["15055"], msisdnPrefixes: ["+2557"] });
});

// Our deliver_sm go round robin over the telco's bound sessions: each test's session ends with it.
afterEach(async () => {
  for (const t of telcos.splice(0)) await t.close();
});

afterAll(async () => {
  await env?.close();
  await smsc?.stop();
});

describe("command replies through the outbox", () => {
  it("a reply written while its link is down goes out when the link binds again", async () => {
    await until("the client link's bind", () => env.sms.manager.status().find((s) => s.id === "smsc-tz" && s.state === "bound"));
    const session = smsc.sessions().at(-1)!;
    const text = encodeSms("BAL 3841", { reference: 0 });
    // The SMSC goes down as soon as our link has acknowledged the MO: the command runs and
    // answers while the link cannot carry anything.
    await new Promise<void>((acknowledged) =>
      session.send(
        new smpp.PDU("deliver_sm", { source_addr_ton: 1, source_addr_npi: 1, source_addr: "255700000008", destination_addr: "15055", esm_class: 0, data_coding: 0, short_message: text.parts[0]! }),
        () => {
          smsc.refuseBinds = true;
          for (const s of smsc.sessions()) s.destroy();
          acknowledged();
        },
      ),
    );
    const mo = await until("the MO answered", async () => (await moRows("+255700000008")).find((r) => r.handled));
    const reply = await until("the reply queued", async () => (await outboxRows("+255700000008")).find((r) => r.state === "queued"));
    expect(env.sms.manager.status().find((s) => s.id === "smsc-tz")!.bound).toBe(false);
    expect(smsc.accepted).toHaveLength(0);
    expect(reply).toMatchObject({ id: replyOutboxId(mo.id), template: "reply.text", in_reply_to: mo.id, reply_link_id: "smsc-tz", link_id: "smsc-tz", sender: "15055" });

    smsc.refuseBinds = false;
    const sent = await until("the reply at the SMSC", () => smsc.accepted.find((a) => a.destination === "255700000008"));
    expect(sent.text).toBe("Your balance is KES 50.00.");
    expect(sent.pdu.source_addr).toBe("15055");
    await until("the reply submitted", async () => (await outboxRows("+255700000008")).find((r) => r.state === "submitted"));
    expect(smsc.accepted.filter((a) => a.destination === "255700000008")).toHaveLength(1);
  });

  it("a re-run of the same MO message (a re-delivery after a crash before it was marked answered) queues no second reply", async () => {
    const t = await bound();
    expect((await t.mo("254700000006", "22555", "BAL 7316")).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000006"))).toBe("Your balance is KES 200.00.");
    await env.sms.commands.drain();
    const mo = (await moRows("+254700000006"))[0]!;
    // The crash: the reply was written but the message was never marked answered, and its lease lapsed.
    await env.test.db.query("UPDATE sms_mo_messages SET handled_at = NULL, run_token = NULL, running_until = NULL WHERE id = $1", [mo.id]);
    const runsBefore = env.logs.filter((l) => l.startsWith("sms command {") && l.includes(mo.id)).length;
    expect((await t.mo("254700000006", "22555", "BAL 7316")).command_status).toBe(ESME_ROK);
    await until("the re-run", () => env.logs.filter((l) => l.startsWith("sms command {") && l.includes(mo.id)).length > runsBefore);
    expect(await moRows("+254700000006")).toEqual([{ id: mo.id, command: "balance", handled: true }]);
    const rows = await outboxRows("+254700000006");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: replyOutboxId(mo.id), in_reply_to: mo.id });
    await nothingMore(t);
  });

  it("answers STOP, and HELP from a number that sent STOP, although STOP silences receipts", async () => {
    const t = await bound();
    await t.mo("254700000007", "22555", "STOP");
    expect(textOf(await t.nextDeliverTo("254700000007"))).toBe("You will get no more payment receipts (security notices still come). Send START to resume.");
    expect(await env.sms.optOuts.isOptedOut("+254700000007")).toBe(true);
    await t.mo("254700000007", "22555", "HELP");
    expect(textOf(await t.nextDeliverTo("254700000007"))).toMatch(/BAL/);
    // A receipt to that number is still suppressed.
    await env.test.db.query(
      `INSERT INTO outbox_messages (id, msisdn, template, params, kind) VALUES (gen_random_uuid(), '+254700000007', 'notice.cash_out_declined', '{"amountMinor":"100","currency":"KES","ref":"X"}', 'receipt')`,
    );
    await until("the receipt suppressed", async () => (await outboxRows("+254700000007")).find((r) => r.state === "suppressed"));
    expect((await outboxRows("+254700000007")).filter((r) => r.template === "reply.text").map((r) => r.state)).toEqual(["submitted", "submitted"]);
    await nothingMore(t, 300);
  });

  it("a reply whose link of origin is gone goes by prefix routing", async () => {
    const t = await bound();
    const moId = "0193b5a0-0000-7000-8000-0000000000aa";
    await insertOutboxReply(env.test.db, { id: replyOutboxId(moId), msisdn: "+254700000007", text: "Routed by prefix.", replyLinkId: "removed-link", sender: "22555", inReplyTo: moId });
    const pdu = await t.nextDeliverTo("254700000007");
    expect(textOf(pdu)).toBe("Routed by prefix.");
    expect(pdu.source_addr).toBe("22555");
    const row = await until("the reply submitted", async () => (await outboxRows("+254700000007")).find((r) => r.id === replyOutboxId(moId) && r.state === "submitted"));
    expect(row).toMatchObject({ link_id: "safaricom", reply_link_id: "removed-link" });
    // Written again (the same MO run again): nothing new.
    expect(await insertOutboxReply(env.test.db, { id: replyOutboxId(moId), msisdn: "+254700000007", text: "Routed by prefix.", replyLinkId: null, sender: null, inReplyTo: moId })).toBe(false);
  });
});

describe("concatenated MO messages", () => {
  it("runs a two-part message (UDH, 8-bit reference) once: parts out of order, one duplicated, the whole message re-delivered", async () => {
    const t = await bound();
    // A command is at most 160 characters in all (parse.ts), so the network split this one.
    const chunks = gsmChunks("BAL 4827", 2);
    const send = (i: number) => part(t, "254700000001", { esm_class: 0x40, data_coding: 0, short_message: Buffer.concat([udh8(42, 2, i + 1), chunks[i]!]) });
    expect((await send(1)).command_status).toBe(ESME_ROK);
    expect((await send(1)).command_status).toBe(ESME_ROK);
    expect(await moRows("+254700000001")).toHaveLength(0);
    expect((await send(0)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000001"))).toBe("Your balance is KES 5,000.00.");
    // The telco delivers the whole message again (and a part once more): recognised, not run.
    for (const i of [0, 1, 0]) expect((await send(i)).command_status).toBe(ESME_ROK);
    await nothingMore(t);
    expect(await moRows("+254700000001")).toEqual([expect.objectContaining({ command: "balance", handled: true })]);
  });

  it("runs a three-part message (UDH, 16-bit reference) arriving 3, 1, 2 as one SEND, paying once", async () => {
    const t = await bound();
    const chunks = gsmChunks("SEND 0700000001 25 5903", 3);
    const send = (seq: number) => part(t, "254700000002", { esm_class: 0x40, data_coding: 0, short_message: Buffer.concat([udh16(0x1234, 3, seq), chunks[seq - 1]!]) });
    for (const seq of [3, 1]) expect((await send(seq)).command_status).toBe(ESME_ROK);
    expect((await send(1)).command_status).toBe(ESME_ROK);
    expect((await send(2)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000002"))).toMatch(/^Umetuma Ksh 25\.00/);
    expect(textOf(await t.nextDeliverTo("254700000001"))).toMatch(/^Received KES 25\.00 from Otieno/);
    await nothingMore(t);
    const { rows } = await env.test.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM transfers t JOIN customers c ON c.wallet_account_id = t.debit_account_id WHERE c.msisdn = '+254700000002'",
    );
    expect(rows[0]!.n).toBe(1);
  });

  it("runs a message whose parts carry the SAR TLVs instead of a UDH", async () => {
    const t = await bound();
    const texts = ["MINI ", "48", "27"];
    const send = (seq: number) =>
      part(t, "254700000001", { esm_class: 0, data_coding: 0, sar_msg_ref_num: 777, sar_total_segments: 3, sar_segment_seqnum: seq, short_message: gsmChunks(texts[seq - 1]!, 1)[0]! });
    for (const seq of [2, 3, 2, 1]) expect((await send(seq)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000001")).split("\n")[0]).toBe("Last transactions:");
    await nothingMore(t);
  });

  it("reassembles a Hindi message of two UCS-2 parts", async () => {
    const t = await bound();
    const encoded = encodeSms(`बैलेंस${" ".repeat(70)}6194`, { reference: 9 });
    expect(encoded).toMatchObject({ dataCoding: 8, udhi: true });
    expect(encoded.parts).toHaveLength(2);
    for (const i of [1, 0]) expect((await part(t, "254700000005", { esm_class: 0x40, data_coding: 8, short_message: encoded.parts[i]! })).command_status).toBe(ESME_ROK);
    const reply = await t.nextDeliverTo("254700000005");
    expect(reply.data_coding).toBe(8);
    expect(textOf(reply)).toMatch(/^आपकी शेष राशि .*300\.00 है।$/);
    await nothingMore(t);
  });

  it("decodes each part by its own data_coding: a UCS-2 part and a GSM part make one command", async () => {
    const t = await bound();
    const first = Buffer.concat([udh8(17, 2, 1), Buffer.from("बैलेंस ", "utf16le").swap16()]);
    const second = Buffer.concat([udh8(17, 2, 2), gsmChunks("6194", 1)[0]!]);
    expect((await part(t, "254700000005", { esm_class: 0x40, data_coding: 0, short_message: second })).command_status).toBe(ESME_ROK);
    expect((await part(t, "254700000005", { esm_class: 0x40, data_coding: 8, short_message: first })).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000005"))).toMatch(/^आपकी शेष राशि .*300\.00 है।$/);
    await nothingMore(t);
  });

  it("never runs an incomplete message, and a part that comes after the others expired does not complete it", async () => {
    const t = await bound();
    const chunks = gsmChunks("BAL 2958", 2);
    const send = (i: number) => part(t, "254700000007", { esm_class: 0x40, data_coding: 0, short_message: Buffer.concat([udh8(200, 2, i + 1), chunks[i]!]) });
    expect((await send(0)).command_status).toBe(ESME_ROK);
    // Stored sealed: the PIN in it is not in the table in clear.
    const { rows } = await env.test.db.query<{ bodies: string[] }>("SELECT bodies FROM sms_mo_parts WHERE msisdn = '+254700000007'");
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0]!.bodies)).not.toMatch(/BAL|2958/);
    await sleep(PARTS_TTL_SEC * 1000 + 500);
    expect((await send(1)).command_status).toBe(ESME_ROK);
    await nothingMore(t);
    expect((await moRows("+254700000007")).filter((r) => r.command === "balance")).toHaveLength(0);
  });

  it("completes a message across a restart (its first part stored before, its last part after)", async () => {
    let t = await bound();
    const chunks = gsmChunks("BAL 4827", 2);
    const send = (i: number) => part(t, "254700000001", { esm_class: 0x40, data_coding: 0, short_message: Buffer.concat([udh8(99, 2, i + 1), chunks[i]!]) });
    expect((await send(0)).command_status).toBe(ESME_ROK);
    await t.close();
    await env.restart();
    t = await bound();
    expect((await send(1)).command_status).toBe(ESME_ROK);
    expect(textOf(await t.nextDeliverTo("254700000001"))).toMatch(/^Your balance is KES /);
    await nothingMore(t);
  });
});
