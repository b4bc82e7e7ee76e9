// The network gives up on a session whose hop is slow (Africa's Talking's "Failed" notice), and
// its end notice may reach another instance while that hop still runs: the end waits for the hop's
// write, then ends the session and meters it, instead of the hop writing the session back open.
import { expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const MSISDN = "+254700000071";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("an end notice on another instance during a slow first hop ends and meters the session once the hop is written", async () => {
  const bank = new FakeBank();
  bank.addCustomer(MSISDN, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const slow = bank.ports();
  const find = slow.directory.findByMsisdn.bind(slow.directory);
  slow.directory.findByMsisdn = async (msisdn, institutionId) => {
    await sleep(1_500);
    return find(msisdn, institutionId);
  };
  const sessions = new MemorySessionStore();
  const metered: EndedUssdSession[] = [];
  const channel = (ports: ReturnType<FakeBank["ports"]>) =>
    createUssdChannel({
      ports, institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 4),
      aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
      logger: { info() {}, warn() {}, error() {} },
      onSessionEnd: async (s) => void metered.push(s),
    });
  const a = channel(slow);
  const b = channel(bank.ports());
  const first = a.hops.handle({ aggregator: "at", sessionId: "e1", msisdn: MSISDN, serviceCode: "*384#", mode: "cumulative", text: "", hopKey: "" });
  await sleep(100);
  await b.hops.endSession("at", "e1", "abort");
  expect((await first).end).toBe(false);
  await Promise.all([a.hops.drain(), b.hops.drain()]);
  expect(metered.map((s) => [s.sessionId, s.endReason])).toEqual([["e1", "abort"]]);
  expect(await sessions.get("at:e1")).toBeNull();
});
