import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { customerMenuEngine } from "../../src/menus/index.js";
import { AesGcmSealer } from "../../src/menus/adapters/sealer.js";
import { FakeBank } from "../helpers/menu-fakes.js";
import { replyKeys, walk } from "../helpers/menu-walk.js";
import { containsPin } from "../helpers/pin-leak.js";

const engine = customerMenuEngine();

describe("registration", () => {
  it("name, language, PIN twice → wallet and PIN, with nothing secret in state", async () => {
    const bank = new FakeBank();
    const ctx = bank.context("+254700000001");
    const steps = await walk(ctx, ["Jane Wanjiru", "2", "4827", "4827"]);
    expect(replyKeys(steps[0]!)).toEqual(["reg.welcome", "reg.ask_name"]);
    expect(steps[3]!.reply.secret).toBe(true);
    expect(containsPin(JSON.stringify(steps.map((s) => s.state)), "4827")).toBe(false);
    const last = steps.at(-1)!;
    expect(last.continues).toBe(false);
    expect(replyKeys(last)).toEqual(["reg.done"]);
    const c = bank.customers.get("+254700000001")!;
    expect(c.language).toBe("sw");
    expect(bank.pins.get(c.id)!.pin).toBe("4827");
    expect(last.state.data).toEqual({});
  });

  it("a registration whose PIN was not set finishes when its step is tried again, in a new session", async () => {
    const bank = new FakeBank();
    const sealer = new AesGcmSealer();
    const first = bank.context("+254700000003", "session-a", sealer);
    const typed = await walk(first, ["Jane Wanjiru", "2", "4827"]);
    const setPin = first.pins.setPin;
    first.pins.setPin = async () => {
      throw new Error("database down");
    };
    await expect(engine.next(typed.at(-1)!.state, "4827", first)).rejects.toThrow("database down");
    first.pins.setPin = setPin;
    const customer = bank.customers.get("+254700000003")!;
    expect(bank.pins.has(customer.id)).toBe(false);
    // The session resumed by the same caller under a new id: the sealed PIN still opens.
    const again = await engine.next(typed.at(-1)!.state, "4827", bank.context("+254700000003", "session-b", sealer));
    expect(replyKeys(again)).toEqual(["reg.done"]);
    expect(bank.pins.get(customer.id)!.pin).toBe("4827");
    // Once the PIN is set, the same step cannot set another.
    const third = await engine.next(typed.at(-1)!.state, "4827", bank.context("+254700000003", "session-c", sealer));
    expect(replyKeys(third)).toEqual(["err.already_registered"]);
    expect(bank.customers.size).toBe(1);
  });

  it("finishing a registration never sets a PIN for another bank's customer or a blocked one", async () => {
    const bank = new FakeBank();
    const sealer = new AesGcmSealer();
    for (const [msisdn, change] of [
      ["+254700000006", { institutionId: randomUUID() }],
      ["+254700000007", { active: false }],
    ] as const) {
      const typed = await walk(bank.context(msisdn, "session-a", sealer), ["Jane Wanjiru", "2", "4827"]);
      const c = bank.addCustomer(msisdn, "Someone Else");
      bank.customers.set(msisdn, { ...c, ...change });
      const done = await engine.next(typed.at(-1)!.state, "4827", bank.context(msisdn, "session-b", sealer));
      expect(replyKeys(done)).toEqual(["err.already_registered"]);
      expect(bank.pins.has(c.id)).toBe(false);
    }
  });

  it("a new PIN sealed in one session opens only for the same caller when resumed in another", async () => {
    const bank = new FakeBank();
    bank.addCustomer("+254700000004", "Ali Hassan", { pin: "4827" });
    const sealer = new AesGcmSealer();
    const typed = await walk(bank.context("+254700000004", "session-a", sealer), ["5", "7391"]);
    const resumed = await engine.next(typed.at(-1)!.state, "7391", bank.context("+254700000004", "session-b", sealer));
    expect(replyKeys(resumed)).toEqual(["cp.ask_old"]);
    const done = await engine.next(resumed.state, "4827", bank.context("+254700000004", "session-b", sealer));
    expect(replyKeys(done)).toEqual(["cp.done"]);
    // Another number holding that state cannot open the sealed PIN: asked to type it again.
    bank.addCustomer("+254700000005", "Other Person", { pin: "4827" });
    const stolen = await engine.next({ ...typed.at(-1)!.state, customer: bank.customers.get("+254700000005")! }, "7391", bank.context("+254700000005", "session-c", sealer));
    expect(replyKeys(stolen)).toEqual(["err.pin_mismatch", "cp.ask_new"]);
  });

  it("asks again when the PINs differ, and refuses weak PINs", async () => {
    const bank = new FakeBank();
    const steps = await walk(bank.context("+254700000002"), ["Ali Hassan", "1", "1234", "4827", "4828"]);
    expect(replyKeys(steps[3]!)).toEqual(["err.pin_weak", "reg.ask_pin"]);
    expect(replyKeys(steps[5]!)).toEqual(["err.pin_mismatch", "reg.ask_pin"]);
    expect(bank.customers.has("+254700000002")).toBe(false);
  });

  it("tells a caller whose number cannot be a customer's mobile so at once, and registers nothing", async () => {
    const bank = new FakeBank();
    // "712345678" sent without its country code reads as +7 (Kazakhstan), where it is no number at all.
    for (const msisdn of ["+712345678", "+254201234567"]) {
      const steps = await walk(bank.context(msisdn), []);
      expect(replyKeys(steps[0]!), msisdn).toEqual(["reg.number_unsupported"]);
      expect(steps[0]!.continues).toBe(false);
      expect(bank.customers.has(msisdn)).toBe(false);
    }
  });

  it("refuses at once a name with digits, or any the directory would refuse", async () => {
    const bank = new FakeBank();
    for (const name of ["1234", "Amina {{t}}", "Amina '; DROP TABLE customers;--", "J", "аdmin Smith"]) {
      const steps = await walk(bank.context("+254700000003"), [name]);
      expect(replyKeys(steps[1]!), name).toEqual(["err.name_invalid", "reg.ask_name"]);
    }
    const steps = await walk(bank.context("+254700000003"), ["  Amina   O’Brien "]);
    expect(replyKeys(steps[1]!)).toEqual(["reg.ask_language"]);
    expect(steps[1]!.state.data.name).toBe("Amina O'Brien");
  });
});

