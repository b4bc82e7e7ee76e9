import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outcome } from "../../src/core/directory/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { SYSTEM, asBanker, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

/** Strings that have broken other systems: each must get a clear code and change nothing. */
const HOSTILE: string[] = [
  "",
  " ",
  "x".repeat(10_240),
  "\u0430".repeat(10_240),
  "0".repeat(10_240),
  "'; DROP TABLE customers; --",
  "' OR '1'='1",
  "admin'--",
  "\u0430dmin", // Cyrillic а
  "\u0440\u0430ypal",
  "ad\u200dmin", // zero-width joiner
  "\u200b",
  "\u202eadmin", // right-to-left override
  "admin\u200f",
  "\ufeffadmin",
  "ad\u0000min",
  "\n",
  "\u{1F600}\u{1F600}\u{1F600}",
  "${jndi:ldap://x}",
  "<script>alert(1)</script>",
  "%00%27",
  "\ud800", // lone surrogate
  "０７１２３４５６７８", // full-width digits
];
/** What a JSON body can smuggle in where a string is expected. */
const NOT_STRINGS: unknown[] = [undefined, null, 42, Number.NaN, {}, [], ["mama.jane"], { toString: () => "mama.jane" }];

const TABLES = ["institutions", "directory_settings", "customers", "customer_aliases", "payment_instruments", "accounts"];

