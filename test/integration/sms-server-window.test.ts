/**
 * The inbound window of a telco's session on our listener (50 PDUs, ESME_RTHROTTLED beyond) must
 * bound the work in flight: an MO command runs on after its submit_sm is answered ESME_ROK, so a
 * window that counted only unanswered PDUs let a telco keep any number of commands running.
 * Over a real socket, with the SMS gateway on PostgreSQL; the commands' replies are held open so
 * that their work stays in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { heldReplies, openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const WINDOW = 50; // the listener's default, as in production

let env: SmsEnv;
let telco: TestTelco | undefined;
const held = heldReplies();
const { replies, open: openReplies } = held;

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-server-window", replies, receiptsViaOutbox: false });
  await env.addServerLink("windowed", { maxBinds: 1 });
});

afterAll(async () => {
  openReplies();
  await telco?.close();
  await env?.close();
});

/** +25471260xxxx: a number of this file's range. */
const number = (i: number) => `25471260${String(i).padStart(4, "0")}`;

describe("the inbound window of a bound session", () => {
  it("counts an MO message until its command has finished, not only until it is answered", async () => {
    telco = await TestTelco.connect(env.port);
    expect(await telco.bind("windowed", "Secret1!")).toBe(ESME_ROK);
    const answers = await Promise.all(Array.from({ length: WINDOW }, (_, i) => telco!.mo(number(100 + i), "22555", "BAL")));
    expect(answers.map((a) => a.command_status)).toEqual(answers.map(() => ESME_ROK));
    // Every one of them answered, and every command still running (its reply not sent yet).
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW);
    // Before the fix the window was empty again by now: this one was taken too, a 51st command.
    const over = await telco.mo(number(200), "22555", "BAL");
    expect(over.command_status).toBe(ESME_RTHROTTLED);
    expect(held.replying()).toBe(WINDOW);
    expect(env.sms.manager.status().find((s) => s.id === "windowed")).toMatchObject({ throttled: 1 });
    // Once the commands finish their places are free again.
    openReplies();
    let next = 300;
    await expect.poll(async () => (await telco!.mo(number(next++), "22555", "BAL")).command_status, { timeout: 10_000, interval: 50 }).toBe(ESME_ROK);
    await expect.poll(() => held.replying(), { timeout: 10_000 }).toBe(WINDOW + 1);
  });
});
