/**
 * The stages a session is metered with are the screens it showed (docs/ussd.md): the END screen
 * that stops a session at its stage limit, or that refuses an over-long input, is one of them.
 * Africa's Talking payloads through the real channel, PostgreSQL and the ledger underneath.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import type { TestDb } from "../helpers/db.js";
import { openUssdEnv, SYSTEM, type UssdEnv } from "../helpers/ussd-env.js";

const SECRET = "metering-stages-secret-0123456789abcdef";
const NETWORK = "63902";
const PHONE = "+254712290101";
/** A customer whose menus are in Hindi: UCS-2 screens of 80 characters, so the main menu has pages. */
const HINDI_PHONE = "+254712290102";

let env: UssdEnv;
let test: TestDb;
let app: express.Express;

const hop = (sessionId: string, text: string, phoneNumber = PHONE) =>
  request(app).post("/ussd/at").set("x-fingate-secret", SECRET).type("form").send({ sessionId, serviceCode: "*384#", phoneNumber, networkCode: NETWORK, text });

async function metered(sessionId: string, timeoutMs = 5_000) {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await new Promise((r) => setTimeout(r, 50))) {
    const rows = await test.db.query<{ stages: number; charge: string }>("SELECT stages, charge_minor::text AS charge FROM metered_sessions WHERE session_id LIKE $1 || '@%'", [`at:${sessionId}`]);
    if (rows.rows[0]) return rows.rows[0];
  }
  throw new Error(`session ${sessionId} was not metered`);
}

beforeAll(async () => {
  env = await openUssdEnv({ code: "stages-bank", secret: SECRET });
  ({ test, app } = env);
  const jane = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn: PHONE, displayName: "Jane Stages" });
  if (!jane.ok) throw new Error(jane.code);
  const asha = await env.services.directory.register(SYSTEM, { institutionId: env.bankId, msisdn: HINDI_PHONE, displayName: "Asha Stages" });
  if (!asha.ok) throw new Error(asha.code);
  expect((await env.services.directory.setLanguage(SYSTEM, asha.value.id, "hi")).ok).toBe(true);
  const tariffs = new SqlTariffStore(test.db);
  const telcoId = randomUUID();
  const since = new Date(Date.now() - 60_000);
  await tariffs.insertTelco({ id: telcoId, code: `telco-${randomBytes(3).toString("hex")}`, name: "Stages Telco", networkCodes: [NETWORK], smppLinkIds: [], createdAt: since }, []);
  // 1 a stage, no session fee, no effective ceiling, paid by the bank: the charge is the stage count.
  await tariffs.insertPlan(
    { id: randomUUID(), telcoId, name: "per stage", currency: "KES", perSessionMinor: 0n, perStageMinor: 1n, ceilingMinor: 1_000n, maxStages: 100, payer: "bank", effectiveFrom: since, createdAt: since, updatedAt: since },
    [],
  );
});

afterAll(() => env?.close());

describe("stages metered", () => {
  it("a session stopped at its stage limit counts the END that stopped it", async () => {
    const sessionId = `st-${randomBytes(4).toString("hex")}`;
    const shown: string[] = [(await hop(sessionId, "")).text];
    // Invalid choices: each shows the menu again, until the stage limit (8 answers) ends the session.
    for (let text = "9"; !shown.at(-1)!.startsWith("END") && shown.length < 20; text += "*9") shown.push((await hop(sessionId, text)).text);
    expect(shown.at(-1)).toBe("END This session is too long. Please dial again.");
    expect(shown).toHaveLength(10);
    expect(await metered(sessionId)).toEqual({ stages: 10, charge: "10" });
  });

  it("a session ended by an over-long input counts the END that refused it", async () => {
    const sessionId = `st-${randomBytes(4).toString("hex")}`;
    expect((await hop(sessionId, "")).text).toMatch(/^CON Welcome/);
    expect((await hop(sessionId, "9")).text).toMatch(/^CON Invalid choice/);
    const refused = await hop(sessionId, `9*${"1".repeat(65)}`);
    expect(refused.text).toMatch(/^END /);
    expect(await metered(sessionId)).toEqual({ stages: 3, charge: "3" });
  });

  it("a session stopped at its paging limit counts the END that stopped it", async () => {
    const sessionId = `st-${randomBytes(4).toString("hex")}`;
    const shown: string[] = [(await hop(sessionId, "", HINDI_PHONE)).text];
    expect(shown[0]).toMatch(/^CON [\s\S]*98/);
    // 98 More, 0 Back, … : 24 paging hops, then the 25th ends the session.
    const inputs: string[] = [];
    while (!shown.at(-1)!.startsWith("END") && shown.length < 40) {
      inputs.push(inputs.length % 2 === 0 ? "98" : "0");
      shown.push((await hop(sessionId, inputs.join("*"), HINDI_PHONE)).text);
    }
    // Only the two pages of the menu were shown before the END: no answer reached the menu.
    expect(new Set(shown.slice(0, -1)).size).toBe(2);
    expect(shown).toHaveLength(26);
    expect(shown.at(-1)).toMatch(/^END /);
    expect(await metered(sessionId)).toEqual({ stages: 26, charge: "26" });
  });
});
