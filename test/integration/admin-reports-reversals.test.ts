/**
 * The fees report after a reversed cash-in: the fee refunded to the customer and the commission
 * clawed back from the agent are part of what the bank kept, on the day they moved. Real agents
 * service, ledger and admin API over PostgreSQL.
 */
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { periodKeys } from "../../src/core/limits/periods.js";
import { adminRouter } from "../../src/http/admin/router.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/infra/log.js";
import { bearer, issueKey, PLATFORM_KEY } from "./admin-fixture.js";
import { AGENT_PIN, BANK, openAgentsWorld, type AgentsWorld } from "./agents-fixture.js";

const DAY_MS = 86_400_000;
const NAIROBI = "Africa/Nairobi";

let w: AgentsWorld;
let app: express.Express;
let auditor: string;

beforeAll(async () => {
  w = await openAgentsWorld("reports-reversals");
  const logger = createLogger("silent");
  const s = w.services;
  app = express();
  app.use(adminRouter({ db: w.test.db, ledger: w.ledger, logger, platformApiKey: PLATFORM_KEY, directory: s.directory, pins: s.pins, simSwaps: s.simSwap, agents: s.agents, agentKeys: s.agentKeys }));
  app.use(createApp({ logger, checkDatabase: async () => undefined }));
  const admin = await issueKey(app, PLATFORM_KEY, w.institutionId, "admin");
  auditor = await issueKey(app, admin, w.institutionId, "auditor");
});

afterAll(async () => {
  await w?.close();
});

describe("fees report", () => {
  it("a reversed cash-in's fee refund and commission clawback count against what the bank kept", async () => {
    const made = await w.services.agents.onboard({
      institutionId: w.institutionId, msisdn: "0712290201", storeNumber: "812290", name: "Duka Reports", location: "Kibera", actor: BANK, pin: AGENT_PIN,
    });
    if (!made.ok) throw new Error(made.code);
    const topUp = await w.services.agents.topUpFloat({ id: uuidv7(), agentId: made.agent.id, amountMinor: 100_000n, actor: BANK });
    expect(topUp.ok).toBe(true);
    // 15,000 pays a fee of 1,000, half of it the agent's commission.
    const cashIn = await w.services.agents.cashIn({ id: uuidv7(), agentId: made.agent.id, customerQuery: w.bob.msisdn, amountMinor: 15_000n, agentPin: AGENT_PIN, channel: "agent" });
    if (!cashIn.ok) throw new Error(cashIn.code);
    expect(cashIn).toMatchObject({ feeMinor: 1_000n, commissionMinor: 500n });
    const reversed = await w.services.agents.reverseCashIn({ transferId: cashIn.transferId, reason: "wrong customer", actor: BANK, institutionId: w.institutionId });
    expect(reversed).toMatchObject({ ok: true, feeRefundMinor: 1_000n, commissionClawbackMinor: 500n });

    const now = Date.now();
    const window = `from=${periodKeys(new Date(now - DAY_MS), NAIROBI).dayKey}&to=${periodKeys(new Date(now + DAY_MS), NAIROBI).dayKey}`;
    const res = await request(app).get(`/admin/v1/institutions/${w.institutionId}/reports/fees?${window}`).set(...bearer(auditor));
    expect(res.status).toBe(200);
    // The fee income account holds nothing of this cash-in any more: the bank kept nothing.
    expect(res.body.items).toEqual([
      { day: expect.any(String), type: "cash_in", fees: 1, feesMinor: "1000", commissionsMinor: "500", feesRefundedMinor: "1000", commissionsClawedBackMinor: "500", netMinor: "0" },
    ]);
  });
});
