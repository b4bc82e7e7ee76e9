// Amounts are typed as the customer's screens show them: in French "1 500,5" is 1 500.50 and
// "1,500" (a comma before three digits) is refused for KES, never read as 1 500.
import { describe, expect, it } from "vitest";
import { FakeBank } from "../helpers/menu-fakes.js";
import { replyKeys, walk } from "../helpers/menu-walk.js";

const JANE = "+254700000010";

function setup(language: "fr" | "en") {
  const bank = new FakeBank();
  bank.addCustomer(JANE, "Jane Wanjiru", { pin: "4827", balance: 5_000_00n, language });
  bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  bank.addAgent("+254700000030", "Baraka Shop", { storeNumber: "123456", float: 5_000_00n });
  return bank;
}

describe("amounts in the customer's language", () => {
  it("send: a French customer's decimal comma", async () => {
    const bank = setup("fr");
    const sent = await walk(bank.context(JANE), ["2", "peter", "1 500,5"]);
    expect(replyKeys(sent.at(-1)!)).toEqual(["send.confirm", "send.fee"]);
    expect(sent.at(-1)!.reply.lines[0]!.params).toMatchObject({ amount: { minor: "150050" } });
    const refused = await walk(bank.context(JANE), ["2", "peter", "1,500"]);
    expect(replyKeys(refused.at(-1)!)).toEqual(["err.invalid_amount_hint", "send.ask_amount"]);
    // An English customer's "1,500" groups thousands, as before.
    const english = await walk(setup("en").context(JANE), ["2", "peter", "1,500"]);
    expect(english.at(-1)!.reply.lines[0]!.params).toMatchObject({ amount: { minor: "150000" } });
  });

  it("withdraw: a French customer's decimal comma", async () => {
    const bank = setup("fr");
    const steps = await walk(bank.context(JANE), ["4", "0700000030", "123456", "300,5"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["wd.confirm", "wd.ask_pin"]);
    expect(steps.at(-1)!.reply.lines[0]!.params).toMatchObject({ amount: { minor: "30050" } });
    const refused = await walk(bank.context(JANE), ["4", "0700000030", "123456", "1,500"]);
    expect(replyKeys(refused.at(-1)!)[0]).toBe("err.invalid_amount_hint");
  });
});
