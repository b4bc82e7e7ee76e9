/**
 * What a run of an SMS command leaves on its record when it cannot finish, against PostgreSQL with
 * the real SMS gateway: a SEND that paid records it before its reply (so a copy that comes after
 * the sweep gave up on answering it replays the payment instead of paying again), and a run that
 * fails gives back only the lease it still holds (not one the sweep took from it meanwhile). A
 * replies port that throws, or waits for the test, stands for the outbox; time passes by moving the
 * record's timestamps back.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "6142";
const sent: SmsReply[] = [];
/** Replaces the outbox for one test: throws, or waits. */
let hook: ((reply: SmsReply) => Promise<void>) | null = null;
const replies: Replies = {
  async send(reply) {
    if (hook) return hook(reply);
    sent.push(reply);
  },
};
/** Lets go whatever a failed test left waiting. */
const gates: (() => void)[] = [];
let env: SmsEnv;

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-mo-run-owner", replies, receiptsViaOutbox: false });
});
afterEach(async () => {
  hook = null;
  for (const open of gates.splice(0)) open();
  await env.sms.commands.drain();
});
afterAll(async () => {
  await env?.close();
});

async function balance(c: Customer): Promise<bigint> {
  const account = (await env.ledger.getAccount(c.walletAccountId))!;
  return account.creditsPosted - account.debitsPosted;
}

async function sweep(): Promise<number> {
  const ran = await env.sms.pending!.sweep();
  await env.sms.commands.drain();
  return ran;
}

/** `sec` seconds pass for every record of the link. */
const passes = (linkId: string, sec: number) =>
  env.test.db.query(
    `UPDATE sms_mo_messages SET received_at = received_at - make_interval(secs => $2), last_seen_at = last_seen_at - make_interval(secs => $2),
       paid_at = paid_at - make_interval(secs => $2), handled_at = handled_at - make_interval(secs => $2),
       running_until = running_until - make_interval(secs => $2) WHERE link_id = $1`,
    [linkId, sec],
  );

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  gates.push(resolve);
  return { promise, resolve };
}

describe("an SMS SEND run that cannot finish", () => {
  it("keeps an HTTP SEND that paid and was never answered from paying again when its aggregator id comes back after the sweep gave up on it", async () => {
    const sender = await env.addCustomer("+254712860001", "Halima Owner", PIN, "en", 100_000n);
    const receiver = await env.addCustomer("+254712860002", "Tumaini Owner", "7392", "en", 1n);
    const sms: IncomingSms = {
      linkId: "http-owner-agg", institutionId: env.bankId, moKey: `id:${sender.msisdn}:${randomUUID()}`, msisdn: sender.msisdn, to: null,
      text: `SEND 0712860002 400 ${PIN}`, dedupeWindowSec: 86_400,
    };
    hook = async () => {
      throw new Error("outbox unavailable");
    };
    // The payment goes through; the reply fails, on the first run and on the sweep's.
    await env.sms.commands.handle(sms);
    expect(await balance(receiver)).toBe(40_001n);
    const afterPay = await balance(sender);
    expect(await sweep()).toBe(1);
    // The paying attempt is on record before any answer.
    const { rows } = await env.test.db.query<{ paid_attempt: number | null; handled: boolean }>(
      "SELECT paid_attempt, handled_at IS NOT NULL AS handled FROM sms_mo_messages WHERE link_id = $1 AND pending_sms IS NOT NULL",
      [sms.linkId],
    );
    expect(rows).toEqual([{ paid_attempt: 0, handled: false }]);
    // The SEND window passes with every run failing: the sweep drops the message.
    await passes(sms.linkId, 301);
    expect(await sweep()).toBe(0);
    expect(env.logs.some((l) => l.includes("not answered in time: dropped"))).toBe(true);
    hook = null;
    // Ten minutes on, the aggregator (which never saw our 200) sends the id again: nothing is paid.
    await passes(sms.linkId, 300);
    await env.sms.commands.handle(sms);
    await env.sms.commands.drain();
    expect(await balance(receiver)).toBe(40_001n);
    expect(await balance(sender)).toBe(afterPay);
  });

  it("gives back only its own lease when it fails after running longer than the lease, so a re-delivery is not run beside the sweep's run that took it over", async () => {
    const sender = await env.addCustomer("+254712860003", "Rehema Owner", PIN, "en", 100_000n);
    const receiver = await env.addCustomer("+254712860004", "Jelani Owner", "7392", "en", 1n);
    const sms: IncomingSms = { linkId: "smsc-owner", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: sender.msisdn, to: "22555", text: `SEND 0712860004 150 ${PIN}`, byContent: true };
    const firstReached = deferred();
    const firstGoes = deferred();
    const secondReached = deferred();
    const secondGoes = deferred();
    let calls = 0;
    hook = async (reply) => {
      calls++;
      if (calls === 1) {
        // The first run is slow (past its 60-second lease), then fails.
        firstReached.resolve();
        await firstGoes.promise;
        throw new Error("outbox unavailable");
      }
      secondReached.resolve();
      await secondGoes.promise;
      sent.push(reply);
    };
    const first = env.sms.commands.handle(sms);
    await firstReached.promise;
    // Its lease lapses while it runs; the sweep takes the message over and runs it (its reply waits).
    await env.test.db.query("UPDATE sms_mo_messages SET running_until = CURRENT_TIMESTAMP - interval '1 second' WHERE link_id = $1", [sms.linkId]);
    const sweeping = env.sms.pending!.sweep();
    await secondReached.promise;
    // The first run now fails: it must not clear the lease the sweep's run holds.
    firstGoes.resolve();
    await first;
    expect(env.logs.some((l) => l.includes("sms command failed"))).toBe(true);
    const held = await env.test.db.query<{ held: boolean }>("SELECT running_until > CURRENT_TIMESTAMP AS held FROM sms_mo_messages WHERE link_id = $1", [sms.linkId]);
    expect(held.rows).toEqual([{ held: true }]);
    // A re-delivery meanwhile is left to the run in flight (it would check the PIN a third time and answer twice).
    expect(await env.sms.commands.receive(sms)).toBeNull();
    secondGoes.resolve();
    expect(await sweeping).toBe(1);
    await env.sms.commands.drain();
    expect(calls).toBe(2);
    expect(sent.filter((r) => r.msisdn === sender.msisdn).map((r) => r.text)).toEqual([expect.stringMatching(/^Sent KES 150\.00 to /)]);
    expect(await balance(receiver)).toBe(15_001n);
  });
});
