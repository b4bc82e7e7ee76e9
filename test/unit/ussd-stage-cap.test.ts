/**
 * Every customer flow, walked along its longest successful path and rendered as USSD screens in
 * every language (a page of a long Hindi screen is a stage too), must fit the strictest tariff
 * plan's stage cap (TRAI: 8 menu stages per USSD banking session).
 */
import { describe, expect, it } from "vitest";
import { checkStageCaps, describeViolation } from "../../src/core/tariffs/stage-cap.js";
import type { FlowStages } from "../../src/core/tariffs/types.js";
import { createTranslator } from "../../src/infra/i18n/index.js";
import { customerMenuEngine, MENU_LANGUAGES, type MenuContext, type StepResult } from "../../src/menus/index.js";
import { renderPages } from "../../src/ussd/render.js";
import { USSD_FLOW_STAGES } from "../../src/ussd/stage-caps.js";
import { FakeBank } from "../helpers/menu-fakes.js";

/** The strictest cap any regulator has set for a USSD banking session. */
const TRAI_PLAN = { id: "trai-2016", telcoId: "any", maxStages: 8 };

const JANE = "+254700000010";
const SHOP = "+254700000030";

/** Each flow's longest path that succeeds, from dialling the short code (inputs as typed). */
const LONGEST_PATHS: Record<string, { msisdn: string; inputs: string[]; before?: (bank: FakeBank) => void }> = {
  register: { msisdn: "+254700000099", inputs: ["Jane Wanjiru", "2", "4827", "4827"] },
  balance: { msisdn: JANE, inputs: ["1", "4827"] },
  statement: { msisdn: JANE, inputs: ["3", "4827"], before: fiveStatementRows },
  send: { msisdn: JANE, inputs: ["2", "peter.o", "150", "1", "4827"] },
  withdraw: { msisdn: JANE, inputs: ["4", "0700000030", "123456", "300", "4827"] },
  change_pin: { msisdn: JANE, inputs: ["5", "5927", "5927", "4827"] },
  account_alias: { msisdn: JANE, inputs: ["6", "2", "jane.w"] },
  account_default: { msisdn: JANE, inputs: ["6", "3", "1"] },
  language: { msisdn: JANE, inputs: ["7", "4"] },
  approve_cash_out: { msisdn: JANE, inputs: ["1", "4827"], before: pendingCashOut },
  decline_cash_out: { msisdn: JANE, inputs: ["2"], before: pendingCashOut },
  agent_cash_in: { msisdn: SHOP, inputs: ["1", "0700000010", "250", "6253"] },
  agent_cash_out: { msisdn: SHOP, inputs: ["2", "0700000010", "400", "6253"] },
  agent_float: { msisdn: SHOP, inputs: ["3", "6253"] },
  agent_today: { msisdn: SHOP, inputs: ["4", "6253"], before: fiveAgentMoves },
  agent_commission: { msisdn: SHOP, inputs: ["5", "6253"] },
  agent_personal_balance: { msisdn: SHOP, inputs: ["6", "1", "5831"], before: (bank) => bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831" }) },
};

function fiveStatementRows(bank: FakeBank): void {
  const jane = bank.customers.get(JANE)!;
  const row = { direction: "out" as const, amountMinor: 99_999_99n, at: new Date("2026-12-31T23:59:00Z"), reference: "ABCDEF1234" };
  bank.history.set(jane.walletAccountId, Array.from({ length: 5 }, () => row));
}

function fiveAgentMoves(bank: FakeBank): void {
  for (let i = 0; i < 5; i++) bank.agentMoves.set(`00000000-0000-4000-8000-00000000000${i}`, { code: "ok", reference: "ABCDEF1234", amountMinor: 99_999_99n });
}

function pendingCashOut(bank: FakeBank): void {
  const shop = bank.agents.get(SHOP)!;
  const jane = bank.customers.get(JANE)!;
  bank.cashOuts.set("p-1", { pendingId: "p-1", agent: shop, customerId: jane.id, amountMinor: 99_999_99n, feeMinor: 10_00n, state: "pending" });
}

const engine = customerMenuEngine();
const translator = createTranslator();

async function walk(ctx: MenuContext, inputs: string[]): Promise<StepResult[]> {
  const out = [await engine.begin(ctx, [])];
  for (const input of inputs) out.push(await engine.next(out.at(-1)!.state, input, ctx));
  return out;
}

async function measure(): Promise<FlowStages[]> {
  const flows: FlowStages[] = [];
  for (const [flowId, path] of Object.entries(LONGEST_PATHS)) {
    const bank = new FakeBank();
    bank.addCustomer(JANE, "Jane Wanjiru", { pin: "4827", balance: 500_00n });
    bank.addCustomer("+254700000020", "Peter Otieno", { pin: "5831", alias: "peter.o" });
    bank.addAgent(SHOP, "Baraka Wholesale and Retail Shop", { storeNumber: "123456", pin: "6253", float: 5_000_00n });
    path.before?.(bank);
    const steps = await walk(bank.context(path.msisdn), path.inputs);
    expect(steps.at(-1)!.continues, `${flowId} must end on its last input`).toBe(false);
    const perLanguage = MENU_LANGUAGES.map((lang) => steps.reduce((n, s) => n + renderPages(translator, lang, s.reply).length, 0));
    flows.push({ flowId, longestPathStages: Math.max(...perLanguage) });
  }
  return flows;
}

describe("menu flows against the tariff stage cap", () => {
  it("every flow's longest path fits the strictest plan in every language", async () => {
    const flows = await measure();
    if (process.env.SHOW_STAGES) console.log(JSON.stringify(flows));
    expect(flows.map((f) => f.flowId)).toEqual(Object.keys(LONGEST_PATHS));
    expect(flows.every((f) => f.longestPathStages >= 2)).toBe(true);
    expect(checkStageCaps(flows, [TRAI_PLAN]).map(describeViolation)).toEqual([]);
    // What the gateway checks the telcos' plans against when it starts (src/ussd/stage-caps.ts).
    expect(flows).toEqual(USSD_FLOW_STAGES);
  });

  it("would name a flow that outgrows a tighter plan", async () => {
    const flows = await measure();
    const tight = { id: "tight", telcoId: "t", maxStages: 3 };
    const names = checkStageCaps(flows, [tight]).map((v) => v.flowId);
    expect(names).toContain("send");
    expect(names).toContain("register");
  });
});
