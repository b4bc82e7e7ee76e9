/**
 * An HTTP SEND whose recording fails half way, against PostgreSQL with the real SMS gateway: its
 * record by the aggregator's id is written (and leased), its record by content is not (a failure of
 * the database between the two statements, injected by a trigger that fails once). The aggregator
 * is answered 500 and sends the message again: that copy must run.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IncomingSms } from "../../src/sms/commands/handler.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { openSmsEnv, type Customer, type SmsEnv } from "../helpers/sms-env.js";

const PIN = "6142";
const sent: SmsReply[] = [];
const replies: Replies = {
  async send(reply) {
    sent.push(reply);
  },
};
let env: SmsEnv;

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-mo-claim-retry", replies, receiptsViaOutbox: false });
});
afterAll(async () => {
  await env?.close();
});

async function balance(c: Customer): Promise<bigint> {
  const account = (await env.ledger.getAccount(c.walletAccountId))!;
  return account.creditsPosted - account.debitsPosted;
}

/** The next write of a content record (not an aggregator id's) for `msisdn` fails; a sequence, so the count outlives the rollback. */
async function failNextContentRecord(msisdn: string): Promise<void> {
  await env.test.db.query(`CREATE SEQUENCE IF NOT EXISTS mo_fail_once`);
  await env.test.db.query(
    `CREATE OR REPLACE FUNCTION mo_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.msisdn = '${msisdn}' AND NEW.mo_key NOT LIKE 'id:%' AND nextval('mo_fail_once') = 1 THEN
         RAISE EXCEPTION 'injected: the database went away';
       END IF;
       RETURN NEW;
     END $$`,
  );
  await env.test.db.query(`CREATE TRIGGER mo_fail_once BEFORE INSERT ON sms_mo_messages FOR EACH ROW EXECUTE FUNCTION mo_fail_once()`);
}

describe("an HTTP SEND whose recording failed half way", () => {
  it("runs the aggregator's retry of the id when its content record could not be written, so the SEND is paid and answered", async () => {
    const sender = await env.addCustomer("+254712880001", "Zawadi Retry", PIN, "en", 100_000n);
    const receiver = await env.addCustomer("+254712880002", "Baraka Retry", "7392", "en", 1n);
    await failNextContentRecord(sender.msisdn);
    const sms: IncomingSms = {
      linkId: "http-retry-agg", institutionId: env.bankId, moKey: `id:${sender.msisdn}:${randomUUID()}`, msisdn: sender.msisdn, to: null,
      text: `SEND 0712880002 250 ${PIN}`, dedupeWindowSec: 86_400,
    };
    // The id's record is written, the content record's write fails: the aggregator is answered 500.
    await expect(env.sms.commands.receive(sms)).rejects.toThrow(/injected/);
    // It sends the message again at once: this copy runs it.
    await env.sms.commands.handle(sms);
    await env.sms.commands.drain();
    expect(await balance(receiver)).toBe(25_001n);
    expect(await balance(sender)).toBeLessThanOrEqual(75_000n);
    expect(sent.filter((r) => r.msisdn === sender.msisdn).map((r) => r.text)).toEqual([expect.stringMatching(/^Sent /)]);
    // Once answered, a further copy of the id pays nothing.
    await env.sms.commands.handle(sms);
    await env.sms.commands.drain();
    expect(await balance(receiver)).toBe(25_001n);
  });
});