describe("customer menus", () => {
  function setup() {
    const bank = new FakeBank();
    const payer = bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 500_00n });
    const payee = bank.addCustomer("+254700000020", "Peter Otieno", { pin: "5831", alias: "peter.o" });
    return { bank, payer, payee };
  }

  it("reads the balance beside the PIN check, and a wrong PIN still answers as a wrong PIN when that read fails", async () => {
    const { bank } = setup();
    const ctx = bank.context("+254700000010");
    const order: string[] = [];
    const { pins, accounts } = ctx;
    ctx.pins = {
      ...pins,
      verifyPin: async (c, pin) => {
        order.push("pin checked");
        return pins.verifyPin(c, pin);
      },
    };
    let fail = true;
    ctx.accounts = {
      ...accounts,
      balance: async (c) => {
        order.push("balance read");
        if (fail) throw new Error("database down");
        return accounts.balance(c);
      },
    };
    const wrong = await walk(ctx, ["1", "1111"]);
    expect(replyKeys(wrong[2]!)).toEqual(["err.pin_wrong", "bal.ask_pin"]);
    expect(order).toEqual(["balance read", "pin checked"]);
    fail = false;
    const right = await walk(ctx, ["1", "4827"]);
    expect(right[2]!.reply.lines[0]).toEqual({ key: "bal.result", params: { amount: { kind: "money", minor: "50000", currency: "KES" } } });
  });

  it("main menu, balance with PIN", async () => {
    const { bank } = setup();
    const steps = await walk(bank.context("+254700000010"), ["1", "4827"]);
    expect(steps[0]!.reply.options?.map((o) => o.label.key)).toEqual([
      "main.balance",
      "main.send",
      "main.statement",
      "main.withdraw",
      "main.change_pin",
      "main.account",
      "main.language",
    ]);
    expect(steps[1]!.reply.secret).toBe(true);
    expect(steps[2]!.reply.lines[0]).toEqual({ key: "bal.result", params: { amount: { kind: "money", minor: "50000", currency: "KES" } } });
    expect(steps[2]!.continues).toBe(false);
  });

  it("wrong PIN asks again; the third locks and ends", async () => {
    const { bank } = setup();
    const steps = await walk(bank.context("+254700000010"), ["1", "1111", "2222", "3333"]);
    expect(replyKeys(steps[2]!)).toEqual(["err.pin_wrong", "bal.ask_pin"]);
    expect(replyKeys(steps[4]!)).toEqual(["err.pin_locked"]);
    expect(steps[4]!.continues).toBe(false);
  });

  it("a change of PIN that ends on a lock keeps nothing of the new PIN, not even sealed", async () => {
    const { bank } = setup();
    const steps = await walk(bank.context("+254700000010"), ["5", "5927", "5927", "1111", "2222", "3333"]);
    expect(steps[3]!.state.data.pin).toBeDefined(); // sealed between the new PIN and the current one
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.pin_locked"]);
    expect(steps.at(-1)!.continues).toBe(false);
    expect(steps.at(-1)!.state.data).toEqual({});
  });

  it("sends money by alias: masked name, amount, fee, PIN, receipt — once", async () => {
    const { bank, payee } = setup();
    const ctx = bank.context("+254700000010", "session-1");
    const steps = await walk(ctx, ["2", "peter.o", "150", "1", "4827"]);
    expect(steps[2]!.reply.lines[0]!.params).toMatchObject({ name: "PETER" });
    expect(replyKeys(steps[3]!)).toEqual(["send.confirm", "send.fee"]);
    expect(steps[4]!.reply.secret).toBe(true);
    expect(replyKeys(steps[5]!)).toEqual(["send.receipt", "send.receipt_fee"]);
    expect(bank.balances.get(payee.walletAccountId)).toBe(150_00n);
    // The same PIN hop replayed (an aggregator retry) posts nothing more.
    await engine.next(steps[4]!.state, "4827", ctx);
    expect(bank.balances.get(payee.walletAccountId)).toBe(150_00n);
    expect(bank.sends.size).toBe(1);
  });

  it("asks which instrument pays when the customer has several, and pays from the one chosen", async () => {
    const { bank, payer, payee } = setup();
    const salary = randomUUID();
    bank.instruments.set(payer.id, [
      { id: payer.walletAccountId, alias: "wallet", isDefault: true },
      { id: salary, alias: "salary", isDefault: false },
    ]);
    bank.balances.set(salary, 1_000_00n);
    const ctx = bank.context("+254700000010", "session-src");
    const steps = await walk(ctx, ["2", "peter.o", "150", "3", "2", "1", "4827"]);
    expect(replyKeys(steps[3]!)).toEqual(["send.ask_source"]);
    expect(steps[3]!.reply.options?.map((o) => o.label)).toEqual([
      { key: "acct.instrument_default", params: { name: "wallet" } },
      { key: "acct.instrument", params: { name: "salary" } },
    ]);
    expect(replyKeys(steps[4]!)).toEqual(["err.invalid_choice", "send.ask_source"]);
    expect(replyKeys(steps[5]!)).toEqual(["send.confirm", "send.fee", "send.from"]);
    expect(steps[5]!.reply.lines[2]!.params).toEqual({ name: "salary" });
    // The offered list is not kept past the choice; the chosen instrument is.
    expect(steps[5]!.state.data).toMatchObject({ from: salary, fromName: "salary" });
    expect(steps[5]!.state.data.offered).toBeUndefined();
    expect(replyKeys(steps.at(-1)!)).toEqual(["send.receipt", "send.receipt_fee"]);
    expect([...bank.sends.values()]).toEqual([{ amountMinor: 150_00n, to: payee.walletAccountId, from: salary }]);
    expect(bank.balances.get(salary)).toBe(1_000_00n - 160_00n);
    expect(bank.balances.get(payer.walletAccountId)).toBe(500_00n);
  });

  it("an instrument removed between the list and the choice is not paid from: the list is shown again", async () => {
    const { bank, payer } = setup();
    const card = randomUUID();
    bank.instruments.set(payer.id, [
      { id: payer.walletAccountId, alias: "wallet", isDefault: true },
      { id: card, alias: "card", isDefault: false },
      { id: randomUUID(), alias: "salary", isDefault: false },
    ]);
    const ctx = bank.context("+254700000010");
    const listed = await walk(ctx, ["2", "peter.o", "150"]);
    bank.instruments.set(payer.id, bank.instruments.get(payer.id)!.filter((i) => i.id !== card));
    const again = await engine.next(listed.at(-1)!.state, "2", ctx);
    expect(replyKeys(again)).toEqual(["err.invalid_choice", "send.ask_source"]);
    expect(again.reply.options?.map((o) => o.label.params?.name)).toEqual(["wallet", "salary"]);
    expect(bank.sends.size).toBe(0);
  });

  it("a wallet removed after it was chosen pays nothing, and the caller is told so", async () => {
    const { bank, payer } = setup();
    const savings = randomUUID();
    bank.instruments.set(payer.id, [
      { id: payer.walletAccountId, alias: "wallet", isDefault: true },
      { id: savings, alias: "savings", isDefault: false },
    ]);
    bank.balances.set(savings, 1_000_00n);
    const ctx = bank.context("+254700000010");
    const chosen = await walk(ctx, ["2", "peter.o", "150", "2", "1"]);
    bank.instruments.set(payer.id, bank.instruments.get(payer.id)!.filter((i) => i.id !== savings));
    const paid = await engine.next(chosen.at(-1)!.state, "4827", ctx);
    expect(replyKeys(paid)).toEqual(["send.source_gone"]);
    expect(paid.continues).toBe(false);
    expect(bank.sends.size).toBe(0);
  });

  it("offers every one of a customer's ten wallets, by one- and two-digit choices, in both lists", async () => {
    const { bank, payer, payee } = setup();
    const wallets = Array.from({ length: 10 }, (_, n) => ({ id: n === 0 ? payer.walletAccountId : randomUUID(), alias: `w${n + 1}`, isDefault: n === 0 }));
    bank.instruments.set(payer.id, wallets);
    bank.balances.set(wallets[9]!.id, 1_000_00n);
    const ctx = bank.context("+254700000010", "session-ten");
    const steps = await walk(ctx, ["2", "peter.o", "150", "11", "10", "1", "4827"]);
    expect(steps[3]!.reply.options?.map((o) => o.choice)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    expect(replyKeys(steps[4]!)).toEqual(["err.invalid_choice", "send.ask_source"]);
    expect(steps[5]!.reply.lines[2]!.params).toEqual({ name: "w10" });
    expect([...bank.sends.values()]).toEqual([{ amountMinor: 150_00n, to: payee.walletAccountId, from: wallets[9]!.id }]);

    const account = await walk(bank.context("+254700000010"), ["6", "3", "10"]);
    expect(account[2]!.reply.options).toHaveLength(10);
    expect(account.at(-1)!.reply.lines[0]).toEqual({ key: "acct.default_set", params: { name: "w10" } });
    for (const bad of ["11", "01", "0", "1 "]) {
      const refused = await walk(bank.context("+254700000010"), ["6", "3", bad]);
      expect(refused.at(-1)!.reply.lines[0]!.key).toBe("err.invalid_choice");
    }
  });

  it("a gateway without the agents port offers no cash withdrawal, by menu or by shortcut", async () => {
    const { bank } = setup();
    const { agents: _agents, ...ctx } = bank.context("+254700000010");
    const steps = await walk(ctx, ["4"]);
    expect(steps[0]!.reply.options?.map((o) => o.choice)).toEqual(["1", "2", "3", "5", "6", "7"]);
    expect(replyKeys(steps[1]!)).toEqual(["err.invalid_choice", "main.title"]);
    const shortcut = await walk(ctx, [], ["4"]);
    expect(replyKeys(shortcut[0]!)).toEqual(["main.title"]);
    expect(shortcut[0]!.continues).toBe(true);
  });

  it("a customer with one instrument goes straight from the amount to the confirmation", async () => {
    const { bank } = setup();
    const steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "150"]);
    expect(replyKeys(steps[3]!)).toEqual(["send.confirm", "send.fee"]);
    expect(steps[3]!.state.data.from).toBeUndefined();
  });

  it("clear refusals: unknown payee, invalid amount, self, insufficient funds, SIM swap", async () => {
    const { bank } = setup();
    let steps = await walk(bank.context("+254700000010"), ["2", "nobody.here", "0700000020", "abc", "0", "1.234"]);
    expect(replyKeys(steps[2]!)[0]).toBe("err.payee_cannot_pay");
    expect(replyKeys(steps[4]!)[0]).toBe("err.invalid_amount_hint");
    expect(replyKeys(steps[5]!)[0]).toBe("err.invalid_amount_hint");
    expect(replyKeys(steps[6]!)[0]).toBe("err.invalid_amount_hint");
    steps = await walk(bank.context("+254700000010"), ["2", "+254700000010"]);
    expect(replyKeys(steps[2]!)[0]).toBe("err.self_payment");
    steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "10000", "1", "4827"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.insufficient_funds"]);
    bank.cooling.add("+254700000010");
    steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "100"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.sim_swap_cooling_until"]);
    expect(steps.at(-1)!.continues).toBe(false);
    steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "2000000"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.limit_remaining", "send.ask_amount"]);
  });

  it("a limit with nothing left ends the session saying so, instead of asking for amounts it would refuse", async () => {
    const { bank } = setup();
    bank.sendRoomMinor = 40_00n;
    let steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "50"]);
    expect(steps.at(-1)!.reply.lines[0]).toEqual({ key: "err.limit_remaining", params: { remaining: { kind: "money", minor: "4000", currency: "KES" } } });
    expect(steps.at(-1)!.continues).toBe(true);
    bank.sendRoomMinor = 0n;
    steps = await walk(bank.context("+254700000010"), ["2", "peter.o", "50"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.limit_reached"]);
    expect(steps.at(-1)!.continues).toBe(false);
    expect(bank.sends.size).toBe(0);
  });

  it("shortcuts: *384*1# → balance, *384*2*number*amount# → confirmation, unknown → main menu", async () => {
    const { bank } = setup();
    expect(replyKeys((await walk(bank.context("+254700000010"), [], ["1"]))[0]!)).toEqual(["bal.ask_pin"]);
    const prefilled = (await walk(bank.context("+254700000010"), [], ["2", "0700000020", "25"]))[0]!;
    expect(replyKeys(prefilled)).toEqual(["send.confirm", "send.fee"]);
    expect(replyKeys((await walk(bank.context("+254700000010"), [], ["77"]))[0]!)).toEqual(["main.title"]);
  });

  it("mini-statement, change PIN, language, home", async () => {
    const { bank, payer } = setup();
    bank.history.set(payer.walletAccountId, [{ direction: "in", amountMinor: 5_00n, at: new Date(), reference: "REF1" }]);
    let steps = await walk(bank.context("+254700000010"), ["3", "4827"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["stmt.title", "stmt.in"]);
    steps = await walk(bank.context("+254700000010"), ["5", "5927", "5927", "4827"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["cp.done"]);
    for (const pin of ["5927", "4827"]) expect(containsPin(JSON.stringify(steps.map((s) => s.state)), pin)).toBe(false);
    expect(bank.pins.get(payer.id)!.pin).toBe("5927");
    steps = await walk(bank.context("+254700000010"), ["7", "4"]);
    expect(steps.at(-1)!.state.lang).toBe("hi");
    expect(bank.customers.get("+254700000010")!.language).toBe("hi");
    steps = await walk(bank.context("+254700000010"), ["2", "00"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["main.title"]);
  });

  it("limits: input length and stages per session", async () => {
    const { bank } = setup();
    let steps = await walk(bank.context("+254700000010"), ["x".repeat(65)]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.input_too_long"]);
    steps = await walk(bank.context("+254700000010"), ["9", "9", "9", "9", "9", "9", "9", "9", "9"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["err.too_many_stages"]);
    expect(steps.at(-1)!.continues).toBe(false);
  });

  it("a blocked customer is told so and nothing else", async () => {
    const { bank } = setup();
    const c = bank.customers.get("+254700000010")!;
    bank.customers.set(c.msisdn, { ...c, active: false });
    const steps = await walk(bank.context("+254700000010"), []);
    expect(replyKeys(steps[0]!)).toEqual(["err.account_frozen"]);
    expect(steps[0]!.continues).toBe(false);
  });

  it("my account: list and claim aliases, choose the default instrument", async () => {
    const { bank, payer } = setup();
    let steps = await walk(bank.context("+254700000010"), ["6", "1"]);
    expect(replyKeys(steps.at(-1)!)).toEqual(["acct.no_aliases"]);
    steps = await walk(bank.context("+254700000010"), ["6", "2", "peter.o", "9bad", "jane.w"]);
    expect(replyKeys(steps[3]!)).toEqual(["err.alias_taken", "acct.ask_alias"]);
    expect(replyKeys(steps[4]!)).toEqual(["err.alias_invalid", "acct.ask_alias"]);
    expect(steps.at(-1)!.reply.lines[0]).toEqual({ key: "acct.alias_claimed", params: { alias: "jane.w" } });
    steps = await walk(bank.context("+254700000010"), ["6", "1"]);
    expect(steps.at(-1)!.reply.lines[0]).toEqual({ key: "acct.alias_list", params: { aliases: "jane.w" } });
    bank.instruments.set(payer.id, [
      { id: "i-wallet", alias: "wallet", isDefault: true },
      { id: "i-salary", alias: "salary", isDefault: false },
    ]);
    steps = await walk(bank.context("+254700000010"), ["6", "3", "2"]);
    expect(steps[2]!.reply.options?.map((o) => o.label.key)).toEqual(["acct.instrument_default", "acct.instrument"]);
    expect(steps.at(-1)!.reply.lines[0]).toEqual({ key: "acct.default_set", params: { name: "salary" } });
    expect(bank.instruments.get(payer.id)!.find((i) => i.isDefault)!.alias).toBe("salary");
    // A session saved before the list kept tails (whole ids under `ids`) still works.
    const listed = await walk(bank.context("+254700000010"), ["6", "3"]);
    const saved = { ...listed.at(-1)!.state, data: { ids: "i-wallet,i-salary" } };
    const old = await engine.next(saved, "1", bank.context("+254700000010"));
    expect(old.reply.lines[0]).toEqual({ key: "acct.default_set", params: { name: "wallet" } });
  });
});

describe("prototype names as input", () => {
  it("are plain invalid input everywhere", async () => {
    const bank = new FakeBank();
    bank.addCustomer("+254700000010", "Jane Wanjiru", { pin: "4827", balance: 5_00n });
    for (const word of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      const steps = await walk(bank.context("+254700000010"), [word]);
      expect(replyKeys(steps.at(-1)!)).toEqual(["err.invalid_choice", "main.title"]);
      const shortcut = await walk(bank.context("+254700000010"), [], [word]);
      expect(replyKeys(shortcut[0]!)).toEqual(["main.title"]);
    }
  });
});
