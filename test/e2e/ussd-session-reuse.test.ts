/**
 * Networks hand session ids out again (USSD over SMPP numbers sessions 0–255). A payment in a
 * later session under a reused id is a new payment: it posts, and does not come back as the
 * earlier one's replay with no money moved.
 */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openUssdEnv, SYSTEM, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "e2e-reuse-secret-0123456789abcdef";
let env: UssdEnv;
let payer: { walletAccountId: string };
let payee: { walletAccountId: string };

const hop = (sessionId: string, text: string, phoneNumber = "+254712500001") =>
  request(env.app)
    .post("/ussd/at")
    .set("x-fingate-secret", SECRET)
    .type("form")
    .send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: "63902", text });

async function balance(accountId: string): Promise<bigint> {
  const [a] = await env.ledger.getAccounts([accountId]);
  return a!.creditsPosted - a!.debitsPosted - a!.debitsPending;
}

beforeAll(async () => {
  env = await openUssdEnv({ code: `reuse-${process.pid}`, secret: SECRET });
  const register = async (msisdn: string, name: string, pin: string) => {
    const made = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn, displayName: name, language: "en" });
    if (!made.ok) throw new Error(made.code);
    const set = await env.services.pins.setPin({ actor: { type: "customer", id: made.value.id }, channel: "ussd", subjectId: made.value.id, msisdn, pin });
    if (!set.ok) throw new Error(set.code);
    return made.value;
  };
  payer = await register("+254712500001", "Jane Wanjiru", "4827");
  payee = await register("+254712500002", "Otieno Kamau", "5903");
  const treasury = await env.ledger.createAccount({ institutionId: env.bankId, currency: "KES", kind: "bank" });
  const funded = await env.ledger.transfer({ id: randomUUID(), debitAccountId: treasury.id, creditAccountId: payer.walletAccountId, amountMinor: 2_000_00n, code: "cash_in" });
  expect(funded.result).toBe("ok");
});

afterAll(async () => {
  await env?.close();
});

describe("a session id used again by the network", () => {
  it("carries a new payment that posts", async () => {
    const before = { payer: await balance(payer.walletAccountId), payee: await balance(payee.walletAccountId) };
    for (const round of [1, 2]) {
      // One answer per hop, as the aggregator sends them: the text holds all answers so far.
      for (const text of ["", "2", "2*0712500002", "2*0712500002*100"]) expect((await hop("reused-7", text)).text).toMatch(/^CON /);
      expect((await hop("reused-7", "2*0712500002*100*1")).text).toBe("CON Enter your PIN to confirm:");
      expect((await hop("reused-7", "2*0712500002*100*1*4827")).text, `round ${round}`).toMatch(/^END Sent KES 100\.00 to OTIENO K\*+\. Ref /);
      // The network is done with the id and hands it out again.
      await env.gateway.hops.endSession("at", "reused-7");
    }
    expect(await balance(payee.walletAccountId)).toBe(before.payee + 200_00n);
    expect(await balance(payer.walletAccountId)).toBeLessThanOrEqual(before.payer - 200_00n);
  });

  it("shows another number nothing of a session, not even the answer to a retried hop", async () => {
    for (const text of ["", "1"]) expect((await hop("peek-1", text)).text).toMatch(/^CON /);
    const peek = await hop("peek-1", "1", "+254712500002");
    expect(peek.text).toMatch(/^END /);
    expect(peek.text).not.toContain("PIN");
    // The owner's retry of the same hop still gets its answer.
    expect((await hop("peek-1", "1")).text).toMatch(/^CON .*PIN/);
  });
});
