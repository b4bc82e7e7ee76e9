/**
 * "w" is drawn as "vv" on a phone's screen, so "kavwa", "kawva" and "kavvva" read alike, yet the
 * look-alike skeleton of 20261206000000 read "vv" as "w" from the left and gave them three
 * skeletons ("kavwa", "kawva", "kawva"): a holder of "kavwa" could be shadowed by "kawva". Since
 * 20261218000000 "w" is read as "vv" instead, which every spelling of that run agrees on. Real
 * PostgreSQL: the SQL function decides, the TypeScript copy must match it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookalikeSkeleton } from "../../src/core/directory/aliases.js";
import type { Customer } from "../../src/core/directory/types.js";
import { asCustomer, openDirectory, SYSTEM, type DirectoryFixture } from "./directory-fixture.js";

describe("w and vv as look-alikes in any order (postgres)", () => {
  let f: DirectoryFixture;
  let n = 0;
  async function register(name: string): Promise<Customer> {
    const msisdn = `+25471293${String(2000 + n++).padStart(4, "0")}`;
    const result = await f.directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }
  const claim = (c: Customer, alias: string) => f.directory.claimAlias(asCustomer(c.id), c.id, alias);

  beforeAll(async () => {
    f = await openDirectory("postgres");
  });
  afterAll(async () => {
    await f?.close();
  });

  it("refuses every spelling of a run of v and w that looks like one held, whichever order its w and vv come in", async () => {
    const owner = await register("Kavwa Owner");
    const mallory = await register("Mallory Kip");
    expect(await claim(owner, "kavwa")).toMatchObject({ ok: true });
    for (const lookalike of ["kawva", "kavvva", "KAVVVA", "ka.vw-a"]) {
      expect(await claim(mallory, lookalike), lookalike).toEqual({ ok: false, code: lookalike === "ka.vw-a" ? "alias_taken" : "alias_too_similar" });
    }
    expect((await f.directory.getProfile(mallory.id))?.aliases).toEqual([]);
    // A single v or w is still a letter of its own: "kava" and "kawa" are other names.
    expect(await claim(mallory, "kava")).toMatchObject({ ok: true });
    expect(await claim(mallory, "kawa")).toMatchObject({ ok: true });
  });

  it("the TypeScript fold matches the database's, w included", async () => {
    for (const key of ["kavwa", "kawva", "kavvva", "william", "vv.w", "rnwvv0", "wi1l5"]) {
      const sql = await f.test.db.query<{ s: string }>("SELECT alias_lookalike($1) AS s", [key]);
      expect(lookalikeSkeleton(key), key).toBe(sql.rows[0]!.s);
    }
    expect(lookalikeSkeleton("kavwa")).toBe(lookalikeSkeleton("kawva"));
  });
});
