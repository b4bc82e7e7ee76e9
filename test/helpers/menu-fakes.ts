/** In-memory fakes of the menu ports, for unit tests of flows and the USSD channel. */
import { randomUUID } from "node:crypto";
import type { MenuPorts } from "../../src/menus/adapters/index.js";
import { AesGcmSealer } from "../../src/menus/adapters/sealer.js";
import {
  DEFAULT_MENU_LIMITS,
  type AgentOutcome,
  type AgentRef,
  type AgentsPort,
  type CustomerRef,
  type Language,
  type MenuContext,
  type PayeeRef,
  type Refusal,
  type Result,
  type StatementLine,
} from "../../src/menus/index.js";

const OK: Result<null> = { ok: true, value: null };

/** A name as menus show it to the other party: the first word, in capitals. */
const shortName = (name: string) => name.split(" ")[0]!.toUpperCase();

export interface FakeAgent {
  ref: AgentRef;
  name: string;
  pin: string;
  failures: number;
  float: bigint;
  commission: bigint;
}

export interface FakeCashOut {
  pendingId: string;
  agent: FakeAgent;
  customerId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  state: "pending" | "approved" | "declined";
  /** False for a record whose hold the ledger never made (a process died before settling it): counted as awaiting, never offered. */
  held?: boolean;
}

/** Fakes' fee schedule: cash-in is free (the agent earns KES 5), a cash-out costs the customer KES 10. */
export const FAKE_CASH_OUT_FEE = 10_00n;
export const FAKE_CASH_IN_COMMISSION = 5_00n;

export class FakeBank {
  readonly customers = new Map<string, CustomerRef>();
  readonly aliases = new Map<string, string>();
  readonly pins = new Map<string, { pin: string; failures: number }>();
  readonly balances = new Map<string, bigint>();
  readonly sends = new Map<string, { amountMinor: bigint; to: string; from: string }>();
  readonly history = new Map<string, StatementLine[]>();
  readonly cooling = new Set<string>();
  /** Per customer id; an instrument's id is also its balance's key (the wallet's is walletAccountId). */
  readonly instruments = new Map<string, Array<{ id: string; alias: string; isDefault: boolean }>>();
  readonly institutionId = randomUUID();
  readonly agents = new Map<string, FakeAgent>();
  readonly cashOuts = new Map<string, FakeCashOut>();
  /** An agent's cash-out request id → its pending id. */
  readonly cashOutOfRequest = new Map<string, string>();
  /** Money moves by request id: a replayed id answers the first outcome and moves nothing. */
  readonly agentMoves = new Map<string, AgentOutcome>();
  /** Set to make the next port call throw (a dependency outage). */
  failNext = false;
  /** What the payer may still send today, when a test sets it (the quote refuses more). */
  sendRoomMinor: bigint | null = null;

  addCustomer(msisdn: string, name: string, opts: { pin?: string; balance?: bigint; language?: Language; alias?: string } = {}): CustomerRef {
    const c: CustomerRef = {
      id: randomUUID(),
      institutionId: this.institutionId,
      msisdn,
      walletAccountId: randomUUID(),
      currency: "KES",
      language: opts.language ?? "en",
      displayName: name,
      active: true,
    };
    this.customers.set(msisdn, c);
    if (opts.pin) this.pins.set(c.id, { pin: opts.pin, failures: 0 });
    this.balances.set(c.walletAccountId, opts.balance ?? 0n);
    if (opts.alias) this.aliases.set(opts.alias.toLowerCase(), msisdn);
    return c;
  }

  addAgent(msisdn: string, name: string, opts: { storeNumber?: string; pin?: string; float?: bigint; active?: boolean } = {}): FakeAgent {
    const agent: FakeAgent = {
      ref: { id: randomUUID(), institutionId: this.institutionId, msisdn, storeNumber: opts.storeNumber ?? "123456", currency: "KES", active: opts.active ?? true },
      name,
      pin: opts.pin ?? "6253",
      failures: 0,
      float: opts.float ?? 0n,
      commission: 0n,
    };
    this.agents.set(msisdn, agent);
    return agent;
  }

  context(msisdn: string, sessionId: string = randomUUID(), sealer = new AesGcmSealer()): MenuContext {
    return makeContext(this, msisdn, sessionId, sealer);
  }

