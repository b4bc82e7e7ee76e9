/**
 * A released pseudonym is held for its previous owner for ALIAS_QUARANTINE_DAYS (migration
 * 20261206010000): payers still use it, and whoever claimed it next would be paid in the owner's
 * place. Meanwhile it pays nobody, its owner may take it back, anyone else is told alias_cooling
 * (for its other spellings and look-alikes too); after the quarantine anyone may claim it. Real
 * PostgreSQL, through the Directory service with a clock of the test's own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Directory } from "../../src/core/directory/directory.js";
import { ALIAS_QUARANTINE_DAYS, type Customer } from "../../src/core/directory/types.js";
import { PrismaDirectoryStore } from "../../src/infra/db/directory-store.js";
import { SYSTEM, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("released aliases in quarantine (postgres)", () => {
  let f: DirectoryFixture;
  let directory: Directory;
  let clock = new Date("2026-12-01T08:00:00Z");
  let n = 0;
  async function register(name: string): Promise<Customer> {
    const msisdn = `+25471279${String(2000 + n++).padStart(4, "0")}`;
    const result = await directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }
  const claim = (c: Customer, alias: string) => directory.claimAlias(asCustomer(c.id), c.id, alias);
  const release = (c: Customer, alias: string) => directory.releaseAlias(asCustomer(c.id), c.id, alias);
  const payeeOf = async (alias: string) => {
    const found = await directory.resolvePayee(alias, { institutionId: f.bankId });
    return found.ok ? found.value.customer.id : found.code;
  };

  beforeAll(async () => {
    f = await openDirectory("postgres");
    directory = new Directory({ store: new PrismaDirectoryStore(f.prisma, f.test.db), ledger: f.ledger, audit: f.audit, now: () => clock });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("a released alias pays nobody, is refused to others as alias_cooling, and its owner may take it back", async () => {
    const jane = await register("Jane Wanjiru");
    const mallory = await register("Mallory Kip");
    expect(await claim(jane, "Mama.Jane")).toMatchObject({ ok: true });
    expect(await payeeOf("mama.jane")).toBe(jane.id);
    expect(await release(jane, "mama.jane")).toMatchObject({ ok: true });
    expect(await payeeOf("mama.jane")).toBe("payee_not_found");
    expect(await payeeOf("mamajane")).toBe("payee_not_found");
    expect((await directory.getProfile(jane.id))?.aliases).toEqual([]);

    clock = new Date(clock.getTime() + DAY_MS);
    const before = await f.counts();
    // The alias itself, another spelling of it and a look-alike: all held for Jane.
    for (const alias of ["mama.jane", "MAMA_JANE", "mamajane", "rnama.jane"]) {
      expect(await claim(mallory, alias), alias).toEqual({ ok: false, code: "alias_cooling" });
      expect(f.audit.entries.at(-1), alias).toMatchObject({ action: "directory.alias.claim", outcome: "refused", subject: mallory.id, payload: { code: "alias_cooling" } });
    }
    expect(await f.counts()).toEqual(before);
    expect(await payeeOf("mama.jane")).toBe("payee_not_found");

    // Jane changes her mind: hers again, paid again, and counted among her aliases.
    expect(await claim(jane, "mama.jane")).toMatchObject({ ok: true, value: { aliasKey: "mama.jane", customerId: jane.id } });
    expect(await payeeOf("mama.jane")).toBe(jane.id);
    expect((await directory.getProfile(jane.id))?.aliases.map((a) => a.aliasKey)).toEqual(["mama.jane"]);
    expect(await claim(mallory, "mama.jane")).toEqual({ ok: false, code: "alias_taken" });
  });

  it(`after ${ALIAS_QUARANTINE_DAYS} days anyone may claim it, and it then pays its new holder`, async () => {
    const owner = await register("Baraka Otieno");
    const newcomer = await register("Faith Njoroge");
    expect(await claim(owner, "duka.baraka")).toMatchObject({ ok: true });
    expect(await release(owner, "duka.baraka")).toMatchObject({ ok: true });
    const releasedAt = clock.getTime();
    clock = new Date(releasedAt + (ALIAS_QUARANTINE_DAYS - 1) * DAY_MS);
    expect(await claim(newcomer, "duka.baraka")).toEqual({ ok: false, code: "alias_cooling" });
    clock = new Date(releasedAt + ALIAS_QUARANTINE_DAYS * DAY_MS + 1_000);
    expect(await claim(newcomer, "duka_baraka")).toMatchObject({ ok: true, value: { aliasKey: "duka_baraka", customerId: newcomer.id } });
    expect(await payeeOf("duka.baraka")).toBe(newcomer.id);
    // The released row made way: one row for the skeleton, the newcomer's.
    const rows = await f.test.db.query<{ customer_id: string; released_at: Date | null }>(
      "SELECT customer_id, released_at FROM customer_aliases WHERE alias_skeleton = 'dukabaraka'",
    );
    expect(rows.rows).toEqual([{ customer_id: newcomer.id, released_at: null }]);
  });

  it("a claim racing the release never takes the alias from its owner", async () => {
    const owner = await register("Amina Chebet");
    const others = await Promise.all(["Peter Kamau", "Rose Akinyi", "John Mwangi"].map(register));
    expect(await claim(owner, "shop.amina")).toMatchObject({ ok: true });
    const [released, ...claims] = await Promise.all([release(owner, "shop.amina"), ...others.map((c) => claim(c, "shop.amina"))]);
    expect(released).toMatchObject({ ok: true });
    for (const c of claims) expect(["alias_taken", "alias_cooling"]).toContain(c.ok ? "ok" : c.code);
    const row = await f.test.db.query<{ customer_id: string }>("SELECT customer_id FROM customer_aliases WHERE alias_key = 'shop.amina'");
    expect(row.rows).toEqual([{ customer_id: owner.id }]);
  });
});
