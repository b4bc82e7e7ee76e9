// A session whose stored record is lost mid-flow (expired, evicted) while the aggregator still
// sends its cumulative text: the inputs so far are not replayed as a new dial.
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { HopRequest } from "../../src/ussd/hop.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const PAYER = "+254700000010";
const ENDED = "This session has ended. Please dial again.";

function setUp() {
  const bank = new FakeBank();
  bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  const sessions = new MemorySessionStore();
  const channel = createUssdChannel({
    ports: bank.ports(),
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
    logger: { info() {}, warn() {}, error() {} },
  });
  const hop = (sessionId: string, text: string): HopRequest => ({ aggregator: "at", sessionId, msisdn: PAYER, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });
  return { bank, sessions, channel, hop };
}

describe("a session record lost mid-flow", () => {
  it("ends the session instead of offering its payment again as a fresh shortcut dial", async () => {
    const { bank, sessions, channel, hop } = setUp();
    for (const text of ["", "2", "2*peter", "2*peter*100"]) await channel.hops.handle(hop("lr1", text));
    await sessions.delete("at:lr1");
    expect(await channel.hops.handle(hop("lr1", "2*peter*100*1"))).toEqual({ end: true, text: ENDED });
    expect(await channel.hops.handle(hop("lr1", "2*peter*100*1*4827"))).toEqual({ end: true, text: ENDED });
    await channel.hops.drain();
    expect(bank.sends.size).toBe(0);
  });

  it("still opens a dial-string shortcut of up to three segments on a first hop", async () => {
    const { channel, hop } = setUp();
    const first = await channel.hops.handle(hop("lr2", "2*peter*100"));
    expect(first.end).toBe(false);
    expect(first.text).toContain("Send KES 100.00 to PETER?");
    await channel.hops.drain();
  });
});
