// No hop's log line shows a PIN, whatever path logs it: a replayed PIN hop is logged before its
// record says it answered a PIN prompt, so the input itself must not look like one to be hidden.
import { expect, it } from "vitest";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import { redactedInput } from "../../src/ussd/hop.js";
import type { HopRequest } from "../../src/ussd/hop-types.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const MSISDN = "+254700000051";

it("a retried PIN hop typed with a space or a # logs no PIN", async () => {
  const bank = new FakeBank();
  bank.addCustomer(MSISDN, "Jane Wanjiru", { pin: "4827", balance: 1_234_50n });
  const lines: string[] = [];
  const line = (o: object, m: string) => void lines.push(`${m} ${JSON.stringify(o)}`);
  const ch = createUssdChannel({
    ports: bank.ports(), institutionId: bank.institutionId, sessions: new MemorySessionStore(), secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "gen", dialect: "generic", secret: "generic-secret-0123456789abcdef" }], logger: { info: line, warn: line, error: line },
  });
  const hop = (text: string, seq: number) => ch.hops.handle({ aggregator: "gen", sessionId: "g1", msisdn: MSISDN, serviceCode: "*384#", mode: "single", text, hopKey: `seq:${seq}`, seq, opens: seq === 0 });
  await hop("", 0);
  await hop("1", 1);
  for (const typed of ["4827 ", "4827 "]) await hop(typed, 2); // the second is the aggregator's retry
  await ch.hops.drain();
  // The PIN hop ran against the PIN prompt (its retry is logged before its record is read: masked).
  expect(lines.filter((l) => l.includes('"input":"[pin]"'))).toHaveLength(1);
  expect(lines.filter((l) => l.startsWith("ussd hop"))).toHaveLength(4);
  expect(lines.filter((l) => l.includes("4827"))).toEqual([]);
});

it("masks any input with four digits or more, and shows short choices and words", () => {
  const req = (text: string, mode: HopRequest["mode"] = "single"): HopRequest => ({ aggregator: "a", sessionId: "s", msisdn: MSISDN, serviceCode: "*384#", mode, text, hopKey: text });
  for (const text of ["4827", " 4827", "4827#", "48271", "4827123", "pin 4827", "0712345678"]) expect(redactedInput(req(text)), text).toBe("****");
  expect(redactedInput(req("98"))).toBe("98");
  expect(redactedInput(req("Jane W"))).toBe("Jane W");
  expect(redactedInput(req("1*2*4827 ", "cumulative"))).toBe("[3] ****");
  expect(redactedInput(req("1*2", "cumulative"))).toBe("[2] 2");
});
