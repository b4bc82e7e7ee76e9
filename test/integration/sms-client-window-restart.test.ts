/**
 * A client link's inbound window (50 deliveries whose work still runs; ESME_RTHROTTLED beyond)
 * holds across its reconnects, the client being the same; but a configuration change restarts
 * the link with a new client, and the new one started with an empty window while the old
 * deliveries' commands still ran. The link manager keeps the count per link across restarts.
 * Over a real socket to a test SMSC (the `smpp` package's server), with the SMS gateway on
 * PostgreSQL; the commands' replies are held open so that their work stays in flight.
 */
import { describe, expect, it } from "vitest";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { deliver, useClientWindowRig, WINDOW } from "../helpers/sms-client-window-rig.js";
import { OPERATOR } from "../helpers/sms-env.js";

const rig = useClientWindowRig("sms-client-window-restart", "smsc-restart");
const { held } = rig;
const openReplies = held.open;

/** +25471278xxxx: this file's range. */
const number = (i: number) => `25471278${String(i).padStart(4, "0")}`;

const state = () => rig.env.sms.manager.status().find((s) => s.id === "smsc-restart")?.state;

describe("the client link's inbound window across a restart", () => {
  it("still counts the old client's deliveries whose work runs on", async () => {
    await expect.poll(state, { timeout: 10_000 }).toBe("bound");
    const first = rig.smsc.sessions().at(-1)!;
    const statuses = await Promise.all(Array.from({ length: WINDOW }, (_, i) => deliver(first, number(7000 + i))));
    expect(statuses).toEqual(statuses.map(() => ESME_ROK));
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW);
    // A configuration change: the link is stopped and started again, bound anew.
    const current = (await rig.env.sms.admin.get("smsc-restart")) as LinkConfig;
    const { id: _id, mode: _mode, createdAt: _c, updatedAt: _u, ...fields } = current;
    const updated = await rig.env.sms.admin.update(OPERATOR, "smsc-restart", { ...fields, throughputPerS: 100 });
    expect(updated.ok).toBe(true);
    await expect.poll(() => rig.smsc.sessions().filter((s) => s !== first && !s.socket.destroyed).length, { timeout: 10_000 }).toBe(1);
    await expect.poll(state, { timeout: 10_000 }).toBe("bound");
    const second = rig.smsc.sessions().find((s) => s !== first && !s.socket.destroyed)!;
    // Before the fix the new client's window was empty: a 51st command ran at once.
    expect(await deliver(second, number(7100))).toBe(ESME_RTHROTTLED);
    expect(held.replying()).toBe(WINDOW);
    openReplies();
    await expect.poll(() => deliver(second, number(7101)), { timeout: 10_000, interval: 50 }).toBe(ESME_ROK);
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW + 1);
  });
});
