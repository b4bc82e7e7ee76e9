/**
 * Customers who held more names than MAX_ALIAS_NAMES_PER_CUSTOMER before the cap existed (released
 * aliases still in quarantine, written then): the cap must neither crash on them nor let them add a
 * name, while release and taking back their own quarantined names work as for anyone. The store
 * loads only the most recently released rows (enough to refuse a new name), so taking back an
 * older one must not depend on that list. Real PostgreSQL, the rows written as the past left them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Directory } from "../../src/core/directory/directory.js";
import { MAX_ALIAS_NAMES_PER_CUSTOMER, type Customer } from "../../src/core/directory/types.js";
import { PrismaDirectoryStore } from "../../src/infra/db/directory-store.js";
import { SYSTEM, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

const HOUR_MS = 60 * 60 * 1000;
const SUFFIXES = ["ab", "ac", "ad", "ae", "af", "ag", "ah", "aj", "ak", "am", "an", "ap", "aq", "ar", "at"];

describe("customers over the name cap from before it existed (postgres)", () => {
  let f: DirectoryFixture;
  let directory: Directory;
  const clock = new Date("2026-12-10T08:00:00Z");
  let n = 0;
  async function register(name: string): Promise<Customer> {
    const msisdn = `+25471293${String(1100 + n++).padStart(4, "0")}`;
    const result = await directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }
  const claim = (c: Customer, alias: string) => directory.claimAlias(asCustomer(c.id), c.id, alias);
  const release = (c: Customer, alias: string) => directory.releaseAlias(asCustomer(c.id), c.id, alias);
  /** Released rows as written before the cap: `count` of them, the first released longest ago (all in quarantine). */
  async function legacyReleased(c: Customer, prefix: string, count: number): Promise<string[]> {
    // Suffixes no two of which look alike (no i beside l, no o beside 0).
    const keys = SUFFIXES.slice(0, count).map((suffix) => `${prefix}.${suffix}`);
    for (const [i, key] of keys.entries()) {
      const releasedAt = new Date(clock.getTime() - (count - i) * HOUR_MS);
      await f.test.db.query(
        "INSERT INTO customer_aliases (alias_key, alias, customer_id, created_at, released_at) VALUES ($1, $1, $2::uuid, $3, $3)",
        [key, c.id, releasedAt],
      );
    }
    return keys;
  }
  const heldBy = async (c: Customer) => (await directory.getProfile(c.id))?.aliases.map((a) => a.aliasKey).sort();
  const rowCount = async (c: Customer) =>
    (await f.test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM customer_aliases WHERE customer_id = $1", [c.id])).rows[0]!.n;

  beforeAll(async () => {
    f = await openDirectory("postgres");
    directory = new Directory({ store: new PrismaDirectoryStore(f.prisma, f.test.db), ledger: f.ledger, audit: f.audit, now: () => clock });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("refuses a new name, releases, and takes back any of their own in quarantine, the oldest too", async () => {
    const legacy = await register("Akinyi Legacy");
    for (const alias of ["akinyi.shop", "akinyi.farm"]) expect(await claim(legacy, alias), alias).toMatchObject({ ok: true });
    const released = await legacyReleased(legacy, "old", MAX_ALIAS_NAMES_PER_CUSTOMER + 3);
    const rows = await rowCount(legacy);

    expect(await claim(legacy, "akinyi.new")).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });
    expect(await rowCount(legacy)).toBe(rows);

    // The oldest in quarantine is past the store's most-recent list: a take-back all the same.
    expect(await claim(legacy, released[0]!)).toMatchObject({ ok: true, value: { aliasKey: released[0], customerId: legacy.id } });
    // And by a look-alike spelling of an old one (it replaces that row: no name is added).
    expect(await claim(legacy, "o1d.ac")).toMatchObject({ ok: true, value: { aliasKey: "o1d.ac", customerId: legacy.id } });
    // The most recently released one, as before.
    expect(await claim(legacy, released.at(-1)!)).toMatchObject({ ok: true });
    expect(await rowCount(legacy)).toBe(rows);
    expect(await heldBy(legacy)).toEqual(["akinyi.farm", "akinyi.shop", released[0], "o1d.ac", released.at(-1)].sort());

    // Five active: the active limit answers; a release frees an active slot, never a name.
    expect(await claim(legacy, released[5]!)).toEqual({ ok: false, code: "alias_limit_reached" });
    expect(await release(legacy, "akinyi.farm")).toMatchObject({ ok: true });
    expect(await claim(legacy, "akinyi.new")).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });
    expect(await claim(legacy, "akinyi.farm")).toMatchObject({ ok: true });
    expect(await rowCount(legacy)).toBe(rows);
  });

  it("another customer may not take a legacy customer's name in quarantine, old or recent", async () => {
    const legacy = await register("Baraka Legacy");
    const released = await legacyReleased(legacy, "bar", MAX_ALIAS_NAMES_PER_CUSTOMER + 2);
    const other = await register("Chebet Other");
    for (const key of [released[0]!, released.at(-1)!]) expect(await claim(other, key), key).toEqual({ ok: false, code: "alias_cooling" });
  });
});
