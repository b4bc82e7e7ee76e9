import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../src/core/directory/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { SYSTEM, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

// On PostgreSQL these run truly concurrently (one pooled connection each); PGlite runs one
// transaction at a time, which still checks that the outcomes are right when calls interleave.
describe.each(STORE_KINDS)("directory races on %s", (kind) => {
  let f: DirectoryFixture;
  let n = 0;
  const nextNumber = () => `+2547${String(20_000_000 + n++).padStart(8, "0")}`;

  async function registerMany(count: number): Promise<Customer[]> {
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn: nextNumber(), displayName: `Racer ${String.fromCharCode(65 + i)}` }),
      ),
    );
    return results.map((r) => {
      if (!r.ok) throw new Error(r.code);
      return r.value;
    });
  }

  const tally = (results: { ok: boolean; code?: string }[]) =>
    results.reduce<Record<string, number>>((acc, r) => {
      const key = r.ok ? "ok" : r.code!;
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {});

  beforeAll(async () => {
    f = await openDirectory(kind);
  });
  afterAll(async () => {
    await f?.close();
  });

  it("20 customers claiming one alias at once: exactly one wins", async () => {
    const racers = await registerMany(20);
    const results = await Promise.all(racers.map((c, i) => f.directory.claimAlias(asCustomer(c.id), c.id, i % 2 ? "Mama.Jane" : "mama.jane")));
    expect(tally(results)).toEqual({ ok: 1, alias_taken: 19 });
    const rows = await f.prisma.customerAlias.findMany({ where: { aliasKey: "mama.jane" } });
    expect(rows).toHaveLength(1);
    const winner = results.findIndex((r) => r.ok);
    expect(rows[0]!.customerId).toBe(racers[winner]!.id);
    const audited = f.audit.entries.filter((e) => e.action === "directory.alias.claim");
    expect(audited.filter((e) => e.outcome === "ok")).toHaveLength(1);
    expect(audited.filter((e) => e.outcome === "refused")).toHaveLength(19);
  });

  it("customers claiming one alias spelled with other separators at once: exactly one wins, and every spelling pays the winner", async () => {
    const racers = await registerMany(8);
    const spellings = ["baba.tom", "babatom", "baba_tom", "baba-tom", "Baba.Tom", "BabaTom", "b.abatom", "baba.t.om"];
    const results = await Promise.all(racers.map((c, i) => f.directory.claimAlias(asCustomer(c.id), c.id, spellings[i]!)));
    expect(tally(results)).toEqual({ ok: 1, alias_taken: 7 });
    const winner = racers[results.findIndex((r) => r.ok)]!;
    for (const typed of spellings) {
      const found = await f.directory.resolvePayee(typed, { institutionId: f.bankId });
      expect(found.ok && found.value.payee.customerId, typed).toBe(winner.id);
    }
    // Released and out of its quarantine, the skeleton is free again: another spelling may be claimed by someone else.
    const held = (await f.prisma.customerAlias.findFirst({ where: { customerId: winner.id } }))!;
    expect(await f.directory.releaseAlias(asCustomer(winner.id), winner.id, held.alias)).toMatchObject({ ok: true });
    await f.test.db.query("UPDATE customer_aliases SET released_at = released_at - interval '31 days' WHERE alias_key = $1", [held.aliasKey]);
    const other = racers.find((c) => c.id !== winner.id)!;
    expect(await f.directory.claimAlias(asCustomer(other.id), other.id, "baba-tom")).toMatchObject({ ok: true });
    expect(await f.prisma.customerAlias.findUnique({ where: { aliasKey: "baba-tom" } })).toMatchObject({ aliasSkeleton: "babatom", customerId: other.id });
  });

  it("one customer claiming ten aliases at once gets exactly five", async () => {
    const [jane] = await registerMany(1);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => f.directory.claimAlias(asCustomer(jane!.id), jane!.id, `jane.${i}`)),
    );
    expect(tally(results)).toEqual({ ok: 5, alias_limit_reached: 5 });
    expect(await f.prisma.customerAlias.count({ where: { customerId: jane!.id } })).toBe(5);
  });

  it("ten registrations of one number at once: exactly one customer", async () => {
    const msisdn = nextNumber();
    const before = await f.counts();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn: i % 2 ? msisdn : `0${msisdn.slice(4)}`, displayName: "Twin" }),
      ),
    );
    expect(tally(results)).toEqual({ ok: 1, already_registered: 9 });
    const after = await f.counts();
    expect(after.customers - before.customers).toBe(1);
    expect(after.payment_instruments - before.payment_instruments).toBe(1);
    // Racers that passed the existence check opened a wallet first; those stay empty and unreferenced.
    const strays = await f.test.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM accounts a WHERE a.kind = 'customer_wallet'
         AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.wallet_account_id = a.id)
         AND (a.debits_posted + a.credits_posted + a.debits_pending + a.credits_pending) <> 0`,
    );
    expect(strays.rows[0]!.n).toBe(0);
  });

  it("concurrent default changes leave exactly one default", async () => {
    const [jane] = await registerMany(1);
    const me = asCustomer(jane!.id);
    for (const alias of ["one", "two", "three", "four"]) {
      const added = await f.directory.addInstrument(me, jane!.id, { kind: "e_money", alias, externalRef: `ACCT-${alias}` });
      expect(added.ok).toBe(true);
    }
    const results = await Promise.all(["one", "two", "three", "four", "wallet"].map((alias) => f.directory.setDefaultInstrument(me, jane!.id, alias)));
    expect(tally(results)).toEqual({ ok: 5 });
    expect(await f.prisma.paymentInstrument.count({ where: { customerId: jane!.id, isDefault: true } })).toBe(1);
  });

  it("concurrent instruments with one alias: one is added", async () => {
    const [jane] = await registerMany(1);
    const me = asCustomer(jane!.id);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => f.directory.addInstrument(me, jane!.id, { kind: "bank_account", alias: "salary", externalRef: "0123456789" })),
    );
    expect(tally(results)).toEqual({ ok: 1, instrument_alias_taken: 7 });
    expect(await f.prisma.paymentInstrument.count({ where: { customerId: jane!.id, alias: "salary" } })).toBe(1);
  });
});
