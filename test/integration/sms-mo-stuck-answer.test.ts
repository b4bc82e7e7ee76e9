/**
 * A run of an SMS command stuck past the longest a run may take (MO_RUN_MAX_SEC) lets its lease
 * lapse, and the pending sweep runs the message again beside it (same id and attempt). When both
 * write a reply it is one outbox row (sms-mo-stuck-reply.test.ts). But the sweep's run may have
 * been answered by the payer's receipt (no reply row: receiptsViaOutbox, as in src/main.ts) while
 * the stuck run, waking, decides otherwise: its payment call threw ("We could not confirm the
 * payment"). Its reply then went as a second, contradicting answer after the receipt. A run that
 * outlived its lease and finds its message answered, or run by another, now sends nothing.
 * Real PostgreSQL and the real payments (the stuck call held, then failing as a timeout would).
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "4729";
const LEASE_SEC = 2;
const MAX_RUN_SEC = 4;
/** Each call of the payments, before it goes on to the real one. */
let beforePay: (() => Promise<void>) | null = null;
/** Lets a held payment go (also when a test fails, so that drain ends). */
let releaseHeld: () => void = () => undefined;
let payCalls = 0;
let failFirst = false;
let env: SmsEnv;

beforeAll(async () => {
  env = await openSmsEnv({
    code: "sms-mo-stuck-answer",
    // The payer's receipt answers a SEND that paid, as in production.
    receiptsViaOutbox: true,
    moLease: { leaseSec: LEASE_SEC, maxRunSec: MAX_RUN_SEC },
    payments: (real) => ({
      async sendP2P(input) {
        payCalls++;
        const call = payCalls;
        await beforePay?.();
        // The stuck call, once let go, fails as a ledger call that timed out would.
        if (call === 1 && failFirst) throw new Error("ledger timed out");
        return real.sendP2P(input);
      },
    }),
  });
});
afterEach(async () => {
  beforePay = null;
  failFirst = false;
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
const sms = (c: Customer, text: string): IncomingSms => ({ linkId: "http-stuck-answer", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: c.msisdn, to: "22555", text, byContent: true });

it("a stuck run that wakes after the sweep's run was answered by the receipt sends no reply of its own", async () => {
  const payer = await env.addCustomer("+254713113001", "Wanjiru Woken", PIN, "en", 100_000n);
  const payee = await env.addCustomer("+254713113002", "Otieno Woken", "7392", "en", 1n);
  const stuck = new Promise<void>((resolve) => (releaseHeld = resolve));
  beforePay = () => (payCalls === 1 ? stuck : Promise.resolve());
  failFirst = true;
  payCalls = 0;
  const first = env.sms.commands.handle(sms(payer, `SEND 0713113002 140 ${PIN}`));
  const started = Date.now();
  let tookOver = 0;
  while (tookOver === 0 && Date.now() - started < (MAX_RUN_SEC + 3 * LEASE_SEC) * 1_000) {
    await sleep(200);
    tookOver = await env.sms.pending!.sweep();
  }
  expect(tookOver).toBe(1);
  await env.sms.pending!.stop();
  // The sweep's run paid; the receipt answers it, no reply row.
  expect(await balance(payee)).toBe(14_001n);
  expect(await repliesTo(payer)).toEqual([]);
  releaseHeld();
  await first;
  await env.sms.commands.drain();
  expect(payCalls).toBe(2);
  // The stuck run's "could not confirm" is not sent after the receipt.
  expect(await repliesTo(payer)).toEqual([]);
  expect(await balance(payee)).toBe(14_001n);
  const { rows } = await env.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_messages WHERE msisdn = $1 AND kind = 'receipt'", [payer.msisdn]);
  expect(rows[0]!.n).toBe(1);
});
