// The resume offer ("1. Continue 2. Start again") shown on the dial after an interrupted session:
// a session interrupted while the offer itself shows must still offer the step the customer was
// at, however many times that happens, and "Start again" must leave nothing to continue.
import { describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { fakeUssdChannel } from "../helpers/ussd-fake-channel.js";

const OFFER = "You were interrupted. Continue where you left off?\n1. Continue\n2. Start again";

function setup(sessions = new MemorySessionStore()) {
  const { bank, payee, channel, ended, request } = fakeUssdChannel(sessions);
  const hop = async (sessionId: string, text: string) => (await channel.hops.handle(request(sessionId, text))).text;
  return { bank, payee, hop, ended, drain: () => channel.hops.drain() };
}

describe("the resume offer", () => {
  it("interrupted while the offer shows, still continues at the step it offered (here: a send's confirmation)", async () => {
    const { bank, payee, hop } = setup();
    let confirm = "";
    for (const text of ["", "2", "2*peter", "2*peter*100"]) confirm = await hop("c1", text);
    expect(confirm).toMatch(/^Send KES 100\.00 to PETER\?/);
    // The network drops the session at the confirmation, then twice more while the offer shows.
    for (const session of ["c2", "c3", "c4"]) expect(await hop(session, "")).toBe(OFFER);
    // "1" shows the confirmation itself, not the offer again (whose next "1" would confirm unseen).
    expect(await hop("c4", "1")).toBe(confirm);
    expect(await hop("c4", "1*1")).toBe("Enter your PIN to confirm:");
    expect(await hop("c4", "1*1*4827")).toMatch(/^Sent KES 100\.00 to PETER/);
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    expect(bank.sends.size).toBe(1);
  });

  it("'Start again' leaves nothing to continue, even when the new session is dropped at once", async () => {
    const { hop } = setup();
    for (const text of ["", "2", "2*peter"]) await hop("s1", text);
    expect(await hop("s2", "")).toBe(OFFER);
    expect(await hop("s2", "2")).toMatch(/^Welcome to fingate\n1\. Balance/);
    // Dropped on the main menu: the next dial is a plain new session.
    expect(await hop("s3", "")).toMatch(/^Welcome to fingate\n1\. Balance/);
  });

  it("two institutions' gateways on one store each keep their own: bank B neither offers nor continues bank A's send", async () => {
    const shared = new MemorySessionStore();
    const [a, b] = [setup(shared), setup(shared)];
    for (const text of ["", "2", "2*peter", "2*peter*100"]) await a.hop("a1", text);
    expect(await b.hop("b1", "")).toMatch(/^Welcome to fingate\n1\. Balance/);
    expect(await b.hop("b1", "1")).toBe("Enter your PIN:");
    // Bank A's point is still there for bank A.
    expect(await a.hop("a2", "")).toBe(OFFER);
  });

  it("a session that answers the offer is metered for every screen it showed, the offer included", async () => {
    const { hop, ended, drain } = setup();
    for (const text of ["", "1", "1*4827"]) await hop("p1", text); // menu, PIN prompt, balance: 3 screens
    for (const text of ["", "2", "2*peter"]) await hop("i1", text);
    // Offer → "2" main menu → "1" PIN prompt → PIN balance: 4 screens.
    expect(await hop("r1", "")).toBe(OFFER);
    await hop("r1", "2");
    await hop("r1", "2*1");
    expect(await hop("r1", "2*1*4827")).toMatch(/balance is/);
    // Offer → "1" the send's amount prompt → "100" its confirmation → "2" cancelled: 4 screens.
    for (const text of ["", "2", "2*peter"]) await hop("i2", text);
    expect(await hop("r2", "")).toBe(OFFER);
    for (const text of ["1", "1*100", "1*100*2"]) await hop("r2", text);
    // A session a hop ends is metered once that hop's commit is in, after its answer went out.
    await drain();
    const stages = Object.fromEntries(ended.map((s) => [s.sessionId, s.stages]));
    expect(stages).toMatchObject({ p1: 3, r1: 4, r2: 4 });
  });
});
