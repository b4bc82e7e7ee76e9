/**
 * What the SMS repeat tests ask of a customer's messages, bound to a test file's environment and
 * telco (read when called, so a file may set them in beforeAll): the payments they made, the
 * messages written to them, an MO sent over SMPP and run, and a wait for a condition.
 */
import { expect } from "vitest";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import type { Customer, SmsEnv } from "./sms-env.js";
import type { TestTelco } from "./smpp-telco.js";

export function smsRepeatKit(env: () => SmsEnv, telco: () => TestTelco) {
  return {
    /** The customer's P2P payments posted. */
    async transfersFrom(c: Customer): Promise<number> {
      const { rows } = await env().test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE debit_account_id = $1 AND code = 'p2p'", [c.walletAccountId]);
      return rows[0]!.n;
    },
    /** Every message written to the number (command replies and payment receipts). */
    async outboxTo(c: Customer): Promise<number> {
      const { rows } = await env().test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_messages WHERE msisdn = $1", [c.msisdn]);
      return rows[0]!.n;
    },
    /** The states of the messages written to the number, oldest first. */
    async statesTo(c: Customer): Promise<string[]> {
      const { rows } = await env().test.db.query<{ state: string }>("SELECT state FROM outbox_messages WHERE msisdn = $1 ORDER BY seq", [c.msisdn]);
      return rows.map((r) => r.state);
    },
    /** `seconds` pass for the number's messages (their receipt, last run and payment). */
    async later(c: Customer, seconds: number): Promise<void> {
      await env().test.db.query(
        `UPDATE sms_mo_messages SET received_at = received_at - make_interval(secs => $2), last_seen_at = last_seen_at - make_interval(secs => $2),
           paid_at = paid_at - make_interval(secs => $2) WHERE msisdn = $1`,
        [c.msisdn, seconds],
      );
    },
    /** An MO over SMPP, acknowledged, and its run finished. */
    async smpp(c: Customer, text: string): Promise<void> {
      expect((await telco().mo(c.msisdn.slice(1), "22555", text)).command_status).toBe(ESME_ROK);
      await env().sms.commands.drain();
    },
  };
}

/** Polls `check` every 25 ms for up to 5 s. */
export async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
