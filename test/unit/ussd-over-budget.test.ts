// A hop past the aggregator's budget answers END at once, and what it says must stay true whatever
// the hops still running do next. The dangerous case is a retry: the aggregator gives up on a slow
// PIN hop of a payment and sends it again; the retry waits behind the original (here in the
// per-session queue, or on another instance in the store's lock) while the original posts.
import { describe, expect, it } from "vitest";
import { createTranslator } from "../../src/infra/i18n/index.js";
import { MemorySessionStore, type SessionStore } from "../../src/menus/engine/session-store.js";
import type { Language } from "../../src/menus/index.js";
import { createUssdChannel } from "../../src/ussd/channel.js";
import type { HopLimits, HopRequest } from "../../src/ussd/hop-types.js";
import { renderMessage } from "../../src/ussd/render.js";
import { FakeBank } from "../helpers/menu-fakes.js";

const SECRET = "at-shared-secret-0123456789";
const PAYER = "+254700000010";
const PIN_HOP = "2*peter*100*1*4827";
const PAYMENT_UNKNOWN = "We could not confirm your payment. Check your balance before trying again.";
const BUSY = "We are still working on your last request. Please dial again shortly.";
const UNAVAILABLE = "Service unavailable. No money was moved. Please try later.";
const OUTCOME_UNKNOWN = "We could not confirm that your request went through. Dial again to check.";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bank whose payments wait at a gate the test opens. */
function slowBank(language: Language = "en") {
  const bank = new FakeBank();
  bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n, language });
  const payee = bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
  const ports = bank.ports();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const send = ports.payments.send.bind(ports.payments);
  let sending = 0;
  ports.payments.send = async (input) => {
    sending++;
    await gate;
    return send(input);
  };
  return { bank, payee, ports, open, sending: () => sending };
}

function channelOver(bank: FakeBank, ports: ReturnType<FakeBank["ports"]>, sessions: SessionStore, limits: Partial<HopLimits>) {
  return createUssdChannel({
    ports,
    institutionId: bank.institutionId,
    sessions,
    secretKey: Buffer.alloc(32, 7),
    aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }],
    logger: { info() {}, warn() {}, error() {} },
    hopLimits: limits,
  });
}

const hopOf = (sessionId: string, text: string): HopRequest => ({
  aggregator: "at",
  sessionId,
  msisdn: PAYER,
  serviceCode: "*384#",
  mode: "cumulative",
  text,
  hopKey: text,
});

describe("a hop over budget while a payment of its session is under way", () => {
  it("a retry queued in this process behind the PIN hop that posts says to check the balance, not that no money moved", async () => {
    const { bank, payee, ports, open, sending } = slowBank();
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await channel.hops.handle(hopOf("q1", text));
    const original = channel.hops.handle(hopOf("q1", PIN_HOP));
    await sleep(50);
    expect(sending()).toBe(1);
    const retry = channel.hops.handle(hopOf("q1", PIN_HOP)); // the aggregator gave up on the original
    expect(await original).toEqual({ end: true, text: PAYMENT_UNKNOWN });
    expect(await retry).toEqual({ end: true, text: PAYMENT_UNKNOWN });
    open();
    await channel.hops.drain();
    // The original posted: "no money was moved" would have been false.
    expect(bank.sends.size).toBe(1);
    expect(bank.balances.get(payee.walletAccountId)).toBe(100_00n);
    // Once it is over, the next retry tells the outcome.
    expect((await channel.hops.handle(hopOf("q1", PIN_HOP))).text).toMatch(/^Sent KES 100\.00 to PETER/);
  });

  it("a retry on another instance, still waiting for the session's lock at its deadline, claims nothing about money", async () => {
    const { bank, ports, open } = slowBank();
    const sessions = new MemorySessionStore();
    // The wait for another instance's lock outlasts the budget, so the budget ends it.
    const limits = { hopBudgetMs: 150, lockWaitMs: 2_000 };
    const first = channelOver(bank, ports, sessions, limits);
    const second = channelOver(bank, ports, sessions, limits);
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await first.hops.handle(hopOf("q2", text));
    const original = first.hops.handle(hopOf("q2", PIN_HOP));
    await sleep(50);
    const retry = await second.hops.handle(hopOf("q2", PIN_HOP));
    expect(retry).toEqual({ end: true, text: BUSY });
    expect(retry.text).not.toContain("No money was moved");
    expect((await original).text).toBe(PAYMENT_UNKNOWN);
    open();
    await Promise.all([first.hops.drain(), second.hops.drain()]);
    expect(bank.sends.size).toBe(1);
  });

  it("a hop over budget that holds the lock and runs no money step still says no money was moved", async () => {
    const bank = new FakeBank();
    bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const ports = bank.ports();
    const balance = ports.accounts.balance.bind(ports.accounts);
    ports.accounts.balance = async (c) => {
      await sleep(400);
      return balance(c);
    };
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    for (const text of ["", "1"]) await channel.hops.handle(hopOf("q3", text));
    expect(await channel.hops.handle(hopOf("q3", "1*4827"))).toEqual({ end: true, text: UNAVAILABLE });
    await channel.hops.drain();
  });

  it("the answer to a resume offer of a payment's PIN step runs no money step: over budget, no money was moved", async () => {
    const bank = new FakeBank();
    bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    bank.addCustomer("+254700000020", "Peter Otieno", { alias: "peter" });
    const ports = bank.ports();
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    // Interrupted at the PIN prompt of a payment; the next dial is offered to continue.
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await channel.hops.handle(hopOf("q4", text));
    expect((await channel.hops.handle(hopOf("q5", ""))).text).toMatch(/^You were interrupted/);
    // "Start again" reads who is calling anew; that read is slow.
    const find = ports.directory.findByMsisdn.bind(ports.directory);
    ports.directory.findByMsisdn = async (m, i) => {
      await sleep(400);
      return find(m, i);
    };
    expect(await channel.hops.handle(hopOf("q5", "2"))).toEqual({ end: true, text: UNAVAILABLE });
    await channel.hops.drain();
    expect(bank.sends.size).toBe(0);
  });
});

