/**
 * The listener's inbound window bounds the work a telco's PDUs set going (an MO command runs on
 * after its ESME_ROK). It was counted per socket: a telco that unbound, dropped its connection or
 * was dropped by an account change, and bound again, got a fresh window while the old PDUs' work
 * still ran, and could keep any number running by re-binding. The window is the account's: all
 * of its binds, live or gone, hold at most inboundWindow × maxBinds, and one bind at most
 * inboundWindow. Over real sockets, the telco being the `smpp` package's client; the work is held
 * open by the test.
 */
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { ESME_ROK, ESME_RTHROTTLED } from "../../src/sms/smpp-status.js";
import { TestTelco } from "../helpers/smpp-telco.js";

const WINDOW = 5;

let listener: SmppListener;
let port: number;
let passwordHash: string;
const links = new Map<string, LinkConfig>();
/** Work of the PDUs taken, held until released. */
const held: Array<() => void> = [];
const telcos: TestTelco[] = [];

const linkOf = (id: string, maxBinds: number) => ({ id, institutionId: "bank", maxBinds, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null }) as unknown as LinkConfig;

beforeAll(async () => {
  passwordHash = await hashLinkPassword("Secret1!");
  listener = new SmppListener({
    account: (systemId) => {
      const link = links.get(systemId);
      return link ? { link, passwordHash } : null;
    },
    onInbound: async () => ({ status: ESME_ROK, work: new Promise<void>((resolve) => held.push(resolve)) }),
    logger: { info: () => undefined, warn: () => undefined },
    inboundWindow: WINDOW,
  });
  port = await listener.listen(0, "127.0.0.1");
});

afterEach(async () => {
  for (const release of held.splice(0)) release();
  for (const t of telcos.splice(0)) await t.close();
});

afterAll(async () => {
  await listener?.close();
});

async function boundTelco(systemId: string): Promise<TestTelco> {
  const telco = await TestTelco.connect(port);
  telcos.push(telco);
  expect(await telco.bind(systemId, "Secret1!")).toBe(ESME_ROK);
  return telco;
}

/** +25471278xxxx: this file's range. */
const number = (i: number) => `25471278${String(i).padStart(4, "0")}`;

async function send(telco: TestTelco, count: number, from: number): Promise<number[]> {
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => telco.mo(number(from + i), "22555", "BAL")));
  return answers.map((a) => a.command_status);
}

const unbind = (telco: TestTelco): Promise<smpp.PDU> => telco.request("unbind");

describe("the inbound window across re-binds", () => {
  it("still counts the work of an unbound session's PDUs when the telco binds again", async () => {
    links.set("rebind", linkOf("rebind", 1));
    const first = await boundTelco("rebind");
    expect(await send(first, WINDOW, 0)).toEqual(Array(WINDOW).fill(ESME_ROK));
    expect(await send(first, 1, 100)).toEqual([ESME_RTHROTTLED]);
    await unbind(first);
    await first.close();
    // Before the fix the new bind had an empty window: WINDOW more commands ran alongside.
    const second = await boundTelco("rebind");
    expect(await send(second, 1, 200)).toEqual([ESME_RTHROTTLED]);
    expect(held).toHaveLength(WINDOW);
    // Once the old work is over, the new bind's PDUs are taken.
    held.splice(0, 2).forEach((release) => release());
    await expect.poll(async () => (await send(second, 1, 300))[0], { timeout: 5_000, interval: 20 }).toBe(ESME_ROK);
    expect(await send(second, 1, 400)).toEqual([ESME_ROK]);
    expect(await send(second, 1, 500)).toEqual([ESME_RTHROTTLED]);
    expect(held).toHaveLength(WINDOW);
    expect(listener.stats("rebind").throttled).toBe(3);
  });

  it("still counts it after a dropped connection and after the account was changed (its sessions dropped)", async () => {
    links.set("dropped", linkOf("dropped", 1));
    const first = await boundTelco("dropped");
    expect(await send(first, WINDOW, 1000)).toEqual(Array(WINDOW).fill(ESME_ROK));
    await first.close(); // no unbind: the socket is gone
    const second = await boundTelco("dropped");
    expect(await send(second, 1, 1100)).toEqual([ESME_RTHROTTLED]);
    // A password rotation drops the link's sessions and forgets its traffic; the work runs on.
    listener.dropLink("dropped");
    await expect.poll(() => second.session.socket.destroyed, { timeout: 2_000 }).toBe(true);
    const third = await boundTelco("dropped");
    expect(await send(third, 1, 1200)).toEqual([ESME_RTHROTTLED]);
    expect(held).toHaveLength(WINDOW);
  });

  it("gives each of maxBinds binds its own window, but no more to a bind that replaces one", async () => {
    links.set("twobinds", linkOf("twobinds", 2));
    const a = await boundTelco("twobinds");
    const b = await boundTelco("twobinds");
    expect(await send(a, WINDOW, 2000)).toEqual(Array(WINDOW).fill(ESME_ROK));
    // One bind may not take the other's share.
    expect(await send(a, 1, 2100)).toEqual([ESME_RTHROTTLED]);
    expect(await send(b, WINDOW, 2200)).toEqual(Array(WINDOW).fill(ESME_ROK));
    await unbind(a);
    await a.close();
    const c = await boundTelco("twobinds");
    expect(await send(c, 1, 2300)).toEqual([ESME_RTHROTTLED]);
    expect(held).toHaveLength(2 * WINDOW);
  });
});
