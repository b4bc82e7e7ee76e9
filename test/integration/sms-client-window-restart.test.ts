/**
 * A client link's inbound window (50 deliveries whose work still runs; ESME_RTHROTTLED beyond)
 * holds across its reconnects, the client being the same; but a configuration change restarts
 * the link with a new client, and the new one started with an empty window while the old
 * deliveries' commands still ran. The link manager keeps the count per link across restarts.
 * Over a real socket to a test SMSC (the `smpp` package's server), with the SMS gateway on
 * PostgreSQL; the commands' replies are held open so that their work stays in flight.
 */
import smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { heldReplies, OPERATOR, openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { startTestSmsc, type TestSmsc } from "../helpers/sms-outbox-smsc.js";

const WINDOW = 50; // the client link's default

let env: SmsEnv;
let smsc: TestSmsc;
const held = heldReplies();
const { replies, open: openReplies } = held;

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-client-window-restart", replies, receiptsViaOutbox: false });
  smsc = await startTestSmsc();
  await env.addClientLink("smsc-restart", smsc.port);
});

afterAll(async () => {
  openReplies();
  await env?.close();
  await smsc?.stop();
});

/** +25471278xxxx: this file's range. */
const number = (i: number) => `25471278${String(i).padStart(4, "0")}`;

function deliver(session: smpp.Session, from: string): Promise<number> {
  const pdu = new smpp.PDU("deliver_sm", { source_addr_ton: 1, source_addr_npi: 1, source_addr: from, destination_addr: "22555", data_coding: 0, short_message: "BAL" });
  return new Promise((resolve, reject) => {
    if (!session.send(pdu, (response) => resolve(response.command_status))) reject(new Error("smsc socket not writable"));
  });
}

const state = () => env.sms.manager.status().find((s) => s.id === "smsc-restart")?.state;

describe("the client link's inbound window across a restart", () => {
  it("still counts the old client's deliveries whose work runs on", async () => {
    await expect.poll(state, { timeout: 10_000 }).toBe("bound");
    const first = smsc.sessions().at(-1)!;
    const statuses = await Promise.all(Array.from({ length: WINDOW }, (_, i) => deliver(first, number(7000 + i))));
    expect(statuses).toEqual(statuses.map(() => ESME_ROK));
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW);
    // A configuration change: the link is stopped and started again, bound anew.
    const current = (await env.sms.admin.get("smsc-restart")) as LinkConfig;
    const { id: _id, mode: _mode, createdAt: _c, updatedAt: _u, ...fields } = current;
    const updated = await env.sms.admin.update(OPERATOR, "smsc-restart", { ...fields, throughputPerS: 100 });
    expect(updated.ok).toBe(true);
    await expect.poll(() => smsc.sessions().filter((s) => s !== first && !s.socket.destroyed).length, { timeout: 10_000 }).toBe(1);
    await expect.poll(state, { timeout: 10_000 }).toBe("bound");
    const second = smsc.sessions().find((s) => s !== first && !s.socket.destroyed)!;
    // Before the fix the new client's window was empty: a 51st command ran at once.
    expect(await deliver(second, number(7100))).toBe(ESME_RTHROTTLED);
    expect(held.replying()).toBe(WINDOW);
    openReplies();
    await expect.poll(() => deliver(second, number(7101)), { timeout: 10_000, interval: 50 }).toBe(ESME_ROK);
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW + 1);
  });
});
