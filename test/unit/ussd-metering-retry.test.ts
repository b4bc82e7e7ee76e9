// A session that ended is stored closed, so no later notice meters it: a metering that fails (the
// database blinked) is tried again, and a session whose start another instance stamped with a
// clock ahead of this one's is still metered with an end no earlier than its start.
import { afterEach, expect, it, vi } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { EndedUssdSession, HopRequest } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const MSISDN = "+254700000061";

function setUp(failures: number) {
  const bank = new FakeBank();
  bank.addCustomer(MSISDN, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const metered: EndedUssdSession[] = [];
  const warnings: string[] = [];
  let calls = 0;
  const sessions = new MemorySessionStore();
  const channel = (name: string) =>
    createUssdChannel({
      ports: bank.ports(), institutionId: bank.institutionId, sessions, secretKey: Buffer.alloc(32, 3),
      aggregators: [{ name: "at", dialect: "africastalking", secret: "at-shared-secret-0123456789" }],
      logger: { info() {}, warn: (_o: object, m: string) => void warnings.push(`${name}: ${m}`), error() {} },
      onSessionEnd: async (session) => {
        if (calls++ < failures) throw new Error("connection terminated unexpectedly");
        metered.push(session);
      },
    });
  return { channel, metered, warnings, calls: () => calls };
}

const hop = (sessionId: string, text: string): HopRequest => ({ aggregator: "at", sessionId, msisdn: MSISDN, serviceCode: "*384#", mode: "cumulative", text, hopKey: text });

afterEach(() => void vi.useRealTimers());

it("a metering that fails is tried again, and the session is metered once", async () => {
  const { channel, metered, warnings, calls } = setUp(1);
  const ch = channel("a");
  await ch.hops.handle(hop("m1", ""));
  await ch.hops.handle(hop("m1", "1"));
  expect(await ch.hops.handle(hop("m1", "1*4827"))).toMatchObject({ end: true });
  await ch.hops.drain();
  expect(calls()).toBe(2);
  expect(metered.map((s) => [s.sessionId, s.endReason, s.stages])).toEqual([["m1", "end", 3]]);
  expect(warnings).toEqual(["a: ussd session not metered"]);
  // The network's end notice afterwards meters nothing more.
  await ch.hops.endSession("at", "m1", "end");
  await ch.hops.drain();
  expect(metered).toHaveLength(1);
});

it("a session opened by an instance whose clock is ahead ends no earlier than it started", async () => {
  const { channel, metered } = setUp(0);
  const ahead = channel("ahead");
  const behind = channel("behind");
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-11-29T10:00:05Z"));
  await ahead.hops.handle(hop("m2", ""));
  vi.setSystemTime(new Date("2026-11-29T10:00:01Z"));
  await behind.hops.endSession("at", "m2", "abort");
  await behind.hops.drain();
  expect(metered).toHaveLength(1);
  expect(metered[0]!.endedAt.getTime()).toBeGreaterThanOrEqual(metered[0]!.startedAt.getTime());
});