  /** The ports a USSD channel is built on (createUssdChannel's `ports`), over this bank. */
  ports(): MenuPorts {
    const ctx = this.context("+254700000000");
    return { directory: ctx.directory, pins: ctx.pins, accounts: ctx.accounts, payments: ctx.payments, simSwap: ctx.simSwap, agents: ctx.agents };
  }

  /** Throws once when failNext is set. */
  trip(): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("dependency down");
    }
  }
}

function makeContext(bank: FakeBank, msisdn: string, sessionId: string, sealer: AesGcmSealer): MenuContext {
  const directory: MenuContext["directory"] = {
    async findByMsisdn(m) {
      bank.trip();
      return bank.customers.get(m) ?? null;
    },
    async register(input) {
      bank.trip();
      if (bank.customers.has(input.msisdn)) return { ok: false, code: "already_registered" };
      return { ok: true, value: bank.addCustomer(input.msisdn, input.displayName, { language: input.language }) };
    },
    async lookupPayee(query): Promise<Result<PayeeRef>> {
      bank.trip();
      const msisdn = /^[0-9+]/.test(query) ? (query.startsWith("0") ? `+254${query.slice(1)}` : `+${query.replace(/^\+/, "")}`) : bank.aliases.get(query.toLowerCase());
      if (/^[0-9+]/.test(query) && !/^\+?\d{9,15}$/.test(query)) return { ok: false, code: "invalid_msisdn" };
      const c = msisdn ? bank.customers.get(msisdn) : undefined;
      if (!c) return { ok: false, code: "payee_not_found" };
      return { ok: true, value: { customerId: c.id, accountId: c.walletAccountId, maskedName: shortName(c.displayName), msisdn: c.msisdn } };
    },
    async setLanguage(c, lang) {
      bank.trip();
      bank.customers.set(c.msisdn, { ...c, language: lang });
      return OK;
    },
    async holdings(c) {
      return {
        aliases: [...bank.aliases.entries()].filter(([, m]) => m === c.msisdn).map(([a]) => a),
        instruments: bank.instruments.get(c.id) ?? [{ id: c.walletAccountId, alias: "wallet", isDefault: true }],
      };
    },
    async payingInstruments(c) {
      return bank.instruments.get(c.id) ?? [{ id: c.walletAccountId, alias: "wallet", isDefault: true }];
    },
    async claimAlias(c, alias) {
      if (!/^[a-z][a-z0-9._]{2,19}$/i.test(alias)) return { ok: false, code: "alias_invalid_characters" };
      if (bank.aliases.has(alias.toLowerCase())) return { ok: false, code: "alias_taken" };
      bank.aliases.set(alias.toLowerCase(), c.msisdn);
      return { ok: true, value: alias };
    },
    async setDefaultInstrument(c, id) {
      const list = bank.instruments.get(c.id) ?? [];
      const chosen = list.find((i) => i.id === id);
      if (!chosen) return { ok: false, code: "instrument_not_found" };
      for (const i of list) i.isDefault = i.id === id;
      return { ok: true, value: chosen.alias };
    },
  };
  const pins: MenuContext["pins"] = {
    async setPin(c, pin) {
      bank.trip();
      if (bank.pins.has(c.id)) return { ok: false, code: "pin_already_set" };
      bank.pins.set(c.id, { pin, failures: 0 });
      return OK;
    },
    async verifyPin(c, pin) {
      bank.trip();
      return customerPin(bank, c, pin);
    },
    async changePin(c, oldPin, newPin) {
      const v = await this.verifyPin(c, oldPin);
      if (!v.ok) return v;
      if (oldPin === newPin) return { ok: false, code: "pin_unchanged" };
      bank.pins.set(c.id, { pin: newPin, failures: 0 });
      return OK;
    },
  };
    return {
      sessionId,
      msisdn,
      agents: fakeAgentsPort(bank, directory),
      institutionId: bank.institutionId,
      defaultLanguage: "en",
      limits: DEFAULT_MENU_LIMITS,
      now: () => new Date(),
      sealer,
      directory,
      pins,
      accounts: {
        async balance(c) {
          bank.trip();
          return { availableMinor: bank.balances.get(c.walletAccountId) ?? 0n, currency: c.currency };
        },
        async recent(c, limit) {
          bank.trip();
          return (bank.history.get(c.walletAccountId) ?? []).slice(0, limit);
        },
      },
      payments: {
        async quote(_payer, _payee, amountMinor) {
          bank.trip();
          const room = bank.sendRoomMinor;
          if (room !== null && amountMinor > room) return { feeMinor: 0n, refusal: "daily_amount_exceeded", remainingMinor: room };
          return amountMinor > 1_000_000_00n ? { feeMinor: 0n, refusal: "limit_exceeded", remainingMinor: 1_000_000_00n } : { feeMinor: 10_00n };
        },
        async send(input) {
          bank.trip();
          const reference = input.paymentId.slice(0, 8).toUpperCase();
          const found = await directory.lookupPayee(input.payeeQuery, bank.institutionId);
          const payee = found.ok ? [...bank.customers.values()].find((c) => c.id === found.value.customerId) : undefined;
          if (!payee) return { code: "payee_not_found", reference };
          const pin = await pins.verifyPin(input.payer, input.pin);
          if (!pin.ok) return { code: pin.code, reference, until: pin.until ?? null };
          if (bank.sends.has(input.paymentId)) return { code: "ok", reference, feeMinor: 10_00n };
          const from = input.fromInstrumentId ?? input.payer.walletAccountId;
          const own = bank.instruments.get(input.payer.id)?.some((i) => i.id === from) ?? from === input.payer.walletAccountId;
          if (!own) return { code: "instrument_not_found", reference };
          const have = bank.balances.get(from) ?? 0n;
          const total = input.amountMinor + 10_00n;
          if (have < total) return { code: "insufficient_funds", reference };
          bank.balances.set(from, have - total);
          bank.balances.set(payee.walletAccountId, (bank.balances.get(payee.walletAccountId) ?? 0n) + input.amountMinor);
          bank.sends.set(input.paymentId, { amountMinor: input.amountMinor, to: payee.walletAccountId, from });
          return { code: "ok", reference, feeMinor: 10_00n };
        },
      },
      simSwap: {
        async checkOutgoing(m, amountMinor) {
          bank.trip();
          return bank.cooling.has(m) && amountMinor > 1_000n ? { ok: false, code: "sim_swap_cooling", until: new Date("2030-01-02T03:04:00Z") } : OK;
        },
      },
    };
}

