/**
 * A command acknowledged to the telco and never answered, because the process died between the
 * acknowledgement and the run (or the run failed): the telco will not send it again, so the
 * gateway keeps the message (sealed: its text holds a PIN) until it is answered, and a sweep runs
 * it under the first run's own claim. Against PostgreSQL, with the real SMS gateway restarted in
 * between as a crashed process's successor would be. A dead run's 60-second lease is lapsed by
 * moving it back; nothing else is simulated.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { containsPin, openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "5831";
const sent: SmsReply[] = [];
let failReplies = false;
const replies: Replies = {
  async send(reply) {
    if (failReplies) throw new Error("outbox unavailable");
    sent.push(reply);
  },
};
let env: SmsEnv;
let payer: Customer;
let payee: Customer;

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-mo-pending", replies, receiptsViaOutbox: false });
  payer = await env.addCustomer("+254712810001", "Neema Pending", PIN, "en", 100_000n);
  payee = await env.addCustomer("+254712810002", "Baraka Pending", "7392", "en", 1n);
});
afterAll(async () => {
  await env?.close();
});

/** An SMPP MO as the listener hands it over (keyed by content). */
const mo = (text: string): IncomingSms => ({ linkId: "smsc-pending", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: payer.msisdn, to: "22555", text, byContent: true });

/** Posted credits less posted debits. */
async function balance(c: Customer): Promise<bigint> {
  const account = (await env.ledger.getAccount(c.walletAccountId))!;
  return account.creditsPosted - account.debitsPosted;
}

/** The dead run's lease lapses (60 s in production). */
const leaseLapses = (id: string) => env.test.db.query("UPDATE sms_mo_messages SET running_until = CURRENT_TIMESTAMP - interval '1 second' WHERE id = $1", [id]);

async function sweep(): Promise<number> {
  const ran = await env.sms.pending!.sweep();
  await env.sms.commands.drain();
  return ran;
}

const repliesTo = (c: Customer) => sent.filter((r) => r.msisdn === c.msisdn).map((r) => r.text);

