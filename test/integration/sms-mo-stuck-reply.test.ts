/**
 * A run of an SMS command stuck past the longest a run may take (MO_RUN_MAX_SEC) lets its lease
 * lapse, and the pending sweep runs the message again beside it: same message id, same attempt.
 * When the stuck run wakes at last and writes its reply, the customer must not get a second
 * answer. It does not: a reply's outbox id derives from the message's id and attempt
 * (replyOutboxId), and the outbox insert does nothing for an id already there (insertOutboxReply,
 * ON CONFLICT DO NOTHING), so the late reply is the same row as the sweep's. This pins that, with
 * the gateway's own OutboxReplies, real PostgreSQL and the real payments (only held up). (Such a
 * run, superseded, now writes no reply at all: SmsCommands.superseded.)
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import { OutboxReplies, replyOutboxId } from "../../src/sms/commands/outbox-replies.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "4729";
const LEASE_SEC = 2;
const MAX_RUN_SEC = 4;
/** Each call of the payments, before it goes on to the real one. */
let beforePay: (() => Promise<void>) | null = null;
/** Lets a held payment go (also when a test fails, so that drain ends). */
let releaseHeld: () => void = () => undefined;
let payCalls = 0;
let env: SmsEnv;

beforeAll(async () => {
  env = await openSmsEnv({
    code: "sms-mo-stuck-reply",
    // The SEND answers with a reply of its own (not the receipt): both runs write one.
    receiptsViaOutbox: false,
    moLease: { leaseSec: LEASE_SEC, maxRunSec: MAX_RUN_SEC },
    payments: (real) => ({
      async sendP2P(input) {
        payCalls++;
        await beforePay?.();
        return real.sendP2P(input);
      },
    }),
  });
});
afterEach(async () => {
  beforePay = null;
  releaseHeld();
  await env.sms.commands.drain();
});
afterAll(async () => {
  await env?.close();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function balance(c: Customer): Promise<bigint> {
  const account = (await env.ledger.getAccount(c.walletAccountId))!;
  return account.creditsPosted - account.debitsPosted;
}

/** The command replies written to the number (not the payment's receipts, which the ledger writes). */
async function repliesTo(c: Customer): Promise<{ id: string; text: string; in_reply_to: string }[]> {
  const { rows } = await env.test.db.query<{ id: string; text: string; in_reply_to: string }>(
    "SELECT id, params->>'text' AS text, in_reply_to FROM outbox_messages WHERE msisdn = $1 AND in_reply_to IS NOT NULL ORDER BY seq",
    [c.msisdn],
  );
  return rows;
}

/** Over HTTP (no link of its own), by content as SMPP is: the sweep runs it from its sealed copy. */
const sms = (c: Customer, text: string): IncomingSms => ({ linkId: "http-stuck", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: c.msisdn, to: "22555", text, byContent: true });

it("a stuck run that wakes after the sweep answered its message writes no second reply", async () => {
  const payer = await env.addCustomer("+254713112001", "Wanjiru Stuck", PIN, "en", 100_000n);
  const payee = await env.addCustomer("+254713112002", "Otieno Stuck", "7392", "en", 1n);
  const stuck = new Promise<void>((resolve) => (releaseHeld = resolve));
  // The first run's payment is held until the sweep's run has answered; the sweep's is not.
  beforePay = () => (payCalls === 1 ? stuck : Promise.resolve());
  payCalls = 0;
  const first = env.sms.commands.handle(sms(payer, `SEND 0713112002 130 ${PIN}`));
  const started = Date.now();
  let tookOver = 0;
  while (tookOver === 0 && Date.now() - started < (MAX_RUN_SEC + 3 * LEASE_SEC) * 1_000) {
    await sleep(200);
    tookOver = await env.sms.pending!.sweep();
  }
  expect(tookOver).toBe(1);
  await env.sms.pending!.stop();
  const answered = await repliesTo(payer);
  expect(answered).toEqual([expect.objectContaining({ text: expect.stringMatching(/^Sent KES 130\.00 to /) })]);
  const { rows } = await env.test.db.query<{ id: string; attempt: number; handled: boolean }>(
    "SELECT id, attempt, handled_at IS NOT NULL AS handled FROM sms_mo_messages WHERE msisdn = $1",
    [payer.msisdn],
  );
  expect(rows).toEqual([{ id: answered[0]!.in_reply_to, attempt: 0, handled: true }]);
  expect(answered[0]!.id).toBe(replyOutboxId(rows[0]!.id, 0));
  // The stuck run wakes: its payment is the same id (nothing more moves), and its reply the same row.
  releaseHeld();
  await first;
  await env.sms.commands.drain();
  expect(payCalls).toBe(2);
  expect(await balance(payee)).toBe(13_001n);
  expect(await repliesTo(payer)).toEqual(answered);
  expect(env.logs.some((l) => l.includes("no longer renewed"))).toBe(true);
  // The stuck run now finds itself superseded and writes nothing (sms-mo-stuck-answer.test.ts);
  // one that read its lease as its own just before the sweep took it writes a reply of the same
  // id, and the outbox keeps the first.
  await new OutboxReplies(env.test.db).send({ msisdn: payer.msisdn, text: "A late answer.", linkId: null, from: "22555", institutionId: env.bankId, inReplyTo: rows[0]!.id, attempt: 0 });
  expect(await repliesTo(payer)).toEqual(answered);
});
