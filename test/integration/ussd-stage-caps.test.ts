/**
 * The tariff plans' stage caps are checked against the menus when the USSD gateway starts: a
 * telco's plan in force that allows fewer stages than a flow's longest path needs is named in a
 * warning, one per flow; a plan already superseded is not (src/ussd/stage-caps.ts). Real
 * PostgreSQL; the plans as the admin API stores them.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqlTariffStore } from "../../src/infra/db/tariff-store.js";
import { MemorySessionStore } from "../../src/menus/engine/session-store.js";
import { buildUssdGateway } from "../../src/ussd/gateway.js";
import type { HopLogger } from "../../src/ussd/hop-types.js";
import { openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const HOUR = 3_600_000;
let rig: UssdRig;

async function plan(tariffs: SqlTariffStore, telcoId: string, maxStages: number, effectiveFrom: Date): Promise<string> {
  const id = randomUUID();
  const at = new Date(Date.now() - 48 * HOUR);
  await tariffs.insertPlan(
    { id, telcoId, name: `cap ${maxStages}`, currency: "KES", perSessionMinor: 0n, perStageMinor: 1n, ceilingMinor: 100n, maxStages, payer: "bank", effectiveFrom, createdAt: at, updatedAt: at },
    [],
  );
  return id;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "caps-bank", secret: "caps-secret-0123456789abcdef0123", instances: 0 });
});

afterAll(() => rig?.close());

describe("stage caps at the gateway's start", () => {
  it("warns of each flow longer than a plan in force (now or to come) allows, not of a superseded plan's cap", async () => {
    const tariffs = new SqlTariffStore(rig.test.db);
    const strict = randomUUID();
    const loose = randomUUID();
    for (const [id, code] of [[strict, "strict"], [loose, "loose"]] as const) {
      await tariffs.insertTelco({ id, code: `${code}-${randomBytes(3).toString("hex")}`, name: code, networkCodes: [], smppLinkIds: [], createdAt: new Date() }, []);
    }
    // Strict telco: TRAI's 8 until now, a cap of 5 from tomorrow.
    await plan(tariffs, strict, 8, new Date(Date.now() - 24 * HOUR));
    const five = await plan(tariffs, strict, 5, new Date(Date.now() + 24 * HOUR));
    // Loose telco: a cap of 3 long superseded by 8.
    await plan(tariffs, loose, 3, new Date(Date.now() - 48 * HOUR));
    await plan(tariffs, loose, 8, new Date(Date.now() - 24 * HOUR));

    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger: HopLogger = { info() {}, error() {}, warn: (obj, msg) => void warnings.push({ obj: obj as Record<string, unknown>, msg }) };
    const gateway = await buildUssdGateway({
      services: rig.services,
      ledger: rig.ledger,
      logger,
      institutionId: rig.bankId,
      aggregators: [{ name: "at", dialect: "africastalking", secret: rig.secret }],
      secretKey: randomBytes(32),
      sessions: new MemorySessionStore(),
    });
    await gateway?.close();
    const caps = warnings.filter((w) => w.msg === "ussd flow longer than a telco's tariff plan allows");
    expect(caps.map((w) => w.obj.flowId).sort()).toEqual(["agent_cash_out", "agent_personal_balance", "agent_today", "change_pin", "send", "statement", "withdraw"]);
    expect(caps.every((w) => w.obj.planId === five && w.obj.telcoId === strict && w.obj.maxStages === 5)).toBe(true);
    expect(caps.find((w) => w.obj.flowId === "send")!.obj.detail).toBe(`flow send needs 8 stages; plan ${five} of telco ${strict} allows 5`);
  });
});