/** A PIN check with the fakes' lockout: the third wrong PIN in a row locks, a right one clears the count. */
function checkPin(holder: { pin: string; failures: number } | undefined, pin: string): Result<null> {
  if (!holder) return { ok: false, code: "pin_wrong" };
  if (holder.failures >= 3) return { ok: false, code: "pin_locked", until: null };
  if (holder.pin !== pin) {
    holder.failures++;
    return holder.failures >= 3 ? { ok: false, code: "pin_locked", until: null } : { ok: false, code: "pin_wrong" };
  }
  holder.failures = 0;
  return OK;
}

function agentPin(bank: FakeBank, agent: FakeAgent, pin: string): Result<null> {
  bank.trip();
  return checkPin(agent, pin);
}

/** The customer's PIN, as the core checks it inside a cash operation. */
function customerPin(bank: FakeBank, customer: CustomerRef, pin: string): Result<null> {
  return checkPin(bank.pins.get(customer.id), pin);
}

const ref = (id: string) => id.replace(/-/g, "").slice(-10).toUpperCase();
const no = (code: string): AgentOutcome => ({ code, reference: "" });
const pinRefused = (pin: Refusal): AgentOutcome => ({ code: pin.code, reference: "", until: pin.until ?? null });

/** A small agents core: float, commission, cash-outs held on the wallet until the customer answers. */
function fakeAgentsPort(bank: FakeBank, directory: MenuContext["directory"]): AgentsPort {
  const byId = (id: string) => [...bank.agents.values()].find((a) => a.ref.id === id);
  const customerById = (id: string) => [...bank.customers.values()].find((c) => c.id === id);
  const normalize = (n: string) => (n.startsWith("0") ? `+254${n.slice(1)}` : `+${n.replace(/^\+/, "")}`);
  const match = (agentNumber: string, store: string): { agent: FakeAgent } | { code: string } => {
    const byNumber = bank.agents.get(normalize(agentNumber));
    const byStore = [...bank.agents.values()].find((a) => a.ref.storeNumber === store);
    if (!byNumber && !byStore) return { code: "agent_not_found" };
    if (!byNumber || byNumber !== byStore) return { code: "agent_store_mismatch" };
    if (!byNumber.ref.active) return { code: "agent_unavailable" };
    return { agent: byNumber };
  };
  const balance = (c: CustomerRef) => bank.balances.get(c.walletAccountId) ?? 0n;
  const credit = (c: CustomerRef, amount: bigint) => bank.balances.set(c.walletAccountId, balance(c) + amount);
  /** Keeps a money move's outcome under its request id, so that a replay answers it again. */
  const remember = (requestId: string, outcome: AgentOutcome) => {
    bank.agentMoves.set(requestId, outcome);
    return outcome;
  };
  /** What an agent's cash-in and cash-out check before money moves: a replay, the customer, the agent's PIN. */
  const agentRequest = async (input: {
    requestId: string;
    agent: AgentRef;
    customerQuery: string;
    pin: string;
  }): Promise<{ outcome: AgentOutcome } | { agent: FakeAgent; customer: CustomerRef }> => {
    bank.trip();
    const done = bank.agentMoves.get(input.requestId);
    if (done) return { outcome: done };
    const agent = byId(input.agent.id)!;
    const found = await directory.lookupPayee(input.customerQuery, bank.institutionId);
    const customer = found.ok ? customerById(found.value.customerId) : undefined;
    if (!customer) return { outcome: no("customer_not_found") };
    const pin = agentPin(bank, agent, input.pin);
    if (!pin.ok) return { outcome: pinRefused(pin) };
    return { agent, customer };
  };
  /** A quote's refusals: an unknown customer, or an amount over the fakes' per-transaction cap. */
  const quoteRefusal = (customerId: string, amountMinor: bigint): Refusal & { remainingMinor?: bigint } | null => {
    if (!customerById(customerId)) return { ok: false, code: "customer_not_found" };
    if (amountMinor > 70_000_00n) return { ok: false, code: "per_transaction_exceeded", remainingMinor: 70_000_00n };
    return null;
  };
  /** The customer's pending cash-out named by an approve or decline, or why it cannot be answered. */
  const pendingToAnswer = (pendingId: string, customer: CustomerRef): FakeCashOut | AgentOutcome => {
    const p = bank.cashOuts.get(pendingId);
    if (!p || p.customerId !== customer.id) return no("pending_not_found");
    if (p.state !== "pending") return no(p.state === "approved" ? "pending_already_approved" : "pending_already_declined");
    return p;
  };
  return {
    async atNumber(msisdn) {
      bank.trip();
      const a = bank.agents.get(msisdn);
      const customer = bank.customers.get(msisdn);
      const waits = [...bank.cashOuts.values()].some((p) => p.customerId === customer?.id && p.state === "pending");
      return { agent: a ? { ...a.ref } : null, awaitingCashOut: customer && waits ? [customer.id] : [] };
    },
    async findForWithdrawal(customer, agentNumber, store) {
      bank.trip();
      const m = match(agentNumber, store);
      if ("code" in m) return { ok: false, code: m.code };
      if (m.agent.ref.msisdn === customer.msisdn) return { ok: false, code: "self_transaction" };
      return { ok: true, value: { agentName: shortName(m.agent.name) } };
    },
    async quoteWithdraw(customer, agentNumber, store, amountMinor) {
      bank.trip();
      const m = match(agentNumber, store);
      if ("code" in m) return { ok: false, code: m.code };
      if (amountMinor > 70_000_00n) return { ok: false, code: "per_transaction_exceeded", remainingMinor: 70_000_00n };
      return { ok: true, value: { agentName: shortName(m.agent.name), feeMinor: FAKE_CASH_OUT_FEE, totalMinor: amountMinor + FAKE_CASH_OUT_FEE } };
    },
    async withdraw(input) {
      bank.trip();
      const done = bank.agentMoves.get(input.requestId);
      if (done) return done;
      const m = match(input.agentNumber, input.storeNumber);
      if ("code" in m) return no(m.code);
      const pin = customerPin(bank, input.customer, input.pin);
      if (!pin.ok) return pinRefused(pin);
      const total = input.amountMinor + FAKE_CASH_OUT_FEE;
      if (balance(input.customer) < total) return no("insufficient_funds");
      credit(input.customer, -total);
      m.agent.float += input.amountMinor;
      return remember(input.requestId, { code: "ok", reference: ref(input.requestId), amountMinor: input.amountMinor, feeMinor: FAKE_CASH_OUT_FEE });
    },
    async pendingCashOuts(customer) {
      bank.trip();
      return [...bank.cashOuts.values()]
        .filter((p) => p.customerId === customer.id && p.state === "pending" && p.held !== false)
        .map((p) => ({ pendingId: p.pendingId, agentName: shortName(p.agent.name), storeNumber: p.agent.ref.storeNumber, amountMinor: p.amountMinor, feeMinor: p.feeMinor, expiresAt: new Date(Date.now() + 300_000) }));
    },
    async approveCashOut(input) {
      bank.trip();
      const p = pendingToAnswer(input.pendingId, input.customer);
      if (!("pendingId" in p)) return p;
      const pin = customerPin(bank, input.customer, input.pin);
      if (!pin.ok) return pinRefused(pin);
      p.state = "approved";
      p.agent.float += p.amountMinor;
      return { code: "ok", reference: ref(p.pendingId), amountMinor: p.amountMinor, feeMinor: p.feeMinor };
    },
    async declineCashOut(input) {
      bank.trip();
      const p = pendingToAnswer(input.pendingId, input.customer);
      if (!("pendingId" in p)) return p;
      p.state = "declined";
      credit(input.customer, p.amountMinor + p.feeMinor);
      return { code: "ok", reference: ref(p.pendingId) };
    },
    async quoteCashIn(agent, customer, amountMinor) {
      bank.trip();
      const refused = quoteRefusal(customer.customerId, amountMinor);
      if (refused) return refused;
      return { ok: true, value: { maskedName: shortName(customerById(customer.customerId)!.displayName), feeMinor: 0n, commissionMinor: FAKE_CASH_IN_COMMISSION } };
    },
    async cashIn(input) {
      const request = await agentRequest(input);
      if ("outcome" in request) return request.outcome;
      const { agent, customer } = request;
      if (agent.float < input.amountMinor) return no("insufficient_float");
      agent.float -= input.amountMinor;
      agent.commission += FAKE_CASH_IN_COMMISSION;
      credit(customer, input.amountMinor);
      return remember(input.requestId, { code: "ok", reference: ref(input.requestId), amountMinor: input.amountMinor, feeMinor: 0n });
    },
    async quoteCashOut(_agent, customer, amountMinor) {
      bank.trip();
      const refused = quoteRefusal(customer.customerId, amountMinor);
      if (refused) return refused;
      return { ok: true, value: { feeMinor: FAKE_CASH_OUT_FEE, commissionMinor: 0n } };
    },
    async startCashOut(input) {
      const request = await agentRequest(input);
      // A replay says what became of the cash-out since, as the core's view of the record does.
      if ("outcome" in request) return { ...request.outcome, cashOutState: bank.cashOuts.get(bank.cashOutOfRequest.get(input.requestId) ?? "")?.state };
      const { agent, customer } = request;
      const total = input.amountMinor + FAKE_CASH_OUT_FEE;
      if (balance(customer) < total) return no("insufficient_funds");
      credit(customer, -total); // held until the customer answers
      const pendingId = randomUUID();
      bank.cashOuts.set(pendingId, { pendingId, agent, customerId: customer.id, amountMinor: input.amountMinor, feeMinor: FAKE_CASH_OUT_FEE, state: "pending" });
      bank.cashOutOfRequest.set(input.requestId, pendingId);
      return remember(input.requestId, { code: "ok", reference: ref(pendingId), amountMinor: input.amountMinor, feeMinor: FAKE_CASH_OUT_FEE });
    },
    async verifyPin(agent, pin) {
      return agentPin(bank, byId(agent.id)!, pin);
    },
    async floatBalance(agent) {
      bank.trip();
      return { availableMinor: byId(agent.id)!.float, currency: "KES" };
    },
    async todaysTransactions(agent, limit) {
      bank.trip();
      const moves = [...bank.agentMoves.entries()].slice(0, limit).map(([id, o]) => ({ direction: "out" as const, amountMinor: o.amountMinor ?? 0n, at: new Date(), reference: ref(id) }));
      return { count: bank.agentMoves.size, lines: agent.active ? moves : [] };
    },
    async commissionEarned(agent) {
      bank.trip();
      return { balanceMinor: byId(agent.id)!.commission, currency: "KES" };
    },
  };
}
