// A session whose stored record is lost mid-flow (expired, evicted) while the aggregator still
// sends its cumulative text: the inputs so far are not replayed as a new dial.
import { describe, expect, it } from "vitest";
import { fakeUssdChannel } from "../helpers/ussd-fake-channel.js";

function setUp() {
  const { bank, sessions, channel, request } = fakeUssdChannel();
  return { bank, sessions, channel, hop: request };
}

describe("a session record lost mid-flow", () => {
  it("shows the main menu instead of offering its payment again as a fresh shortcut dial", async () => {
    const { bank, sessions, channel, hop } = setUp();
    for (const text of ["", "2", "2*peter", "2*peter*100"]) await channel.hops.handle(hop("lr1", text));
    await sessions.delete("at:lr1");
    const menu = await channel.hops.handle(hop("lr1", "2*peter*100*1"));
    expect(menu.end).toBe(false);
    expect(menu.text).toMatch(/^Welcome.*\n1\. Balance/s);
    // The PIN typed next is an answer to the menu (an invalid choice), never a payment.
    expect((await channel.hops.handle(hop("lr1", "2*peter*100*1*4827"))).text).toMatch(/Invalid choice/);
    await channel.hops.drain();
    expect(bank.sends.size).toBe(0);
  });

  it("a long dial string is no shortcut (the main menu); a trailing * adds nothing to one", async () => {
    const { channel, hop } = setUp();
    expect((await channel.hops.handle(hop("lr3", "1*2*3*4"))).text).toMatch(/^Welcome/);
    expect((await channel.hops.handle(hop("lr4", "2*peter*100*"))).text).toContain("Send KES 100.00 to PETER?");
    await channel.hops.drain();
  });

  it("still opens a dial-string shortcut of up to three segments on a first hop", async () => {
    const { channel, hop } = setUp();
    const first = await channel.hops.handle(hop("lr2", "2*peter*100"));
    expect(first.end).toBe(false);
    expect(first.text).toContain("Send KES 100.00 to PETER?");
    await channel.hops.drain();
  });
});
