import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { AccountFlags } from "../../src/core/ledger/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { SYSTEM, asBanker, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

describe.each(STORE_KINDS)("directory on %s", (kind) => {
  let f: DirectoryFixture;
  let n = 0;
  /** A fresh valid Kenyan mobile number per call. */
  const nextNumber = () => `07${String(10_000_000 + n++).padStart(8, "0")}`;

  async function register(name = "Jane Wanjiru", msisdn = nextNumber()): Promise<Customer> {
    const result = await f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }

  beforeAll(async () => {
    f = await openDirectory(kind);
  });
  afterAll(async () => {
    await f?.close();
  });

  describe("registration", () => {
    it("registers a national number with the institution's country and opens a wallet", async () => {
      const ctx = { actorType: "customer" as const, actorId: "+254712345678", channel: "ussd" as const };
      const result = await f.directory.register(ctx, {
        institutionId: f.bankId,
        msisdn: "0712 345 678",
        displayName: "  Jane   Wanjiru ",
        language: "sw",
      });
      expect(result).toMatchObject({
        ok: true,
        value: { msisdn: "+254712345678", displayName: "Jane Wanjiru", language: "sw", kycTier: 0, status: "active" },
      });
      if (!result.ok) return;
      const customer = result.value;
      const account = await f.ledger.getAccount(customer.walletAccountId);
      expect(account).toMatchObject({
        kind: "customer_wallet",
        currency: "KES",
        institutionId: f.bankId,
        ownerRef: customer.id,
        flags: AccountFlags.debitsMustNotExceedCredits,
      });
      const profile = await f.directory.getProfile(customer.id);
      expect(profile?.instruments).toEqual([
        expect.objectContaining({ kind: "wallet", alias: "wallet", accountId: customer.walletAccountId, isDefault: true, externalRefLast4: null }),
      ]);
      const entry = f.audit.entries.at(-1)!;
      expect(entry).toMatchObject({ action: "directory.customer.register", outcome: "ok", subject: customer.id, channel: "ussd" });
      expect(entry.payload).toEqual({
        institutionId: f.bankId,
        msisdn: "+2547*****678",
        language: "sw",
        walletAccountId: customer.walletAccountId,
      });
    });

    it("answers already_registered for the same number in any format, at any institution, and writes nothing", async () => {
      const before = await f.counts();
      for (const [institutionId, msisdn] of [
        [f.bankId, "+254712345678"],
        [f.bankId, "254 712 345 678"],
        [f.bankId, "00254712345678"],
        [f.otherBankId, "+254712345678"],
      ] as const) {
        const result = await f.directory.register(SYSTEM, { institutionId, msisdn, displayName: "Impostor" });
        expect(result).toEqual({ ok: false, code: "already_registered" });
      }
      expect(await f.counts()).toEqual(before);
      expect(f.audit.entries.at(-1)).toMatchObject({ outcome: "refused", payload: { code: "already_registered" } });
    });

    it("needs the country code at an institution without a default country", async () => {
      const national = await f.directory.register(SYSTEM, { institutionId: f.otherBankId, msisdn: "0754 123 456", displayName: "Asha" });
      expect(national).toEqual({ ok: false, code: "invalid_msisdn" });
      const international = await f.directory.register(SYSTEM, { institutionId: f.otherBankId, msisdn: "+255 754 123 456", displayName: "Asha" });
      expect(international).toMatchObject({ ok: true, value: { msisdn: "+255754123456", institutionId: f.otherBankId } });
      if (international.ok) expect((await f.ledger.getAccount(international.value.walletAccountId))?.currency).toBe("TZS");
    });

    it("refuses fixed lines, unknown institutions and bank users of another bank", async () => {
      const input = { institutionId: f.bankId, msisdn: "020 2222222", displayName: "Office" };
      expect(await f.directory.register(SYSTEM, input)).toEqual({ ok: false, code: "not_a_mobile_number" });
      expect(await f.directory.register(SYSTEM, { ...input, institutionId: randomUUID(), msisdn: nextNumber() })).toEqual({
        ok: false,
        code: "institution_not_found",
      });
      expect(await f.directory.register(asBanker(f.otherBankId), { ...input, msisdn: nextNumber() })).toEqual({ ok: false, code: "not_permitted" });
      expect(await f.directory.register(asBanker(f.bankId), { ...input, msisdn: nextNumber() })).toMatchObject({ ok: true });
    });

    it("finds a customer by number in any accepted format", async () => {
      const jane = await register("Jane Doe");
      const national = `0${jane.msisdn.slice(4)}`;
      expect(await f.directory.findCustomerByMsisdn(national, f.bankId)).toMatchObject({ ok: true, value: { id: jane.id } });
      expect(await f.directory.findCustomerByMsisdn(jane.msisdn)).toMatchObject({ ok: true, value: { id: jane.id } });
      expect(await f.directory.findCustomerByMsisdn(national)).toEqual({ ok: false, code: "invalid_msisdn" });
      expect(await f.directory.findCustomerByMsisdn("+254799999999")).toEqual({ ok: false, code: "customer_not_found" });
    });

    it("reads a number as the institution writes it (normalizeMsisdn), nationally with its default country, and writes nothing", async () => {
      const before = await f.counts();
      expect(await f.directory.normalizeMsisdn("0713 140 001", f.bankId)).toEqual({ ok: true, value: "+254713140001" });
      expect(await f.directory.normalizeMsisdn("254713140001", f.bankId)).toEqual({ ok: true, value: "+254713140001" });
      // No default country, no institution, or none known: a national number reads as none.
      for (const institutionId of [undefined, randomUUID(), "not-a-uuid"]) {
        expect(await f.directory.normalizeMsisdn("0713140001", institutionId), String(institutionId)).toEqual({ ok: false, code: "invalid_msisdn" });
      }
      expect(await f.directory.normalizeMsisdn("0713 14", f.bankId)).toEqual({ ok: false, code: "invalid_msisdn" });
      expect(await f.directory.normalizeMsisdn("020 2222222", f.bankId)).toEqual({ ok: false, code: "not_a_mobile_number" });
      expect(await f.counts()).toEqual(before);
    });
  });

  describe("aliases", () => {
    it("claims case-insensitively unique aliases, up to five, and releases them", async () => {
      const jane = await register();
      const john = await register("John Kamau");
      const claimed = await f.directory.claimAlias(asCustomer(jane.id), jane.id, "Mama.Jane");
      expect(claimed).toMatchObject({ ok: true, value: { alias: "Mama.Jane", aliasKey: "mama.jane", customerId: jane.id } });
      expect(f.audit.entries.at(-1)).toMatchObject({ action: "directory.alias.claim", outcome: "ok", subject: jane.id, payload: { alias: "mama.jane" } });
      expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, "mama.jane")).toMatchObject({ ok: true });
      expect(await f.directory.claimAlias(asCustomer(john.id), john.id, "MAMA.JANE")).toEqual({ ok: false, code: "alias_taken" });
      expect(await f.directory.claimAlias(asCustomer(john.id), jane.id, "johnny")).toEqual({ ok: false, code: "not_permitted" });

      for (const alias of ["jane2", "jane3", "jane4", "jane5"]) {
        expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, alias)).toMatchObject({ ok: true });
      }
      expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, "jane6")).toEqual({ ok: false, code: "alias_limit_reached" });

      expect(await f.directory.releaseAlias(asCustomer(john.id), john.id, "mama.jane")).toEqual({ ok: false, code: "alias_not_found" });
      expect(await f.directory.releaseAlias(asCustomer(jane.id), jane.id, "Mama.Jane")).toMatchObject({ ok: true });
      // Held for Jane during its quarantine (ALIAS_QUARANTINE_DAYS); John may claim it once that is over.
      expect(await f.directory.claimAlias(asCustomer(john.id), john.id, "mama.jane")).toEqual({ ok: false, code: "alias_cooling" });
      await f.test.db.query("UPDATE customer_aliases SET released_at = released_at - interval '31 days' WHERE alias_key = 'mama.jane'");
      expect(await f.directory.claimAlias(asCustomer(john.id), john.id, "mama.jane")).toMatchObject({ ok: true });
      expect((await f.directory.getProfile(jane.id))?.aliases.map((a) => a.aliasKey)).toEqual(["jane2", "jane3", "jane4", "jane5"]);
    });

    it("an alias claimed before its word was reserved is still paid and released; nobody can claim it anew", async () => {
      const jane = await register();
      // Held from before the rule (as an older release let it be claimed): written as that release wrote it.
      await f.test.db.query("INSERT INTO customer_aliases (alias_key, alias, customer_id) VALUES ('jane.agent', 'jane.agent', $1::uuid)", [jane.id]);
      const found = await f.directory.resolvePayee("Jane.Agent", { institutionId: f.bankId });
      expect(found).toMatchObject({ ok: true, value: { customer: { id: jane.id } } });
      expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, "mama.agent")).toEqual({ ok: false, code: "alias_reserved" });
      expect(await f.directory.releaseAlias(asCustomer(jane.id), jane.id, "jane.agent")).toMatchObject({ ok: true });
      expect(await f.directory.resolvePayee("jane.agent", { institutionId: f.bankId })).toEqual({ ok: false, code: "payee_not_found" });
      expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, "jane.agent")).toEqual({ ok: false, code: "alias_reserved" });
    });
  });

  describe("payment instruments", () => {
    it("resolvePayee lists the payee's other wallets (for their balance cap): not the receiving account, not a card", async () => {
      const jane = await register("Jane Holdings", "0712377080");
      const me = asCustomer(jane.id);
      const resolved = async () => {
        const found = await f.directory.resolvePayee("0712377080", { institutionId: f.bankId });
        if (!found.ok) throw new Error(found.code);
        return [found.value.payee.accountId, found.value.otherWalletAccountIds];
      };
      expect(await resolved()).toEqual([jane.walletAccountId, []]);
      const savings = await f.directory.addInstrument(me, jane.id, { kind: "wallet", alias: "savings" });
      const card = await f.directory.addInstrument(me, jane.id, { kind: "card", alias: "visa", externalRef: "4242424242424242" });
      const spare = await f.directory.addInstrument(me, jane.id, { kind: "wallet", alias: "spare" });
      if (!savings.ok || !card.ok || !spare.ok) throw new Error("fixture: instruments");
      // Oldest first, as the profile lists them.
      expect(await resolved()).toEqual([jane.walletAccountId, [savings.value.accountId, spare.value.accountId]]);
      expect(await f.directory.setDefaultInstrument(me, jane.id, "savings")).toMatchObject({ ok: true });
      expect(await resolved()).toEqual([savings.value.accountId, [jane.walletAccountId, spare.value.accountId]]);
      expect(await f.directory.setDefaultInstrument(me, jane.id, "visa")).toMatchObject({ ok: true });
      expect(await resolved()).toEqual([card.value.accountId, [jane.walletAccountId, savings.value.accountId, spare.value.accountId]]);
    });

    it("adds instruments backed by their own ledger accounts, keeping only the last four of a reference", async () => {
      const jane = await register();
      const me = asCustomer(jane.id);
      const card = await f.directory.addInstrument(me, jane.id, { kind: "card", alias: "Visa", externalRef: "4111 1111 1111 1111" });
      expect(card).toMatchObject({ ok: true, value: { kind: "card", alias: "visa", externalRefLast4: "1111", isDefault: false } });
      if (!card.ok) return;
      expect(await f.ledger.getAccount(card.value.accountId)).toMatchObject({ kind: "instrument", currency: "KES", ownerRef: jane.id, flags: 0 });
      const stored = await f.test.db.query(`SELECT row_to_json(p)::text AS row FROM payment_instruments p WHERE id = $1`, [card.value.id]);
      expect(String(stored.rows[0]?.row)).not.toContain("41111111");
      const entry = f.audit.entries.at(-1)!;
      expect(entry).toMatchObject({ action: "directory.instrument.add", outcome: "ok", payload: { externalRefLast4: "1111" } });
      expect(JSON.stringify(entry)).not.toContain("41111111");

      const mpesa = await f.directory.addInstrument(me, jane.id, { kind: "mobile_money", alias: "mpesa", externalRef: jane.msisdn, makeDefault: true });
      expect(mpesa).toMatchObject({ ok: true, value: { isDefault: true, externalRefLast4: jane.msisdn.slice(-4) } });
      if (!mpesa.ok) return;
      expect(await f.directory.lookupPayee(jane.msisdn)).toMatchObject({ ok: true, value: { accountId: mpesa.value.accountId } });

      expect(await f.directory.addInstrument(me, jane.id, { kind: "bank_account", alias: "VISA", externalRef: "0123456789" })).toEqual({
        ok: false,
        code: "instrument_alias_taken",
      });
      expect(await f.directory.renameInstrument(me, jane.id, "visa", "salary")).toMatchObject({ ok: true, value: { alias: "salary" } });
      expect(await f.directory.renameInstrument(me, jane.id, "salary", "mpesa")).toEqual({ ok: false, code: "instrument_alias_taken" });
      expect(await f.directory.removeInstrument(me, jane.id, "mpesa")).toEqual({ ok: false, code: "cannot_remove_default_instrument" });
      expect(await f.directory.setDefaultInstrument(me, jane.id, "wallet")).toMatchObject({ ok: true, value: { isDefault: true } });
      expect(await f.directory.removeInstrument(me, jane.id, "wallet")).toEqual({ ok: false, code: "cannot_remove_default_instrument" });
      expect(await f.directory.setDefaultInstrument(me, jane.id, card.value.id)).toMatchObject({ ok: true });
      expect(await f.directory.removeInstrument(me, jane.id, "wallet")).toEqual({ ok: false, code: "cannot_remove_primary_wallet" });
      expect(await f.directory.removeInstrument(me, jane.id, "mpesa")).toMatchObject({ ok: true, value: { alias: "mpesa" } });
      expect(await f.directory.removeInstrument(me, jane.id, "mpesa")).toEqual({ ok: false, code: "instrument_not_found" });

      const profile = await f.directory.getProfile(jane.id);
      expect(profile?.instruments.map((i) => [i.alias, i.isDefault])).toEqual([
        ["wallet", false],
        ["salary", true],
      ]);
      // The payment's lighter read lists what the profile lists, in the same order, for this customer only.
      expect(await f.directory.listInstruments(jane.id)).toEqual(profile!.instruments);
      expect(await f.directory.listInstruments("not-a-uuid")).toEqual([]);
      // The removed instrument's ledger account stays: ledger history is never deleted.
      expect(await f.ledger.getAccount(mpesa.value.accountId)).not.toBeNull();
    });

    it("keeps a second wallet that holds money", async () => {
      const jane = await register();
      const me = asCustomer(jane.id);
      const savings = await f.directory.addInstrument(me, jane.id, { kind: "wallet", alias: "savings" });
      expect(savings).toMatchObject({ ok: true });
      if (!savings.ok) return;
      expect(await f.ledger.getAccount(savings.value.accountId)).toMatchObject({ kind: "customer_wallet", flags: 1 });
      const bank = await f.ledger.createAccount({ institutionId: f.bankId, currency: "KES", kind: "bank" });
      const funded = await f.ledger.transfer({
        id: randomUUID(),
        debitAccountId: bank.id,
        creditAccountId: savings.value.accountId,
        amountMinor: 500n,
        code: "cash_in",
      });
      expect(funded.result).toBe("ok");
      expect(await f.directory.removeInstrument(me, jane.id, "savings")).toEqual({ ok: false, code: "instrument_has_balance" });
      // Someone else asking learns nothing of the balance: refused as the command refuses them.
      const stranger = await register();
      expect(await f.directory.removeInstrument(asCustomer(stranger.id), jane.id, "savings")).toEqual({ ok: false, code: "not_permitted" });
      expect(await f.directory.removeInstrument(asBanker(randomUUID()), jane.id, "savings")).toEqual({ ok: false, code: "customer_not_found" });
      const empty = await f.directory.addInstrument(me, jane.id, { kind: "wallet", alias: "spare" });
      expect(empty.ok).toBe(true);
      expect(await f.directory.removeInstrument(me, jane.id, "spare")).toMatchObject({ ok: true });
    });

    it("will not close a customer whose wallets hold or reserve money: closing is final, the money would have no way out", async () => {
      const jane = await register();
      const bank = asBanker(f.bankId);
      const savings = await f.directory.addInstrument(asCustomer(jane.id), jane.id, { kind: "wallet", alias: "savings" });
      if (!savings.ok) throw new Error(savings.code);
      const till = await f.ledger.createAccount({ institutionId: f.bankId, currency: "KES", kind: "bank" });
      const move = (debitAccountId: string, creditAccountId: string, extra: object = {}) =>
        f.ledger.transfer({ id: randomUUID(), debitAccountId, creditAccountId, amountMinor: 300n, code: "cash_in", ...extra });
      // Money on its way into the second wallet (a hold), then in it: both keep the customer open.
      const hold = randomUUID();
      expect((await move(till.id, savings.value.accountId, { id: hold, kind: "pending", timeoutSec: 600 })).result).toBe("ok");
      expect(await f.directory.setStatus(bank, jane.id, "closed")).toEqual({ ok: false, code: "customer_has_balance" });
      // Another bank's user learns nothing of it: the customer is not theirs.
      expect(await f.directory.setStatus(asBanker(randomUUID()), jane.id, "closed")).toEqual({ ok: false, code: "customer_not_found" });
      expect((await move(till.id, savings.value.accountId, { kind: "post", pendingId: hold, debitAccountId: undefined, creditAccountId: undefined, amountMinor: undefined })).result).toBe("ok");
      expect(await f.directory.setStatus(bank, jane.id, "closed")).toEqual({ ok: false, code: "customer_has_balance" });
      expect((await move(savings.value.accountId, till.id)).result).toBe("ok");
      expect((await f.directory.getCustomer(jane.id))?.status).toBe("active");
      // Paid out in full: the bank may close.
      expect(await f.directory.setStatus(bank, jane.id, "closed")).toMatchObject({ ok: true, value: { status: "closed" } });
      expect(f.audit.entries.some((e) => e.action === "directory.customer.set_status" && e.outcome === "refused" && e.subject === jane.id)).toBe(true);
    });

    it("limits instruments per customer", async () => {
      const jane = await register();
      for (let i = 1; i < 10; i++) {
        expect(await f.directory.addInstrument(asCustomer(jane.id), jane.id, { kind: "e_money", alias: `em${i}`, externalRef: `ACCT${i}000` })).toMatchObject({
          ok: true,
        });
      }
      const before = await f.counts();
      expect(await f.directory.addInstrument(asCustomer(jane.id), jane.id, { kind: "e_money", alias: "em10", externalRef: "ACCT1000" })).toEqual({
        ok: false,
        code: "instrument_limit_reached",
      });
      // Refused before the ledger account would be opened.
      expect(await f.counts()).toEqual(before);
    });
  });

  describe("lookup", () => {
    it("resolves a payee by number or alias to the default account and a masked name", async () => {
      const jane = await register("Jane Wanjiru Mwangi");
      await f.directory.claimAlias(asCustomer(jane.id), jane.id, "jane.w");
      const expected = { customerId: jane.id, institutionId: f.bankId, accountId: jane.walletAccountId, maskedName: "JANE W*** M***" };
      const national = `0${jane.msisdn.slice(4, 7)} ${jane.msisdn.slice(7)}`;
      expect(await f.directory.lookupPayee(national, { institutionId: f.bankId })).toEqual({ ok: true, value: expected });
      expect(await f.directory.lookupPayee(jane.msisdn.slice(1))).toEqual({ ok: true, value: expected });
      expect(await f.directory.lookupPayee(`00${jane.msisdn.slice(1)}`)).toEqual({ ok: true, value: expected });
      expect(await f.directory.lookupPayee("JANE.W")).toEqual({ ok: true, value: expected });
      expect(await f.directory.lookupPayee("nobody.here")).toEqual({ ok: false, code: "payee_not_found" });
      expect(await f.directory.lookupPayee("+254799999998")).toEqual({ ok: false, code: "payee_not_found" });
      expect(await f.directory.lookupPayee("admin")).toEqual({ ok: false, code: "payee_not_found" });
      expect(await f.directory.lookupPayee("\u0430dmin")).toEqual({ ok: false, code: "alias_not_ascii" });
      expect(await f.directory.lookupPayee("0202222222", { institutionId: f.bankId })).toEqual({ ok: false, code: "not_a_mobile_number" });
    });

    it("answers payee_unavailable for blocked and closed customers", async () => {
      const jane = await register();
      await f.directory.claimAlias(asCustomer(jane.id), jane.id, "blocked.jane");
      expect(await f.directory.setStatus(asBanker(f.bankId), jane.id, "blocked")).toMatchObject({ ok: true });
      expect(await f.directory.lookupPayee(jane.msisdn)).toEqual({ ok: false, code: "payee_unavailable" });
      expect(await f.directory.lookupPayee("blocked.jane")).toEqual({ ok: false, code: "payee_unavailable" });
      expect(await f.directory.setStatus(asBanker(f.bankId), jane.id, "closed")).toMatchObject({ ok: true });
      expect(await f.directory.lookupPayee(jane.msisdn)).toEqual({ ok: false, code: "payee_unavailable" });
    });
  });

  describe("admin actions", () => {
    it("sets the KYC tier and status with audited before and after values", async () => {
      const jane = await register();
      const bank = asBanker(f.bankId);
      expect(await f.directory.setKycTier(bank, jane.id, 2)).toMatchObject({ ok: true, value: { kycTier: 2 } });
      expect(f.audit.entries.at(-1)).toMatchObject({
        actorType: "bank_user",
        action: "directory.customer.set_kyc_tier",
        outcome: "ok",
        subject: jane.id,
        payload: { kycTier: { from: 0, to: 2 } },
      });
      expect(await f.directory.setKycTier(bank, jane.id, 4)).toEqual({ ok: false, code: "invalid_kyc_tier" });
      expect(await f.directory.setKycTier(asCustomer(jane.id), jane.id, 3)).toEqual({ ok: false, code: "not_permitted" });
      expect(await f.directory.setKycTier(asBanker(f.otherBankId), jane.id, 3)).toEqual({ ok: false, code: "customer_not_found" });
      expect(await f.directory.setStatus(bank, jane.id, "suspended")).toEqual({ ok: false, code: "invalid_status" });

      expect(await f.directory.setStatus(bank, jane.id, "blocked")).toMatchObject({ ok: true, value: { status: "blocked" } });
      expect(await f.directory.claimAlias(asCustomer(jane.id), jane.id, "blocked.one")).toEqual({ ok: false, code: "customer_not_active" });
      expect(await f.directory.setStatus(bank, jane.id, "active")).toMatchObject({ ok: true });
      expect(await f.directory.setLanguage(asCustomer(jane.id), jane.id, "fr")).toMatchObject({ ok: true, value: { language: "fr" } });
      expect(await f.directory.setLanguage(asCustomer(jane.id), jane.id, "de")).toEqual({ ok: false, code: "invalid_language" });
      expect(await f.directory.setStatus(bank, jane.id, "closed")).toMatchObject({ ok: true });
      expect(await f.directory.setStatus(bank, jane.id, "active")).toEqual({ ok: false, code: "customer_closed" });
      expect(await f.directory.getCustomer(jane.id)).toMatchObject({ status: "closed", kycTier: 2, language: "fr" });
    });

    it("sets an institution's default country", async () => {
      expect(await f.directory.setDefaultCountry(asBanker(f.otherBankId), f.otherBankId, "TZ")).toMatchObject({
        ok: true,
        value: { defaultCountry: "TZ", currency: "TZS" },
      });
      expect(await f.directory.findCustomerByMsisdn("0754 123 456", f.otherBankId)).toMatchObject({ ok: true });
      expect(await f.directory.setDefaultCountry(asBanker(f.bankId), f.otherBankId, "KE")).toEqual({ ok: false, code: "not_permitted" });
      expect(await f.directory.setDefaultCountry(SYSTEM, f.otherBankId, "ZZ")).toEqual({ ok: false, code: "invalid_country" });
      expect(await f.directory.setDefaultCountry(SYSTEM, randomUUID(), "KE")).toEqual({ ok: false, code: "institution_not_found" });
    });
  });

  it("audits every state-changing call exactly once, refusals with their code only", async () => {
    const jane = await register();
    const start = f.audit.entries.length;
    const me = asCustomer(jane.id);
    await f.directory.claimAlias(me, jane.id, "audit.me");
    await f.directory.claimAlias(me, jane.id, "x");
    await f.directory.addInstrument(me, jane.id, { kind: "card", alias: "card", externalRef: "4242 4242 4242 4241" });
    await f.directory.addInstrument(me, jane.id, { kind: "card", alias: "card", externalRef: "4242 4242 4242 4242" });
    await f.directory.setDefaultInstrument(me, jane.id, "card");
    await f.directory.renameInstrument(me, jane.id, "card", "visa");
    await f.directory.setDefaultInstrument(me, jane.id, "wallet");
    await f.directory.removeInstrument(me, jane.id, "visa");
    await f.directory.releaseAlias(me, jane.id, "audit.me");
    const entries = f.audit.entries.slice(start);
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([
      ["directory.alias.claim", "ok"],
      ["directory.alias.claim", "refused"],
      ["directory.instrument.add", "refused"],
      ["directory.instrument.add", "ok"],
      ["directory.instrument.set_default", "ok"],
      ["directory.instrument.rename", "ok"],
      ["directory.instrument.set_default", "ok"],
      ["directory.instrument.remove", "ok"],
      ["directory.alias.release", "ok"],
    ]);
    expect(entries[1]!.payload).toEqual({ code: "alias_too_short" });
    expect(entries[2]!.payload).toEqual({ code: "invalid_card_number" });
    expect(entries.every((e) => e.actorType === "customer" && e.actorId === jane.id && e.subject === jane.id)).toBe(true);
    expect(JSON.stringify(entries)).not.toMatch(/4242 ?4242 ?4242/);
  });
});
