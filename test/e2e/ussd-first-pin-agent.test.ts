/**
 * An agent whose number is also a customer's who registered themselves and has no PIN yet
 * (awaiting_first_pin) is asked to choose that PIN on dialling, as any such customer is: the agent
 * menu used to come first, and its personal menu then took every PIN the customer typed as wrong.
 * The agent can still go home to the agent menu (00), but its personal menu asks for the first
 * PIN too. End to end: Africa's Talking payloads through the gateway on the real core (PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openUssdEnv, type UssdEnv, walkAt } from "../helpers/ussd-env.js";

const SECRET = "e2e-first-pin-agent-secret-0123456789abcdef";
const BANK = { type: "bank_user" as const, id: "apikey:test" };
const SELF = { actorType: "customer" as const, actorId: "self-registration", channel: "ussd" as const };
const FINISH = "CON Your registration is not finished: your PIN was not set.\nChoose a 4-digit PIN:";
let env: UssdEnv;

const walk = (sessionId: string, phoneNumber: string, inputs: string[]) => walkAt(env, sessionId, phoneNumber, inputs);

/** A customer who registered themselves (the PIN's write then failed: none set), then made an agent. */
async function selfRegisteredAgent(msisdn: string, storeNumber: string): Promise<void> {
  const made = await env.services.directory.register(SELF, { institutionId: env.bankId, msisdn, displayName: "Wambui Kariuki" });
  expect(made.ok && made.value.awaitingFirstPin).toBe(true);
  const agent = await env.services.agents.onboard({ institutionId: env.bankId, msisdn, storeNumber, name: "Duka Wambui", location: "Thika", pin: "4718", actor: BANK });
  expect(agent.ok).toBe(true);
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "first-pin-agent-bank", secret: SECRET });
});

afterAll(() => env?.close());

describe("an agent who is a self-registered customer without a PIN", () => {
  it("chooses the customer PIN on dialling, before the agent menu", async () => {
    const msisdn = "+254712620501";
    await selfRegisteredAgent(msisdn, "626501");
    const chosen = await walk("first-pin-agent-dial", msisdn, ["5093", "5093"]);
    expect(chosen[0]).toBe(FINISH);
    expect(chosen[1]).toBe("CON Enter the PIN again:");
    expect(chosen[2]).toBe("END Welcome Wambui Kariuki! Your wallet is ready. Dial again to use it.");
    // Then the agent menu, with the personal banking that now takes that PIN.
    const next = await walk("first-pin-agent-next", msisdn, ["6", "1", "5093"]);
    expect(next[0]).toMatch(/^CON Agent menu\n/);
    expect(next[1]).toMatch(/^CON Welcome to fingate\n1\. Balance/);
    expect(next[3]).toBe("END Your balance is KES 0.00.");
  });

  it("asks for the first PIN in the personal menu too, when the agent went home to the agent menu", async () => {
    const msisdn = "+254712620502";
    await selfRegisteredAgent(msisdn, "626502");
    const walked = await walk("first-pin-agent-home", msisdn, ["00", "6"]);
    expect(walked[0]).toBe(FINISH);
    expect(walked[1]).toMatch(/^CON Agent menu\n/);
    expect(walked[2]).toBe(FINISH);
  });
});
