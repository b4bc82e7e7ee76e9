/**
 * Dial-string shortcuts over Africa's Talking, end to end in English. Dialling *384*2*0712…*250#
 * reaches us as serviceCode "*384#" with the extra segments as the first hop's text
 * ("2*0712…*250"); the menu engine starts the flow the first segment names, prefilled with the
 * others. An unknown first segment falls back to the main menu.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOnAir, openUssdRig, type UssdRig } from "../helpers/ussd-rig.js";

const SECRET = "e2e-shortcut-secret-0123456789abcdef";
const MAIN = "CON Welcome to fingate\n1. Balance\n2. Send money\n3. Mini-statement\n4. Withdraw cash\n5. Change PIN\n6. My account\n7. Language";

let rig: UssdRig;

/** Hops of one session whose first text is the dial string's extra segments, then one more input each. */
async function dial(sessionId: string, phone: string, shortcut: string, inputs: string[] = []): Promise<string[]> {
  const out: string[] = [];
  let text = shortcut;
  for (const [i, input] of ["", ...inputs].entries()) {
    if (i > 0) text = `${text}*${input}`;
    const r = await rig.post(i % 2, sessionId, phone, text);
    expect(r.status).toBe(200);
    out.push(r.text);
  }
  expectOnAir(out);
  return out;
}

beforeAll(async () => {
  rig = await openUssdRig({ code: "shortcut-bank", secret: SECRET, p2pFee: true });
});

afterAll(() => rig?.close());

describe("USSD dial-string shortcuts (Africa's Talking, PostgreSQL + Redis)", () => {
  it("*384*1# goes straight to the PIN for the balance", async () => {
    await rig.customer("+254733000001", "Jane Wanjiru", "en", "4827", 1_234_50n);
    expect(await dial("sc-bal-1", "+254733000001", "1", ["4827"])).toEqual(["CON Enter your PIN:", "END Your balance is KES 1,234.50."]);
    // A wrong PIN is asked again, as from the menu.
    expect(await dial("sc-bal-2", "+254733000001", "1", ["1111", "4827"])).toEqual([
      "CON Enter your PIN:",
      "CON Wrong PIN. Try again.\nEnter your PIN:",
      "END Your balance is KES 1,234.50.",
    ]);
  });

  it("*384*2*<number>*<amount># opens the confirmation prefilled, and the PIN sends it with a receipt", async () => {
    const payer = await rig.customer("+254733000010", "Rose Chebet", "en", "4827", 1_000_00n);
    const payee = await rig.customer("+254733000011", "Peter Otieno", "en", "5831", 0n);
    const replies = await dial("sc-send-1", "+254733000010", "2*0733000011*250", ["1", "4827"]);
    expect(replies[0]).toBe("CON Send KES 250.00 to PETER O***?\nFee KES 10.00. Total KES 260.00.\n1. Confirm\n2. Cancel");
    expect(replies[1]).toBe("CON Enter your PIN to confirm:");
    expect(replies[2]).toMatch(/^END Sent KES 250\.00 to PETER O\*\*\*\. Ref [0-9A-F]{10}\.\nFee KES 10\.00\.$/);
    expect(await rig.balance(payer.walletAccountId)).toBe(1_000_00n - 260_00n);
    expect(await rig.balance(payee.walletAccountId)).toBe(250_00n);
  });

  it("*384*2*<number># asks only for the amount; an invalid prefilled amount is asked again", async () => {
    await rig.customer("+254733000020", "Mary Akinyi", "en", "4827", 500_00n);
    await rig.customer("+254733000021", "John Kamau", "en", "5831", 0n);
    expect(await dial("sc-send-2", "+254733000020", "2*0733000021", ["2"])).toEqual([
      "CON Pay JOHN K***. Enter the amount in KES:",
      "CON Send KES 2.00 to JOHN K***?\nFee KES 0.00. Total KES 2.00.\n1. Confirm\n2. Cancel",
    ]);
    const invalid = await dial("sc-send-3", "+254733000020", "2*0733000021*12.345");
    expect(invalid[0]).toBe("CON Invalid amount. Use digits, with at most 2 decimals.\nPay JOHN K***. Enter the amount in KES:");
    const unknown = await dial("sc-send-4", "+254733000020", "2*0799999999*100", ["0733000021"]);
    expect(unknown[0]).toBe("CON This number or alias cannot be paid.\nEnter the phone number or alias to pay:");
    expect(unknown[1]).toBe("CON Pay JOHN K***. Enter the amount in KES:");
    // Segments are positional: an empty payee is asked for, the amount after it is not taken as one.
    const gap = await dial("sc-send-5", "+254733000020", "2**100", ["0733000021"]);
    expect(gap).toEqual(["CON Enter the phone number or alias to pay:", "CON Pay JOHN K***. Enter the amount in KES:"]);
  });

  it("an unknown shortcut falls back to the main menu, which then works as usual", async () => {
    await rig.customer("+254733000030", "Grace Wambui", "en", "4827", 10_00n);
    for (const [i, shortcut] of ["9", "0", "98", "00", "42*1", "toString", "__proto__"].entries()) {
      const first = await dial(`sc-unknown-${i}`, "+254733000030", shortcut, ["1", "4827"]);
      expect(first, shortcut).toEqual([MAIN, "CON Enter your PIN:", "END Your balance is KES 10.00."]);
    }
  });

  it("*384*3# opens the mini-statement; a shortcut from an unregistered number starts registration", async () => {
    await rig.customer("+254733000040", "Paul Mutua", "en", "4827", 70_00n);
    const stmt = await dial("sc-stmt-1", "+254733000040", "3", ["4827"]);
    expect(stmt[0]).toBe("CON Enter your PIN:");
    expect(stmt[1]).toMatch(/^END Last transactions:\n.* Received KES 70\.00 Ref [0-9A-F]{10}$/);
    const before = await rig.counts();
    const stranger = await dial("sc-reg-1", "+254733000049", "2*0733000040*100", ["Asha Mwangi"]);
    expect(stranger[0]).toBe("CON Welcome! This number is not registered yet.\nEnter your full name:");
    expect(stranger[1]).toBe("CON Choose your language:\n1. English\n2. Kiswahili\n3. Francais\n4. हिन्दी");
    const after = await rig.counts();
    expect(after.transfers).toBe(before.transfers);
    expect(after.customers).toBe(before.customers);
  });
});
