/**
 * A client link configured through the link admin binds to a telco's SMSC (a test SMSC on
 * loopback), takes the MO commands the SMSC delivers to our short code as deliver_sm, and answers
 * them with submit_sm over the same link.
 */
import smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSms } from "../../src/sms/encoding.js";
import { OPERATOR, openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { startTestSmsc, type TestSmsc } from "../helpers/sms-outbox-smsc.js";

let env: SmsEnv;
let smsc: TestSmsc;

/** Waits (boundedly) for something a socket event will bring about. */
async function until<T>(what: string, probe: () => T | undefined | null | false): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-client-bank" });
  await env.addCustomer("+254700000001", "Jane Wanjiru", "4827", "en", 1_234_50n);
  smsc = await startTestSmsc();
  await env.addClientLink("smsc-ke", smsc.port, { throughputPerS: 100 });
});

afterAll(async () => {
  await env?.close();
  await smsc?.stop();
});

describe("client link", () => {
  it("binds, answers an MO command delivered by the SMSC, and reports its state", async () => {
    await until("the bind", () => env.sms.manager.status().find((s) => s.id === "smsc-ke" && s.state === "bound"));
    const session = smsc.sessions().at(-1)!;
    const text = encodeSms("BAL 4827", { reference: 0 });
    session.send(
      new smpp.PDU("deliver_sm", {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: "254700000001",
        destination_addr: "22555",
        esm_class: 0,
        data_coding: text.dataCoding,
        short_message: text.parts[0]!,
      }),
    );
    const reply = await until("the reply", () => smsc.accepted.find((a) => a.destination === "254700000001"));
    expect(reply.text).toBe("Your balance is KES 1,234.50.");
    const status = env.sms.manager.status().find((s) => s.id === "smsc-ke")!;
    expect(status).toMatchObject({ mode: "client", bound: true, reconnecting: false, problem: null });
    expect(status.inboundPerS).toBeGreaterThan(0);
  });

  it("stops when the link is disabled", async () => {
    const current = (await env.sms.admin.get("smsc-ke"))!;
    const { id: _id, mode: _mode, createdAt: _c, updatedAt: _u, ...fields } = current;
    const updated = await env.sms.admin.update(OPERATOR, "smsc-ke", { ...fields, enabled: false });
    expect(updated.ok).toBe(true);
    expect(env.sms.manager.status().find((s) => s.id === "smsc-ke")).toMatchObject({ state: "disabled", bound: false });
    expect(env.sms.manager.route("+254700000001")).toBeNull();
  });
});