describe.each(STORE_KINDS)("directory bad input on %s", (kind) => {
  let f: DirectoryFixture;
  let janeId: string;

  /** Every row of every directory table (and the ledger's accounts), so "nothing changed" is exact. */
  async function snapshot(): Promise<string> {
    const parts: string[] = [];
    for (const table of TABLES) {
      const result = await f.test.db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t ORDER BY 1`);
      parts.push(`${table}:${result.rows.map((r) => r.row).join("\n")}`);
    }
    return parts.join("\n");
  }

  /** Runs calls that must all be refused; checks codes, the database and the audit entries they leave. */
  async function expectRefusedAndUnchanged(calls: (() => Promise<Outcome<unknown>>)[]): Promise<void> {
    const before = await snapshot();
    const auditStart = f.audit.entries.length;
    for (const [i, call] of calls.entries()) {
      const result = await call();
      expect(result.ok, `call #${i}: ${JSON.stringify(result).slice(0, 200)}`).toBe(false);
      if (!result.ok) expect(result.code).toMatch(/^[a-z][a-z0-9_]+$/);
    }
    expect(await snapshot()).toBe(before);
    for (const entry of f.audit.entries.slice(auditStart)) {
      expect(entry.outcome).toBe("refused");
      expect(Object.keys(entry.payload ?? {}).filter((k) => k !== "code" && k !== "institutionId" && k !== "msisdn")).toEqual([]);
      expect(JSON.stringify(entry).length).toBeLessThan(600);
    }
  }

  beforeAll(async () => {
    f = await openDirectory(kind);
    const jane = await f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn: "0712 000 111", displayName: "Jane Wanjiru" });
    if (!jane.ok) throw new Error(jane.code);
    janeId = jane.value.id;
    await f.directory.claimAlias(asCustomer(janeId), janeId, "mama.jane");
    await f.directory.addInstrument(asCustomer(janeId), janeId, { kind: "card", alias: "visa", externalRef: "4242424242424242" });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("registration refuses bad numbers, names, languages and institutions", async () => {
    const base = { institutionId: "", msisdn: "0712 000 222", displayName: "Asha Njeri" };
    const calls: (() => Promise<Outcome<unknown>>)[] = [];
    for (const bad of [...HOSTILE, ...NOT_STRINGS] as string[]) {
      calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, msisdn: bad }));
      if (bad !== " " && bad !== "") calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, displayName: bad }));
      // An absent language (undefined, null) means the default, English.
      if (bad != null) calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, language: bad }));
      calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: bad }));
    }
    calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, msisdn: "0202 222 222" }));
    calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, displayName: " " }));
    calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: randomUUID() }));
    calls.push(() => f.directory.register(SYSTEM, { ...base, institutionId: f.bankId, msisdn: "+254712000111" })); // Jane's
    await expectRefusedAndUnchanged(calls);
  });

  it("aliases: absurd strings, unicode tricks and reserved words are refused with the rule they break", async () => {
    expect(await f.directory.claimAlias(asCustomer(janeId), janeId, "\u0430dmin")).toEqual({ ok: false, code: "alias_not_ascii" });
    expect(await f.directory.claimAlias(asCustomer(janeId), janeId, "mama\u200djane")).toEqual({ ok: false, code: "alias_invisible_characters" });
    expect(await f.directory.claimAlias(asCustomer(janeId), janeId, "\u202ejane")).toEqual({ ok: false, code: "alias_invisible_characters" });
    expect(await f.directory.claimAlias(asCustomer(janeId), janeId, "x".repeat(10_240))).toEqual({ ok: false, code: "alias_too_long" });
    expect(await f.directory.claimAlias(asCustomer(janeId), janeId, "ＡＤＭＩＮ")).toEqual({ ok: false, code: "alias_reserved" });
    const calls: (() => Promise<Outcome<unknown>>)[] = [];
    for (const bad of [...HOSTILE, ...NOT_STRINGS] as string[]) {
      calls.push(() => f.directory.claimAlias(asCustomer(janeId), janeId, bad));
      calls.push(() => f.directory.releaseAlias(asCustomer(janeId), janeId, bad));
      calls.push(() => f.directory.claimAlias(asCustomer(janeId), bad, "fine.alias"));
      calls.push(() => f.directory.claimAlias(asCustomer(randomUUID()), janeId, "fine.alias"));
    }
    calls.push(() => f.directory.claimAlias(asCustomer(janeId), randomUUID(), "fine.alias"));
    await expectRefusedAndUnchanged(calls);
  });

  it("instruments: bad kinds, aliases, references and ids change nothing, and open no ledger account", async () => {
    const me = asCustomer(janeId);
    const calls: (() => Promise<Outcome<unknown>>)[] = [];
    for (const bad of [...HOSTILE, ...NOT_STRINGS] as string[]) {
      calls.push(() => f.directory.addInstrument(me, janeId, { kind: bad, alias: "salary", externalRef: "0123456789" }));
      calls.push(() => f.directory.addInstrument(me, janeId, { kind: "bank_account", alias: bad, externalRef: "0123456789" }));
      calls.push(() => f.directory.addInstrument(me, janeId, { kind: "card", alias: "salary", externalRef: bad }));
      calls.push(() => f.directory.addInstrument(me, janeId, { kind: "mobile_money", alias: "salary", externalRef: bad }));
      calls.push(() => f.directory.renameInstrument(me, janeId, "visa", bad));
      calls.push(() => f.directory.renameInstrument(me, janeId, bad, "salary"));
      calls.push(() => f.directory.setDefaultInstrument(me, janeId, bad));
      calls.push(() => f.directory.removeInstrument(me, janeId, bad));
      calls.push(() => f.directory.addInstrument(me, bad, { kind: "bank_account", alias: "salary", externalRef: "0123456789" }));
    }
    calls.push(() => f.directory.addInstrument(me, janeId, { kind: "wallet", alias: "salary", externalRef: "0123456789" }));
    calls.push(() => f.directory.addInstrument(me, janeId, { kind: "card", alias: "salary", externalRef: "4242 4242 4242 4241" }));
    calls.push(() => f.directory.addInstrument(me, janeId, { kind: "card", alias: "Visa", externalRef: "4242 4242 4242 4242" }));
    await expectRefusedAndUnchanged(calls);
  });

  it("admin actions and settings refuse values outside their sets", async () => {
    const bank = asBanker(f.bankId);
    const calls: (() => Promise<Outcome<unknown>>)[] = [];
    for (const bad of [...HOSTILE, ...NOT_STRINGS] as string[]) {
      calls.push(() => f.directory.setStatus(bank, janeId, bad));
      calls.push(() => f.directory.setLanguage(asCustomer(janeId), janeId, bad));
      calls.push(() => f.directory.setDefaultCountry(SYSTEM, f.bankId, bad));
      calls.push(() => f.directory.setDefaultCountry(SYSTEM, bad, "KE"));
      calls.push(() => f.directory.setKycTier(bank, bad, 1));
    }
    for (const tier of [-1, 4, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2", null]) {
      calls.push(() => f.directory.setKycTier(bank, janeId, tier as number));
    }
    await expectRefusedAndUnchanged(calls);
  });

  it("lookups of hostile strings answer a code and never throw", async () => {
    for (const bad of [...HOSTILE, ...NOT_STRINGS] as string[]) {
      const payee = await f.directory.lookupPayee(bad, { institutionId: f.bankId });
      expect(payee.ok).toBe(false);
      const byNumber = await f.directory.findCustomerByMsisdn(bad, bad);
      expect(byNumber.ok).toBe(false);
      expect(await f.directory.getCustomer(bad)).toBeNull();
      expect(await f.directory.getProfile(bad)).toBeNull();
    }
    expect(await f.directory.lookupPayee("mama.jane")).toMatchObject({ ok: true, value: { maskedName: "JANE W***" } });
  });
});
