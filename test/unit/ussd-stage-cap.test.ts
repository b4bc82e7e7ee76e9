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
import { FakeBank } from "../helpers/menu-fakes.js";

/** The strictest cap any regulator has set for a USSD banking session. */
const TRAI_PLAN = { id: "trai-2016", telcoId: "any", maxStages: 8 };

/** Each flow's longest path that succeeds, from dialling the short code (inputs as typed). */
const LONGEST_PATHS: Record<string, { msisdn: string; inputs: string[] }> = {
  register: { msisdn: "+254700000099", inputs: ["Jane Wanjiru", "2", "4827", "4827"] },
  balance: { msisdn: "+254700000010", inputs: ["2", "4827"] },
  statement: { msisdn: "+254700000010", inputs: ["3", "4827"] },
  send: { msisdn: "+254700000010", inputs: ["1", "peter.o", "150", "1", "4827"] },
  change_pin: { msisdn: "+254700000010", inputs: ["4", "5927", "5927", "4827"] },
  language: { msisdn: "+254700000010", inputs: ["5", "4"] },
  account_alias: { msisdn: "+254700000010", inputs: ["6", "2", "jane.w"] },
  account_default: { msisdn: "+254700000010", inputs: ["6", "3", "2"] },
};

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
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 500_00n });
    bank.addCustomer("+254700000020", "Peter Otieno", { pin: "5831", alias: "peter.o" });
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
    expect(flows.every((f) => f.longestPathStages >= 2)).toBe(true);
    expect(checkStageCaps(flows, [TRAI_PLAN]).map(describeViolation)).toEqual([]);
  });

  it("would name a flow that outgrows a tighter plan", async () => {
    const flows = await measure();
    const tight = { id: "tight", telcoId: "t", maxStages: 3 };
    const names = checkStageCaps(flows, [tight]).map((v) => v.flowId);
    expect(names).toContain("send");
    expect(names).toContain("register");
  });
});