describe("a hop over budget at a step that writes something other than money", () => {
  it("a PIN change still under way is not answered 'service unavailable': its outcome is unknown, and the change goes through", async () => {
    const bank = new FakeBank();
    const payer = bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const ports = bank.ports();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const change = ports.pins.changePin.bind(ports.pins);
    ports.pins.changePin = async (...args) => {
      await gate;
      return change(...args);
    };
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    for (const text of ["", "5", "5*7391", "5*7391*7391"]) await channel.hops.handle(hopOf("w1", text));
    expect(await channel.hops.handle(hopOf("w1", "5*7391*7391*4827"))).toEqual({ end: true, text: OUTCOME_UNKNOWN });
    open();
    await channel.hops.drain();
    expect(bank.pins.get(payer.id)!.pin).toBe("7391");
  });

  it("registration's last step (the customer and the PIN are written) past the budget says the same", async () => {
    const bank = new FakeBank();
    const ports = bank.ports();
    const register = ports.directory.register.bind(ports.directory);
    ports.directory.register = async (input) => {
      await sleep(400);
      return register(input);
    };
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    for (const text of ["", "Jane Wanjiru", "Jane Wanjiru*1", "Jane Wanjiru*1*7391"]) await channel.hops.handle(hopOf("w2", text));
    expect(await channel.hops.handle(hopOf("w2", "Jane Wanjiru*1*7391*7391"))).toEqual({ end: true, text: OUTCOME_UNKNOWN });
    await channel.hops.drain();
    expect(bank.customers.get(PAYER)).toBeDefined();
  });
});

describe("a hop that fails at a step that writes", () => {
  it("a PIN change whose answer is lost to a failure (the change made) is not told 'no money was moved, try later'", async () => {
    const bank = new FakeBank();
    const payer = bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n });
    const ports = bank.ports();
    const change = ports.pins.changePin.bind(ports.pins);
    ports.pins.changePin = async (...args) => {
      await change(...args);
      throw new Error("connection reset after the commit");
    };
    const channel = channelOver(bank, ports, new MemorySessionStore(), {});
    for (const text of ["", "5", "5*7391", "5*7391*7391"]) await channel.hops.handle(hopOf("w3", text));
    expect(await channel.hops.handle(hopOf("w3", "5*7391*7391*4827"))).toEqual({ end: true, text: OUTCOME_UNKNOWN });
    await channel.hops.drain();
    expect(bank.pins.get(payer.id)!.pin).toBe("7391");
  });
});

