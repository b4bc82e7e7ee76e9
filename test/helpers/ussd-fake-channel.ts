// A USSD channel over the menu fakes (FakeBank) and a memory session store, Africa's Talking
// dialect: a payer with a PIN and a balance, and a payee with the alias "peter".
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession, HopRequest } from "../../src/ussd/hop-types.js";
import { FakeBank } from "./menu-fakes.js";

export const FAKE_PAYER = "+254700000010";

export function fakeUssdChannel(sessions = new MemorySessionStore()) {
  const bank = new FakeBank();
  bank.addCustomer(FAKE_PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  const payee = bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  const ended: EndedUssdSession[] = [];
  const channel = createUssdChannel({
    ports: bank.ports(),
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
    logger: { info() {}, warn() {}, error() {} },
    onSessionEnd: async (session) => void ended.push(session),
  });
  /** One hop of a session from the payer's number, its cumulative text as the hop key. */
  const request = (sessionId: string, text: string): HopRequest => ({ aggregator: "at", sessionId, msisdn: FAKE_PAYER, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
  return { bank, payee, sessions, channel, ended, request };
}
