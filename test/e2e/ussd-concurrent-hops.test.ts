/**
 * Two different hops of one session at the same time, on two gateway instances sharing Redis:
 * Africa's Talking's cumulative texts "…*1" and "…*1*4827" arriving together (a slow answer and
 * the user's next input, or a network re-ordering them). The session lock lets one run at a
 * time, so whichever comes first, exactly one consistent outcome holds, the session can go on,
 * and nothing (a PIN check, a payment) runs twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-concurrent-secret-0123456789abcdef";
const ROUNDS = 6;
const INVALID_MAIN = "CON Invalid choice.\nWelcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";
const CONFIRM = "Send KES 250.00 to PETER O***?\nFee KES 10.00. Total KES 260.00.\n1. Confirm\n2. Cancel";
const RECEIPT = /^END Sent KES 250\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 10\.00\.$/;

let rig: UssdRig;
let payee: Customer;

/** Both instances' writes and unlocks done (they follow the answer). */
async function settled() {
  for (const { gateway } of rig.instances) await gateway.hops.drain();
}

async function record(sessionId: string): Promise<{ consumed: number; closed: boolean; msisdn: string; menu: { flow: string; step: string } }> {
  const raw = await rig.redis.get(`${rig.prefix}at:${sessionId}`);
  expect(raw, sessionId).not.toBeNull();
  return JSON.parse(raw!) as never;
}

async function failedPinAttempts(customerId: string): Promise<number> {
  const r = await rig.test.db.query<{ n: number }>("SELECT failed_attempts AS n FROM pin_credentials WHERE subject_id = $1", [customerId]);
  return r.rows[0]!.n;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "concurrent-bank", secret: SECRET, p2pFee: true });
  payee = await rig.customer("+254766000999", "Peter Otieno", "en", "5831", 0n);
});

afterAll(() => rig?.close());

