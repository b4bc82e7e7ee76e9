/**
 * Look-alike pseudonyms (migration 20261206000000): "j0hn" beside "john", "rnama.jane" beside
 * "mama.jane" read alike on a phone's screen, so a customer may not claim the look-alike of an
 * alias another customer holds (alias_too_similar), whatever the case or the Unicode form typed,
 * and two claims of look-alikes at once leave exactly one holder. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookalikeSkeleton } from "../../src/core/directory/aliases.js";
import type { Customer } from "../../src/core/directory/types.js";
import { SYSTEM, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

describe("look-alike pseudonyms (postgres)", () => {
  let f: DirectoryFixture;
  let n = 0;
  async function register(name: string): Promise<Customer> {
    const msisdn = `+25471279${String(1000 + n++).padStart(4, "0")}`;
    const result = await f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }
  const claim = (c: Customer, alias: string) => f.directory.claimAlias(asCustomer(c.id), c.id, alias);
  const holderOf = async (key: string) =>
    (await f.test.db.query<{ customer_id: string }>("SELECT customer_id FROM customer_aliases WHERE alias_key = $1", [key])).rows[0]?.customer_id ?? null;

  beforeAll(async () => {
    f = await openDirectory("postgres");
  });
  afterAll(async () => {
    await f?.close();
  });

  it("refuses the look-alike of another customer's alias as alias_too_similar, writes nothing, and audits the code", async () => {
    const john = await register("John Kamau");
    const jane = await register("Jane Wanjiru");
    const mallory = await register("Mallory Kip");
    for (const alias of ["john", "mama.jane", "bill", "janes", "wanjiru"]) expect(await claim(alias === "john" ? john : jane, alias)).toMatchObject({ ok: true });
    const before = await f.counts();
    for (const lookalike of ["j0hn", "J0HN", "rnama.jane", "rnama_jane", "bi1l", "biil", "BIIL", "jane5", "vvanjiru"]) {
      expect(await claim(mallory, lookalike), lookalike).toEqual({ ok: false, code: "alias_too_similar" });
      expect(f.audit.entries.at(-1), lookalike).toMatchObject({ action: "directory.alias.claim", outcome: "refused", subject: mallory.id, payload: { code: "alias_too_similar" } });
    }
    expect(await f.counts()).toEqual(before);
    expect((await f.directory.getProfile(mallory.id))?.aliases).toEqual([]);
    // The payee found for the real alias is still its holder.
    const found = await f.directory.resolvePayee("john", { institutionId: f.bankId });
    expect(found.ok && found.value.customer.id).toBe(john.id);
  });

  it("the same alias in another case or Unicode form is the same alias: alias_taken", async () => {
    const owner = await register("Grace Njeri");
    const other = await register("Peter Otieno");
    expect(await claim(owner, "grace.n")).toMatchObject({ ok: true });
    // Full-width letters fold to ASCII under NFKC; case folds to the lower-case key.
    for (const same of ["GRACE.N", "Grace.N", "ｇｒａｃｅ.ｎ", "grace_n", "gracen"]) expect(await claim(other, same), same).toEqual({ ok: false, code: "alias_taken" });
  });

  it("names that only look alike to a looser fold stay free", async () => {
    const a = await register("Jon Mwangi");
    const b = await register("Joan Achieng");
    expect(await claim(a, "jon.m")).toMatchObject({ ok: true });
    expect(await claim(b, "joan.m")).toMatchObject({ ok: true });
    expect(await claim(b, "jon.mw")).toMatchObject({ ok: true });
  });

  it("two customers claiming look-alikes at once: exactly one holds one of them", async () => {
    const racers = await Promise.all(["Kofi Boateng", "Kofi Mensah", "Kofi Asante", "Kofi Owusu"].map(register));
    const spellings = ["kofi.b", "k0fi.b", "kofl.b", "K0FI_B"];
    const results = await Promise.all(racers.map((c, i) => claim(c, spellings[i]!)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    for (const r of results) if (!r.ok) expect(["alias_taken", "alias_too_similar"]).toContain(r.code);
    const held = await f.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM customer_aliases WHERE alias_lookalike = 'kofl.b' OR alias_lookalike = 'koflb'");
    expect(held.rows[0]!.n).toBe(1);
    expect(await holderOf("kofi.b")).not.toBe(racers[1]!.id);
  });

  it("the TypeScript fold matches the database's (SQL alias_lookalike decides)", async () => {
    const keys = ["j0hn", "rnama.jane", "vv.i-1_5", "bill", "m0rnin9", "abc"];
    for (const key of keys) {
      const sql = await f.test.db.query<{ s: string }>("SELECT alias_lookalike($1) AS s", [key]);
      expect(lookalikeSkeleton(key), key).toBe(sql.rows[0]!.s);
    }
  });
});
