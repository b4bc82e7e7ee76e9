/**
 * The client link inbound-window tests' rig: a test file's SMS gateway on PostgreSQL whose command
 * replies are held open (so their work stays in flight), one client link to a test SMSC over a real
 * socket, opened in the file's beforeAll and closed in its afterAll; and the SMSC's deliveries.
 */
import smpp from "smpp";
import { afterAll, beforeAll } from "vitest";
import { heldReplies, openSmsEnv, type SmsEnv } from "./sms-env.js";
import { startTestSmsc, type TestSmsc } from "./sms-outbox-smsc.js";

/** The client link's default inbound window. */
export const WINDOW = 50;

export interface ClientWindowRig {
  readonly env: SmsEnv;
  readonly smsc: TestSmsc;
  held: ReturnType<typeof heldReplies>;
}

/** Call at a test file's top level: `code` names its environment, `linkId` its client link. */
export function useClientWindowRig(code: string, linkId: string): ClientWindowRig {
  const held = heldReplies();
  let env: SmsEnv | undefined;
  let smsc: TestSmsc | undefined;
  beforeAll(async () => {
    env = await openSmsEnv({ code, replies: held.replies, receiptsViaOutbox: false });
    smsc = await startTestSmsc();
    await env.addClientLink(linkId, smsc.port);
  });
  afterAll(async () => {
    held.open();
    await env?.close();
    await smsc?.stop();
  });
  const opened = <T>(part: T | undefined): T => {
    if (!part) throw new Error("useClientWindowRig: the rig opens in beforeAll; use it in hooks and tests");
    return part;
  };
  return {
    get env() {
      return opened(env);
    },
    get smsc() {
      return opened(smsc);
    },
    held,
  };
}

/** The SMSC delivers "BAL" from `from` to our short code; resolves with our deliver_sm_resp status. */
export function deliver(session: smpp.Session, from: string): Promise<number> {
  const pdu = new smpp.PDU("deliver_sm", { source_addr_ton: 1, source_addr_npi: 1, source_addr: from, destination_addr: "22555", data_coding: 0, short_message: "BAL" });
  return new Promise((resolve, reject) => {
    if (!session.send(pdu, (response) => resolve(response.command_status))) reject(new Error("smsc socket not writable"));
  });
}
