/**
 * A run of an SMS command that takes longer than its lease, against PostgreSQL with the real SMS
 * gateway and the real payments: while the run is alive its lease is renewed, so neither the
 * pending sweep nor a copy of the message starts a second run beside it (the PIN checked twice,
 * two answers); a run alive past the longest a run may take lets go, and the sweep takes it over.
 * The lease is shortened to two seconds; the payments are the real ones, only slowed down.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "4729";
const LEASE_SEC = 2;
const MAX_RUN_SEC = 6;
const sent: SmsReply[] = [];
const replies: Replies = {
  async send(reply) {
    sent.push(reply);
  },
};
/** Each call of the payments, before it goes on to the real one. */
let beforePay: (() => Promise<void>) | null = null;
let payCalls = 0;
let env: SmsEnv;

beforeAll(async () => {
  env = await openSmsEnv({
    code: "sms-mo-lease-renewal",
    replies,
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

const repliesTo = (c: Customer) => sent.filter((r) => r.msisdn === c.msisdn).map((r) => r.text);

const smpp = (c: Customer, text: string): IncomingSms => ({ linkId: "smsc-renewal", institutionId: env.bankId, moKey: `k-${randomUUID()}`, msisdn: c.msisdn, to: "22555", text, byContent: true });

describe("an SMS command run longer than its lease", () => {
  it("keeps its lease while it runs: neither the sweep nor a copy runs the message a second time beside it", async () => {
    const payer = await env.addCustomer("+254712970001", "Wanjiru Renewal", PIN, "en", 100_000n);
    const payee = await env.addCustomer("+254712970002", "Otieno Renewal", "7392", "en", 1n);
    // The payment waits 2.5 leases (a database that is slow to answer), then runs as it would.
    beforePay = () => sleep(5_000);
    const sms = smpp(payer, `SEND 0712970002 120 ${PIN}`);
    payCalls = 0;
    const first = env.sms.commands.handle(sms);
    await sleep(2_500); // past the first lease
    expect(await env.sms.pending!.sweep()).toBe(0);
    await sleep(2_000);
    // The network's copy is left to the run in flight.
    expect(await env.sms.commands.receive(sms)).toBeNull();
    expect(await env.sms.pending!.sweep()).toBe(0);
    await first;
    await env.sms.commands.drain();
    expect(payCalls).toBe(1);
    expect(repliesTo(payer)).toEqual([expect.stringMatching(/^Sent KES 120\.00 to /)]);
    expect(await balance(payee)).toBe(12_001n);
  });

  it("stops renewing once the run has gone on for the longest a run may take, so the sweep takes a stuck run over", async () => {
    const payer = await env.addCustomer("+254712970003", "Akinyi Stuck", PIN, "en", 100_000n);
    const payee = await env.addCustomer("+254712970004", "Mwangi Stuck", "7392", "en", 1n);
    // The first run's payment is stuck until the test lets it go; the sweep's run is not held.
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    beforePay = () => (payCalls === 1 ? stuck : Promise.resolve());
    const sms = smpp(payer, `SEND 0712970004 130 ${PIN}`);
    payCalls = 0;
    const started = Date.now();
    const first = env.sms.commands.handle(sms);
    let tookOver = 0;
    while (tookOver === 0 && Date.now() - started < (MAX_RUN_SEC + 3 * LEASE_SEC) * 1_000) {
      await sleep(200);
      tookOver = await env.sms.pending!.sweep();
    }
    const tookOverAfterMs = Date.now() - started;
    release();
    await first;
    await env.sms.commands.drain();
    expect(tookOver).toBe(1);
    // Held for the longest run, then let go within a lease of it.
    expect(tookOverAfterMs).toBeGreaterThanOrEqual(MAX_RUN_SEC * 1_000);
    expect(tookOverAfterMs).toBeLessThan((MAX_RUN_SEC + 2 * LEASE_SEC) * 1_000);
    expect(env.logs.some((l) => l.includes("no longer renewed"))).toBe(true);
    // Two runs, one payment (the same payment id).
    expect(payCalls).toBe(2);
    expect(await balance(payee)).toBe(13_001n);
  });
});