describe("two different hops of one session at once, on two instances sharing Redis", () => {
  it('"1" and "1*4827" from the main menu: either the PIN prompt then the balance, or two invalid choices; never anything else', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const phone = `+2547660001${String(round).padStart(2, "0")}`;
        const customer = await rig.customer(phone, "Jane Wanjiru", "en", "4827", 50_00n);
        const sessionId = `cc-bal-${round}`;
        expect((await rig.post(round % 2, sessionId, phone, "")).status).toBe(200);
        const [short, long] = await Promise.all([rig.post(0, sessionId, phone, "1"), rig.post(1, sessionId, phone, "1*4827")]);
        expect([short.status, long.status]).toEqual([200, 200]);
        expectOnAir([short.text, long.text]);
        await settled();
        const rec = await record(sessionId);
        expect(rec.msisdn).toBe(phone);
        // Both hops were consumed, whatever their order.
        expect(rec.consumed).toBe(2);
        expect(await rig.redis.exists(`${rig.prefix}lock:at:${sessionId}`)).toBe(0);
        if (short.text === "CON Enter your PIN:") {
          // "1" first: the balance, once; a retry of the last hop gets it again.
          expect(long.text).toBe("END Your balance is KES 50.00.");
          expect(rec.closed).toBe(true);
          expect((await rig.post(0, sessionId, phone, "1*4827")).text).toBe(long.text);
          return "pin-then-balance";
        }
        // "1*4827" first: at the menu it is no choice; "1" then adds nothing new. The PIN was never checked.
        expect([short.text, long.text]).toEqual([INVALID_MAIN, INVALID_MAIN]);
        expect(rec).toMatchObject({ closed: false, menu: { flow: "main", step: "choose" } });
        expect(await failedPinAttempts(customer.id)).toBe(0);
        // The session goes on from there.
        expect((await rig.post(1, sessionId, phone, "1*4827*1")).text).toBe("CON Enter your PIN:");
        expect((await rig.post(0, sessionId, phone, "1*4827*1*4827")).text).toBe("END Your balance is KES 50.00.");
        return "two-invalid";
      }),
    );
    expect(outcomes).toHaveLength(ROUNDS);
  });

  it('"…*1" (confirm) and "…*1*4827" (PIN) of a payment at once: exactly one payment in the end, never two', async () => {
    const payees = await rig.balance(payee.walletAccountId);
    const outcomes = await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const phone = `+2547660002${String(round).padStart(2, "0")}`;
        const payer = await rig.customer(phone, "Rose Chebet", "en", "4827", 1_000_00n);
        const sessionId = `cc-pay-${round}`;
        const replies = await rig.walk(sessionId, phone, ["2", "0766000999", "250"], { alternate: true });
        expect(replies.at(-1)).toBe(`CON ${CONFIRM}`);
        const base = "2*0766000999*250";
        // The PIN hop twice (the aggregator's retry) beside the confirmation, on both instances.
        const [short, long, again] = await Promise.all([
          rig.post(round % 2, sessionId, phone, `${base}*1`),
          rig.post((round + 1) % 2, sessionId, phone, `${base}*1*4827`),
          rig.post(round % 2, sessionId, phone, `${base}*1*4827`),
        ]);
        for (const r of [short, long, again]) expect(r.status).toBe(200);
        expectOnAir([short.text, long.text, again.text]);
        await settled();
        const rec = await record(sessionId);
        expect(rec.consumed).toBe(5);
        expect(await rig.redis.exists(`${rig.prefix}lock:at:${sessionId}`)).toBe(0);
        let outcome: string;
        if (short.text === "CON Enter your PIN to confirm:") {
          // The confirmation first: the PIN hop pays, its retry gets the same receipt.
          expect(long.text).toMatch(RECEIPT);
          expect(again.text).toBe(long.text);
          expect(rec.closed).toBe(true);
          outcome = "paid";
        } else {
          // The PIN hop first: "1*4827" is no answer to the confirmation, which is asked again;
          // nothing was paid, and the session goes on to pay once.
          expect(long.text).toBe(`CON Invalid choice.\n${CONFIRM}`);
          expect([short.text, again.text].every((t) => t === long.text)).toBe(true);
          expect(rec).toMatchObject({ closed: false, menu: { flow: "send", step: "confirm" } });
          expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n);
          expect((await rig.post(0, sessionId, phone, `${base}*1*4827*1`)).text).toBe("CON Enter your PIN to confirm:");
          expect((await rig.post(1, sessionId, phone, `${base}*1*4827*1*4827`)).text).toMatch(RECEIPT);
          outcome = "re-asked";
        }
        // Exactly one payment (and its fee) left the payer, whatever happened.
        expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
        const sent = await rig.ledger.listAccountTransfers(payer.walletAccountId, { limit: 20 });
        expect(sent.filter((t) => t.debitAccountId === payer.walletAccountId && t.amountMinor === 250_00n)).toHaveLength(1);
        expect(await failedPinAttempts(payer.id)).toBe(0);
        return outcome;
      }),
    );
    expect(outcomes).toHaveLength(ROUNDS);
    expect(await rig.balance(payee.walletAccountId)).toBe(payees + BigInt(ROUNDS) * 250_00n);
    // One receipt pair per payment in the outbox, not one per hop that ran.
    const receipts = await rig.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_messages WHERE template LIKE 'receipt.p2p_%'");
    expect(receipts.rows[0]!.n).toBe(ROUNDS * 2);
  });

  it("an earlier hop arriving after a later one, on the other instance, changes nothing and moves no money", async () => {
    const phone = "+254766000300";
    const payer = await rig.customer(phone, "Mary Akinyi", "en", "4827", 1_000_00n);
    const sessionId = "cc-late-1";
    const replies = await rig.walk(sessionId, phone, ["2", "0766000999", "250", "1", "4827"], { alternate: true });
    expect(replies.at(-1)).toMatch(RECEIPT);
    // The confirmation hop, delayed in the network, arrives last at the other instance.
    const late = await rig.post(1, sessionId, phone, "2*0766000999*250*1");
    expect(late.text).toBe("END This session has ended. Please dial again.");
    await settled();
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
    // The PIN hop's retry still gets its receipt, on either instance.
    expect((await rig.post(0, sessionId, phone, "2*0766000999*250*1*4827")).text).toBe(replies.at(-1));
    expect((await rig.post(1, sessionId, phone, "2*0766000999*250*1*4827")).text).toBe(replies.at(-1));
  });
});