describe("a hop's own answers are in the customer's language, not the institution's", () => {
  const t = createTranslator();
  const sw = (key: string) => ({ end: true, text: renderMessage(t, "sw", { key }) });

  it("a Kiswahili customer whose PIN hop overruns the budget, and the retry queued behind it, are told to check the balance in Kiswahili", async () => {
    const { bank, ports, open } = slowBank("sw");
    const channel = channelOver(bank, ports, new MemorySessionStore(), { hopBudgetMs: 150 });
    for (const text of ["", "2", "2*peter", "2*peter*100"]) await channel.hops.handle(hopOf("l1", text));
    expect((await channel.hops.handle(hopOf("l1", "2*peter*100*1"))).text).toContain(renderMessage(t, "sw", { key: "send.ask_pin" }));
    const original = channel.hops.handle(hopOf("l1", PIN_HOP));
    await sleep(50);
    const retry = channel.hops.handle(hopOf("l1", PIN_HOP));
    expect(await original).toEqual(sw("err.payment_unknown"));
    expect(await retry).toEqual(sw("err.payment_unknown"));
    open();
    await channel.hops.drain();
    expect(bank.sends.size).toBe(1);
  });

  it("a retry on another instance that never gets the lock says 'still working' in Kiswahili", async () => {
    const { bank, ports, open } = slowBank("sw");
    const sessions = new MemorySessionStore();
    const limits = { hopBudgetMs: 300, lockWaitMs: 100 };
    const first = channelOver(bank, ports, sessions, limits);
    const second = channelOver(bank, ports, sessions, limits);
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await first.hops.handle(hopOf("l2", text));
    const original = first.hops.handle(hopOf("l2", PIN_HOP));
    await sleep(50);
    expect(await second.hops.handle(hopOf("l2", PIN_HOP))).toEqual(sw("err.busy"));
    // Another number on the same session id learns nothing of it, not even its language.
    expect(await second.hops.handle({ ...hopOf("l2", PIN_HOP), msisdn: "+254700000099" })).toEqual({ end: true, text: BUSY });
    open();
    await original;
    await Promise.all([first.hops.drain(), second.hops.drain()]);
  });

  it("a hop that fails answers 'unavailable' in Kiswahili", async () => {
    const bank = new FakeBank();
    bank.addCustomer(PAYER, "Jane Wanjiru", { pin: "4827", balance: 1_000_00n, language: "sw" });
    const ports = bank.ports();
    ports.accounts.balance = async () => {
      throw new Error("ledger down");
    };
    const channel = channelOver(bank, ports, new MemorySessionStore(), {});
    for (const text of ["", "1"]) await channel.hops.handle(hopOf("l3", text));
    expect(await channel.hops.handle(hopOf("l3", "1*4827"))).toEqual(sw("err.unavailable"));
    await channel.hops.drain();
  });
});

describe("the end of a session whose queue is full", () => {
  it("is not dropped in silence: endSession fails (the aggregator's notice is then retried), and applies once the queue drains", async () => {
    const ended: string[] = [];
    const { bank, ports, open } = slowBank();
    const channel = createUssdChannel({
      ports,
      institutionId: bank.institutionId,
      sessions: new MemorySessionStore(),
      secretKey: Buffer.alloc(32, 7),
      aggregators: [{ name: "at", dialect: "africastalking", secret: SECRET }],
      logger: { info() {}, warn() {}, error() {} },
      hopLimits: { hopBudgetMs: 100 },
      onSessionEnd: async (s) => void ended.push(s.endReason),
    });
    for (const text of ["", "2", "2*peter", "2*peter*100", "2*peter*100*1"]) await channel.hops.handle(hopOf("f1", text));
    await channel.hops.drain(); // a hop answers before its commit: let the last one finish
    // The PIN hop's payment waits, and seven retries of it queue behind it: the session's queue is full.
    const queued = Array.from({ length: 8 }, () => channel.hops.handle(hopOf("f1", PIN_HOP)));
    await expect(channel.hops.endSession("at", "f1", "abort")).rejects.toThrow(/busy/);
    open();
    await Promise.all(queued);
    await channel.hops.drain();
    // The payment's END metered the session; the notice retried now finds it closed and adds nothing.
    await channel.hops.endSession("at", "f1", "abort");
    await channel.hops.drain();
    expect(ended).toEqual(["end"]);
    expect(bank.sends.size).toBe(1);
  });
});
