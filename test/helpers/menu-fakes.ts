/** In-memory fakes of the menu ports, for unit tests of flows and the USSD channel. */
import { randomUUID } from "node:crypto";
import { AesGcmSealer } from "../../src/menus/adapters/sealer.js";
import {
  DEFAULT_MENU_LIMITS,
  type CustomerRef,
  type Language,
  type MenuContext,
  type PayeeRef,
  type Result,
  type StatementLine,
} from "../../src/menus/index.js";

const OK: Result<null> = { ok: true, value: null };

export class FakeBank {
  readonly customers = new Map<string, CustomerRef>();
  readonly aliases = new Map<string, string>();
  readonly pins = new Map<string, { pin: string; failures: number }>();
  readonly balances = new Map<string, bigint>();
  readonly sends = new Map<string, { amountMinor: bigint; to: string }>();
  readonly history = new Map<string, StatementLine[]>();
  readonly cooling = new Set<string>();
  readonly instruments = new Map<string, Array<{ id: string; alias: string; isDefault: boolean }>>();
  readonly institutionId = randomUUID();
  /** Set to make the next port call throw (a dependency outage). */
  failNext = false;

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

  context(msisdn: string, sessionId: string = randomUUID(), sealer = new AesGcmSealer()): MenuContext {
    return makeContext(this, msisdn, sessionId, sealer);
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
      return { ok: true, value: { customerId: c.id, accountId: c.walletAccountId, maskedName: c.displayName.split(" ")[0]!.toUpperCase() } };
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
      bank.pins.set(c.id, { pin, failures: 0 });
      return OK;
    },
    async verifyPin(c, pin) {
      bank.trip();
      const row = bank.pins.get(c.id);
      if (!row) return { ok: false, code: "pin_wrong" };
      if (row.failures >= 3) return { ok: false, code: "pin_locked", until: null };
      if (row.pin !== pin) {
        row.failures++;
        return row.failures >= 3 ? { ok: false, code: "pin_locked", until: null } : { ok: false, code: "pin_wrong" };
      }
      row.failures = 0;
      return OK;
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
          const have = bank.balances.get(input.payer.walletAccountId) ?? 0n;
          const total = input.amountMinor + 10_00n;
          if (have < total) return { code: "insufficient_funds", reference };
          bank.balances.set(input.payer.walletAccountId, have - total);
          bank.balances.set(payee.walletAccountId, (bank.balances.get(payee.walletAccountId) ?? 0n) + input.amountMinor);
          bank.sends.set(input.paymentId, { amountMinor: input.amountMinor, to: payee.walletAccountId });
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
