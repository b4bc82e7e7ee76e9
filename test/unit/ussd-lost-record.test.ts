// A session whose stored record is lost mid-flow (expired, evicted) while the aggregator still
// sends its cumulative text: the inputs so far are not replayed as a new dial, nor run against the
// main menu; a text longer than any dial string ends with "session expired".
import { describe, expect, it } from "vitest";
import { fakeUssdChannel } from "../helpers/ussd-fake-channel.js";

function setUp() {
  const { bank, sessions, channel, request } = fakeUssdChannel();
  return { bank, sessions, channel, hop: request };
}

describe("a session record lost mid-flow", () => {
  const EXPIRED = "Your session has expired. Please dial again.";

  it("ends with 'session expired' instead of offering its payment again or running its inputs against the main menu", async () => {
    const { bank, sessions, channel, hop } = setUp();
    for (const text of ["", "2", "2*peter", "2*peter*100"]) await channel.hops.handle(hop("lr1", text));
    await sessions.delete("at:lr1");
    // Before 2026-11-30 this opened the main menu, and the next input was read as a choice on it.
    expect(await channel.hops.handle(hop("lr1", "2*peter*100*1"))).toEqual({ end: true, text: EXPIRED });
    // That END ended the session (the telco carried it): its retry hears it again, a later hop that the session has ended.
    expect(await channel.hops.handle(hop("lr1", "2*peter*100*1"))).toEqual({ end: true, text: EXPIRED, replayed: true });
    expect(await channel.hops.handle(hop("lr1", "2*peter*100*1*4827"))).toEqual({ end: true, text: "This session has ended. Please dial again." });
    await channel.hops.drain();
    // No main menu stored for the unknown session: only its END, closed (metered as that one screen: ussd-metering-refused).
    expect(JSON.parse((await sessions.get("at:lr1"))!)).toMatchObject({ menu: null, closed: true, consumed: 0 });
    expect(bank.sends.size).toBe(0);
  });

  it("a text longer than any dial string is such a continuation (expired); a trailing * adds nothing to a shortcut", async () => {
    const { channel, hop } = setUp();
    expect((await channel.hops.handle(hop("lr3", "1*2*3*4"))).text).toBe(EXPIRED);
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