describe("SMS commands acknowledged and left unanswered", () => {
  it("runs a SEND whose process died after acknowledging it, once, after a restart, and keeps its PIN sealed meanwhile", async () => {
    const sms = mo(`SEND 0712810002 250 ${PIN}`);
    const claim = await env.sms.commands.receive(sms); // what the listener awaits before deliver_sm_resp
    expect(claim).not.toBeNull();
    const { rows } = await env.test.db.query<{ pending_sms: string | null }>("SELECT pending_sms FROM sms_mo_messages WHERE id = $1", [claim!.id]);
    expect(rows[0]!.pending_sms).not.toBeNull();
    expect(containsPin(rows[0]!.pending_sms!, PIN)).toBe(false);
    // The process dies here; its successor starts.
    await env.restart();
    expect(await sweep()).toBe(0); // the dead run's lease still holds
    await leaseLapses(claim!.id);
    expect(await sweep()).toBe(1);
    expect(repliesTo(payer)).toEqual([expect.stringMatching(/^Sent KES 250\.00 to /)]);
    expect(await balance(payee)).toBe(25_001n);
    // Answered: nothing waits any more, and no later sweep runs it again.
    const after = await env.test.db.query<{ pending_sms: string | null; handled: boolean }>("SELECT pending_sms, handled_at IS NOT NULL AS handled FROM sms_mo_messages WHERE id = $1", [claim!.id]);
    expect(after.rows[0]).toEqual({ pending_sms: null, handled: true });
    await leaseLapses(claim!.id);
    expect(await sweep()).toBe(0);
    expect(repliesTo(payer)).toHaveLength(1);
    expect(await balance(payee)).toBe(25_001n);
  });

  it("answers a SEND whose payment went through but whose reply failed, without paying again", async () => {
    const before = await balance(payer);
    failReplies = true;
    await env.sms.commands.handle(mo(`SEND 0712810002 100 ${PIN}`));
    failReplies = false;
    expect(env.logs.some((l) => l.includes("sms command failed"))).toBe(true);
    const paid = before - (await balance(payer));
    expect(paid).toBeGreaterThanOrEqual(10_000n);
    const count = repliesTo(payer).length;
    // The failed run released its lease: the next sweep answers it, under the same payment id.
    expect(await sweep()).toBe(1);
    expect(repliesTo(payer).slice(count)).toEqual([expect.stringMatching(/^Sent KES 100\.00 to /)]);
    expect(before - (await balance(payer))).toBe(paid);
  });

  it("drops a message left unanswered for longer than the SEND window instead of running it late", async () => {
    const before = await balance(payer);
    const claim = await env.sms.commands.receive(mo(`SEND 0712810002 300 ${PIN}`));
    await env.test.db.query("UPDATE sms_mo_messages SET received_at = received_at - interval '301 seconds', last_seen_at = last_seen_at - interval '301 seconds' WHERE id = $1", [claim!.id]);
    await leaseLapses(claim!.id);
    const count = sent.length;
    expect(await sweep()).toBe(0);
    expect(sent.length).toBe(count);
    expect(await balance(payer)).toBe(before);
    const { rows } = await env.test.db.query<{ pending_sms: string | null }>("SELECT pending_sms FROM sms_mo_messages WHERE id = $1", [claim!.id]);
    expect(rows[0]!.pending_sms).toBeNull();
    expect(env.logs.some((l) => l.includes("not answered in time: dropped") && l.includes(claim!.id))).toBe(true);
    expect(env.logs.some((l) => containsPin(l, PIN))).toBe(false);
  });

  it("runs a repeat of a paid SEND that came within the SEND window as the replay it was, even once the window has passed since the payment", async () => {
    // A repeat is a new attempt of the first copy's record: its received_at is the first copy's.
    // It was dropped unrun when the first copy came longer ago than the window (no answer), and,
    // measured as of the sweep rather than the repeat, it paid again under its own attempt's id.
    const repeater = await env.addCustomer("+254712840001", "Amani Repeat", PIN, "en", 100_000n);
    const receiver = await env.addCustomer("+254712840002", "Zawadi Repeat", "7392", "en", 1n);
    const sms: IncomingSms = { linkId: "smsc-pending", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: repeater.msisdn, to: "22555", text: `SEND 0712840002 200 ${PIN}`, byContent: true };
    await env.sms.commands.handle(sms);
    expect(repliesTo(repeater)).toEqual([expect.stringMatching(/^Sent KES 200\.00 to /)]);
    expect(await balance(receiver)).toBe(20_001n);
    const afterPay = await balance(repeater);
    const passes = (sec: number, id: string) =>
      env.test.db.query(
        `UPDATE sms_mo_messages SET received_at = received_at - make_interval(secs => $2), last_seen_at = last_seen_at - make_interval(secs => $2),
           paid_at = paid_at - make_interval(secs => $2), running_until = running_until - make_interval(secs => $2) WHERE id = $1`,
        [id, sec],
      );
    const { rows } = await env.test.db.query<{ id: string }>("SELECT id FROM sms_mo_messages WHERE link_id = $1 AND mo_key = $2", [sms.linkId, sms.moKey]);
    await passes(250, rows[0]!.id);
    // The customer sends it again 250 s after paying: within the SEND window, a replay. The process dies after acknowledging it.
    const claim = await env.sms.commands.receive(sms);
    expect(claim).toMatchObject({ id: rows[0]!.id, attempt: 1, paid: { attempt: 0 } });
    await env.restart();
    // 80 s later (the dead run's lease lapsed): 330 s after the payment and the first copy, 80 s after the repeat.
    await passes(80, claim!.id);
    expect(await sweep()).toBe(1);
    expect(repliesTo(repeater)).toEqual([expect.stringMatching(/^Sent KES 200\.00 to /), expect.stringMatching(/^You already sent KES 200\.00 to /)]);
    expect(await balance(receiver)).toBe(20_001n);
    expect(await balance(repeater)).toBe(afterPay);
  });

  it("marks an HTTP SEND's aggregator-id record answered when the sweep runs it, so a late re-delivery of that id pays nothing", async () => {
    // An HTTP SEND has two records: by the aggregator's id (a re-delivery of the id, for a day) and
    // by content (the one it runs under, with the sealed text). The run answers both; the sweep ran
    // the content record alone and left the id's record unanswered, so a re-delivery of the id
    // after the SEND window (the aggregator never got our 200) found it free, the content record
    // stale, and ran the SEND as a new payment.
    const sender = await env.addCustomer("+254712840003", "Imani Http", PIN, "en", 100_000n);
    const receiver = await env.addCustomer("+254712840004", "Jabari Http", "7392", "en", 1n);
    const sms: IncomingSms = {
      linkId: "http-pending-agg", institutionId: env.bankId, moKey: `id:${sender.msisdn}:${randomUUID()}`, msisdn: sender.msisdn, to: null,
      text: `SEND 0712840004 300 ${PIN}`, dedupeWindowSec: 86_400,
    };
    const claim = await env.sms.commands.receive(sms);
    expect(claim?.alsoHandles).toBeDefined();
    // The process dies after the 200; its successor's sweep runs the SEND once the leases lapse.
    await env.restart();
    await env.test.db.query("UPDATE sms_mo_messages SET running_until = CURRENT_TIMESTAMP - interval '1 second' WHERE link_id = $1", [sms.linkId]);
    expect(await sweep()).toBe(1);
    expect(repliesTo(sender)).toEqual([expect.stringMatching(/^Sent KES 300\.00 to /)]);
    expect(await balance(receiver)).toBe(30_001n);
    const afterPay = await balance(sender);
    // Ten minutes on (past the SEND window), the aggregator sends the id again.
    await env.test.db.query(
      `UPDATE sms_mo_messages SET received_at = received_at - interval '600 seconds', last_seen_at = last_seen_at - interval '600 seconds',
         paid_at = paid_at - interval '600 seconds', handled_at = handled_at - interval '600 seconds' WHERE link_id = $1`,
      [sms.linkId],
    );
    await env.sms.commands.handle(sms);
    expect(await balance(receiver)).toBe(30_001n);
    expect(await balance(sender)).toBe(afterPay);
    expect(repliesTo(sender)).toHaveLength(1);
  });
});
