import { describe, expect, it } from "vitest";
import { customerMenuEngine } from "../../src/menus/index.js";
import { FAKE_CASH_IN_COMMISSION, FAKE_CASH_OUT_FEE, FakeBank } from "../helpers/menu-fakes.js";
import { replyKeys, walk } from "../helpers/menu-walk.js";
import { containsPin } from "../helpers/pin-leak.js";

const engine = customerMenuEngine();

const JANE = "+254700000010";
const SHOP = "+254700000030";
const AGENT_PIN = "6253";

function setup() {
  const bank = new FakeBank();
  const jane = bank.addCustomer(JANE, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
  const shop = bank.addAgent(SHOP, "Baraka Shop", { storeNumber: "123456", pin: AGENT_PIN, float: 5_000_00n });
  return { bank, jane, shop };
}

describe("customer: withdraw cash at an agent", () => {
  it("agent number → store number → amount → fee and total with the PIN → receipt, posted once", async () => {
    const { bank, jane, shop } = setup();
    const ctx = bank.context(JANE, "wd-1");
    const steps = await walk(ctx, ["4", "0700000030", "123456", "300", "4827"]);
    expect(replyKeys(steps[1]!)).toEqual(["wd.ask_agent"]);
    expect(replyKeys(steps[2]!)).toEqual(["wd.ask_store"]);
    expect(steps[3]!.reply.lines[0]).toEqual({ key: "wd.ask_amount", params: { name: "BARAKA", store: "123456", currency: "KES" } });
    expect(replyKeys(steps[4]!)).toEqual(["wd.confirm", "wd.ask_pin"]);
    expect(steps[4]!.reply.secret).toBe(true);
    expect(steps[4]!.reply.lines[0]!.params).toMatchObject({ store: "123456", fee: { minor: "1000" }, total: { minor: "31000" } });
    expect(replyKeys(steps[5]!)).toEqual(["wd.receipt"]);
    expect(steps[5]!.continues).toBe(false);
    expect(bank.balances.get(jane.walletAccountId)).toBe(1_000_00n - 300_00n - FAKE_CASH_OUT_FEE);
    expect(shop.float).toBe(5_300_00n);
    // The aggregator retries the PIN hop: the same request id, nothing moves again.
    const again = await engine.next(steps[4]!.state, "4827", ctx);
    expect(replyKeys(again)).toEqual(["wd.receipt"]);
    expect(shop.float).toBe(5_300_00n);
    expect(containsPin(JSON.stringify(steps.map((s) => s.state)), "4827")).toBe(false);
  });

  it("a wrong store number says so clearly and asks for both numbers again; nothing moves", async () => {
    const { bank, shop } = setup();
    bank.addAgent("+254700000031", "Other Shop", { storeNumber: "654321" });
    const steps = await walk(bank.context(JANE), ["4", "0700000030", "654321", "0700000099", "99", "777777"]);
    expect(replyKeys(steps[3]!)).toEqual(["err.agent_store_mismatch", "wd.ask_agent"]);
    expect(replyKeys(steps[5]!)).toEqual(["err.store_invalid", "wd.ask_store"]);
    expect(replyKeys(steps[6]!)).toEqual(["err.agent_not_found", "wd.ask_agent"]);
    expect(shop.float).toBe(5_000_00n);
  });

  it("refuses a malformed agent number, an invalid amount, and a wrong PIN then a lock", async () => {
    const { bank } = setup();
    let steps = await walk(bank.context(JANE), ["4", "abc"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.agent_number_invalid", "wd.ask_agent"]);
    steps = await walk(bank.context(JANE), ["4", "0700000030", "123456", "0", "100000", "-5"]);
    expect(replyKeys(steps[4]!)[0]).toBe("err.invalid_amount_hint");
    // Over the agent's cap: the most allowed, in words that fit a withdrawal ("send" would not).
    expect(replyKeys(steps[5]!)[0]).toBe("err.limit_remaining_amount");
    expect(replyKeys(steps[6]!)[0]).toBe("err.invalid_amount_hint");
    steps = await walk(bank.context(JANE), ["4", "0700000030", "123456", "100", "1111", "2222", "3333"]);
    expect(replyKeys(steps[5]!)).toEqual(["err.pin_wrong", "wd.ask_pin"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.pin_locked"]);
  });
});

describe("agent menu", () => {
  it("an agent's number opens the agent menu; the personal menu only when it is also a customer's", async () => {
    const { bank } = setup();
    let first = (await walk(bank.context(SHOP), []))[0]!;
    expect(replyKeys(first)).toEqual(["ag.title"]);
    expect(first.reply.options?.map((o) => o.choice)).toEqual(["1", "2", "3", "4", "5"]);
    bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831", language: "sw" });
    const steps = await walk(bank.context(SHOP), ["6", "00"]);
    expect(steps[0]!.reply.options?.map((o) => o.choice)).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(replyKeys(steps[1]!)).toEqual(["main.title"]);
    expect(steps[1]!.state.agent).toBeUndefined();
    expect(steps[1]!.state.lang).toBe("sw");
    // Home now means the personal main menu.
    expect(replyKeys(steps[2]!)).toEqual(["main.title"]);
    first = (await walk(bank.context(SHOP), ["9"])).at(-1)!;
    expect(replyKeys(first)).toEqual(["err.invalid_choice", "ag.title"]);
  });

  it("no personal menu for an agent whose customer record is blocked or another bank's: the agent menu alone", async () => {
    const { bank } = setup();
    const own = bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831", balance: 500_00n });
    for (const who of [{ ...own, active: false }, { ...own, institutionId: "another-bank" }]) {
      bank.customers.set(SHOP, who);
      const steps = await walk(bank.context(SHOP), ["6"]);
      expect(steps[0]!.reply.options?.map((o) => o.choice)).toEqual(["1", "2", "3", "4", "5"]);
      expect(steps[0]!.state.customer).toBeNull();
      expect(replyKeys(steps[1]!)).toEqual(["err.invalid_choice", "ag.title"]);
    }
  });

  it("cash-in: customer number → masked name with the amount → summary and agent PIN → receipt, once", async () => {
    const { bank, jane, shop } = setup();
    const ctx = bank.context(SHOP, "ci-1");
    const steps = await walk(ctx, ["1", "0700000010", "250", AGENT_PIN]);
    expect(replyKeys(steps[1]!)).toEqual(["ci.ask_customer"]);
    expect(steps[2]!.reply.lines[0]).toEqual({ key: "ci.ask_amount", params: { name: "JANE", currency: "KES" } });
    expect(replyKeys(steps[3]!)).toEqual(["ci.confirm", "ag.ask_pin"]);
    expect(steps[3]!.reply.secret).toBe(true);
    expect(replyKeys(steps[4]!)).toEqual(["ci.receipt"]);
    expect(bank.balances.get(jane.walletAccountId)).toBe(1_250_00n);
    expect(shop.float).toBe(4_750_00n);
    expect(shop.commission).toBe(FAKE_CASH_IN_COMMISSION);
    await engine.next(steps[3]!.state, AGENT_PIN, ctx);
    expect(shop.float).toBe(4_750_00n);
    expect(containsPin(JSON.stringify(steps.map((s) => s.state)), AGENT_PIN)).toBe(false);
  });

  it("cash-in refusals: unknown customer, the agent's own number, not enough float, wrong agent PIN", async () => {
    const { bank, shop } = setup();
    bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831" });
    let steps = await walk(bank.context(SHOP), ["1", "0799999999", "0700000030"]);
    expect(replyKeys(steps[2]!)).toEqual(["err.payee_not_found", "ci.ask_customer"]);
    expect(replyKeys(steps[3]!)).toEqual(["err.self_transaction", "ci.ask_customer"]);
    steps = await walk(bank.context(SHOP), ["1", "0700000010", "6000", AGENT_PIN]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.insufficient_float"]);
    expect(steps.at(-1)!.continues).toBe(false);
    steps = await walk(bank.context(SHOP), ["1", "0700000010", "100", "1111"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.pin_wrong", "ag.ask_pin"]);
    expect(shop.float).toBe(5_000_00n);
  });

  it("a shortcut prefills the customer and the amount: *384*1*number*amount# goes to the PIN", async () => {
    const { bank } = setup();
    const first = (await walk(bank.context(SHOP), [], ["1", "0700000010", "50"]))[0]!;
    expect(replyKeys(first)).toEqual(["ci.confirm", "ag.ask_pin"]);
    expect((await walk(bank.context(SHOP), [], ["3"]))[0]!.reply.lines[0]!.key).toBe("ag.ask_pin");
  });

  it("cash-out: the agent's PIN holds the amount; the customer's next dial offers it first; approve with the PIN", async () => {
    const { bank, jane, shop } = setup();
    const agentSide = await walk(bank.context(SHOP), ["2", "0700000010", "400", AGENT_PIN]);
    expect(replyKeys(agentSide[3]!)).toEqual(["cx.confirm", "cx.fee", "ag.ask_pin"]);
    expect(replyKeys(agentSide.at(-1)!)).toEqual(["cx.receipt"]);
    expect(bank.balances.get(jane.walletAccountId)).toBe(1_000_00n - 400_00n - FAKE_CASH_OUT_FEE);
    expect(shop.float).toBe(5_000_00n);
    const customerSide = await walk(bank.context(JANE), ["1", "1111", "4827"]);
    expect(replyKeys(customerSide[0]!)).toEqual(["co.offer", "send.fee"]);
    expect(customerSide[0]!.reply.lines[0]!.params).toMatchObject({ name: "BARAKA", store: "123456", amount: { minor: "40000" } });
    expect(customerSide[0]!.reply.options?.map((o) => o.label.key)).toEqual(["co.opt_approve", "co.opt_decline", "co.opt_later"]);
    expect(replyKeys(customerSide[1]!)).toEqual(["co.ask_pin"]);
    expect(replyKeys(customerSide[2]!)).toEqual(["err.pin_wrong", "co.ask_pin"]);
    expect(replyKeys(customerSide[3]!)).toEqual(["co.approved"]);
    expect(shop.float).toBe(5_400_00n);
    // Answered: the next dial is the main menu.
    expect(replyKeys((await walk(bank.context(JANE), []))[0]!)).toEqual(["main.title"]);
  });

  it("a dial with a shortcut while a record awaits with no hold behind it goes where the shortcut asks", async () => {
    const { bank } = setup();
    await walk(bank.context(SHOP), ["2", "0700000010", "400", AGENT_PIN]);
    for (const p of bank.cashOuts.values()) p.held = false;
    const balance = await walk(bank.context(JANE), ["4827"], ["1"]);
    expect(replyKeys(balance[0]!)).toEqual(["bal.ask_pin"]);
    expect(replyKeys((await walk(bank.context(JANE), []))[0]!)).toEqual(["main.title"]);
  });

  it("the customer declines (money back on the wallet) or leaves it for later (the main menu)", async () => {
    const { bank, jane, shop } = setup();
    await walk(bank.context(SHOP), ["2", "0700000010", "400", AGENT_PIN]);
    const later = await walk(bank.context(JANE), ["3"]);
    expect(replyKeys(later[1]!)).toEqual(["main.title"]);
    const declined = await walk(bank.context(JANE), ["2"]);
    expect(replyKeys(declined[1]!)).toEqual(["co.declined"]);
    expect(bank.balances.get(jane.walletAccountId)).toBe(1_000_00n);
    expect(shop.float).toBe(5_000_00n);
  });

  it("a cash-out's PIN step run again after the customer answered tells the agent the answer: cash only when approved", async () => {
    for (const [answer, key] of [["1", "cx.approved"], ["2", "cx.declined"]] as const) {
      const { bank, shop } = setup();
      const steps = await walk(bank.context(SHOP, `cx-${answer}`), ["2", "0700000010", "400", AGENT_PIN]);
      expect(replyKeys(steps[4]!)).toEqual(["cx.receipt"]);
      await walk(bank.context(JANE), answer === "1" ? ["1", "4827"] : ["2"]);
      const again = await engine.next(steps[3]!.state, AGENT_PIN, bank.context(SHOP, `cx-${answer}`));
      expect(replyKeys(again)).toEqual([key]);
      expect(again.reply.lines[0]!.params).toMatchObject({ amount: { minor: "40000" } });
      expect(shop.float).toBe(answer === "1" ? 5_400_00n : 5_000_00n);
    }
  });

  it("reports behind the agent PIN: float, today's transactions, commission", async () => {
    const { bank } = setup();
    await walk(bank.context(SHOP), ["1", "0700000010", "100", AGENT_PIN]);
    const float = await walk(bank.context(SHOP), ["3", AGENT_PIN]);
    expect(float.at(-1)!.reply.lines[0]).toEqual({ key: "ag.float_result", params: { amount: { kind: "money", minor: "490000", currency: "KES" } } });
    const today = await walk(bank.context(SHOP), ["4", AGENT_PIN]);
    expect(replyKeys(today.at(-1)!)).toEqual(["ag.today_title", "ag.tx_out"]);
    const commission = await walk(bank.context(SHOP), ["5", "9999", AGENT_PIN]);
    expect(replyKeys(commission[2]!)).toEqual(["err.pin_wrong", "ag.ask_pin"]);
    expect(commission.at(-1)!.reply.lines[0]!.params).toMatchObject({ amount: { minor: FAKE_CASH_IN_COMMISSION.toString() } });
  });

  it("an agent whose number is also a customer's sees a cash-out another agent started when switching to the personal menu", async () => {
    const { bank } = setup();
    const baraka = bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831", balance: 500_00n });
    const other = bank.addAgent("+254700000031", "Other Shop", { storeNumber: "654321", pin: "7164" });
    await walk(bank.context("+254700000031"), ["2", "0700000030", "100", "7164"]);
    expect(bank.balances.get(baraka.walletAccountId)).toBe(500_00n - 100_00n - FAKE_CASH_OUT_FEE);
    const steps = await walk(bank.context(SHOP), ["6", "1", "5831"]);
    expect(replyKeys(steps[1]!)).toEqual(["co.offer", "send.fee"]);
    expect(replyKeys(steps[3]!)).toEqual(["co.approved"]);
    expect(other.float).toBe(100_00n);
  });

  it("an amount over the agent's limit may be corrected; a cash-out answered meanwhile is said to be so", async () => {
    const { bank, jane } = setup();
    let steps = await walk(bank.context(SHOP), ["1", "0700000010", "80000", "100", AGENT_PIN]);
    expect(replyKeys(steps[3]!)).toEqual(["err.limit_remaining_amount", "ci.ask_amount"]);
    expect(replyKeys(steps[5]!)).toEqual(["ci.receipt"]);
    await walk(bank.context(SHOP), ["2", "0700000010", "100", AGENT_PIN]);
    steps = await walk(bank.context(JANE), ["1"]);
    // Answered elsewhere (another session, the API) while this one waits at the PIN prompt.
    for (const p of bank.cashOuts.values()) p.state = "declined";
    const late = await engine.next(steps[1]!.state, "4827", bank.context(JANE));
    expect(replyKeys(late)).toEqual(["err.cash_out_decided"]);
    expect(late.continues).toBe(false);
    expect(bank.balances.get(jane.walletAccountId)).toBe(1_100_00n - 100_00n - FAKE_CASH_OUT_FEE);
  });

  it("a suspended agent is told so, unless the number is also a customer's, who gets the personal menu", async () => {
    const bank = new FakeBank();
    bank.addAgent(SHOP, "Baraka Shop", { active: false });
    expect(replyKeys((await walk(bank.context(SHOP), []))[0]!)).toEqual(["err.agent_unavailable"]);
    bank.addCustomer(SHOP, "Baraka Mwangi", { pin: "5831" });
    expect(replyKeys((await walk(bank.context(SHOP), []))[0]!)).toEqual(["main.title"]);
  });
});
