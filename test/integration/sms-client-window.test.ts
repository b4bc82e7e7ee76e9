/**
 * A client link answers the SMSC's deliver_sm at once and runs the MO command after the answer;
 * with no bound on that work an SMSC could keep any number of commands running. The link counts
 * the work (50 at once, as the listener's window) and answers ESME_RTHROTTLED beyond it. Over a
 * real socket to a test SMSC, with the SMS gateway on PostgreSQL; the commands' replies are held
 * open so that their work stays in flight.
 */
import { describe, expect, it } from "vitest";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { deliver, useClientWindowRig, WINDOW } from "../helpers/sms-client-window-rig.js";

const rig = useClientWindowRig("sms-client-window", "smsc-window");
const { held } = rig;
const openReplies = held.open;

/** +25471260xxxx: a number of this file's range. */
const number = (i: number) => `25471260${String(i).padStart(4, "0")}`;

describe("the client link's inbound window", () => {
  it("counts a deliver_sm until its command has finished and answers ESME_RTHROTTLED beyond it", async () => {
    await expect.poll(() => rig.env.sms.manager.status().find((s) => s.id === "smsc-window")?.state, { timeout: 10_000 }).toBe("bound");
    const session = rig.smsc.sessions().at(-1)!;
    const statuses = await Promise.all(Array.from({ length: WINDOW }, (_, i) => deliver(session, number(500 + i))));
    expect(statuses).toEqual(statuses.map(() => ESME_ROK));
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW);
    // Before the fix every delivery was answered ESME_ROK and run: a 51st command at once.
    expect(await deliver(session, number(600))).toBe(ESME_RTHROTTLED);
    expect(held.replying()).toBe(WINDOW);
    // The admin status counts it (it read 0 for every client link).
    expect(rig.env.sms.manager.status().find((s) => s.id === "smsc-window")?.throttled).toBe(1);
    // Once the commands finish, the SMSC's delivery (sent again) is taken.
    openReplies();
    await expect.poll(() => deliver(session, number(601)), { timeout: 10_000, interval: 50 }).toBe(ESME_ROK);
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW + 1);
  });
});
