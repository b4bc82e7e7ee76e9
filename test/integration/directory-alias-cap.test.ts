/**
 * The names one customer may hold at once, counting the aliases they released that are still in
 * quarantine (held for them alone): MAX_ALIAS_NAMES_PER_CUSTOMER. Without it, claiming five,
 * releasing them and claiming five more kept any number of names from everyone else for 30 days.
 * Taking back one's own alias in quarantine adds no name and is never refused by it. Real
 * PostgreSQL, through the Directory service with a clock of the test's own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Directory } from "../../src/core/directory/directory.js";
import {
  ALIAS_QUARANTINE_DAYS,
  MAX_ALIAS_NAMES_PER_CUSTOMER,
  MAX_ALIASES_PER_CUSTOMER,
  type Customer,
} from "../../src/core/directory/types.js";
import { PrismaDirectoryStore } from "../../src/infra/db/directory-store.js";
import { SYSTEM, asCustomer, openDirectory, type DirectoryFixture } from "./directory-fixture.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("aliases held plus aliases in quarantine are capped per customer (postgres)", () => {
  let f: DirectoryFixture;
  let directory: Directory;
  let clock = new Date("2026-12-01T08:00:00Z");
  let n = 0;
  async function register(name: string): Promise<Customer> {
    const msisdn = `+25471285${String(1000 + n++).padStart(4, "0")}`;
    const result = await directory.register(SYSTEM, { institutionId: f.bankId, msisdn, displayName: name });
    if (!result.ok) throw new Error(`register ${msisdn}: ${result.code}`);
    return result.value;
  }
  const claim = (c: Customer, alias: string) => directory.claimAlias(asCustomer(c.id), c.id, alias);
  const release = (c: Customer, alias: string) => directory.releaseAlias(asCustomer(c.id), c.id, alias);
  const later = (days: number) => {
    clock = new Date(clock.getTime() + days * DAY_MS);
  };
  /** Claims then releases each alias, a minute apart. */
  async function churn(c: Customer, aliases: string[]): Promise<void> {
    for (const alias of aliases) expect(await claim(c, alias), alias).toMatchObject({ ok: true });
    for (const alias of aliases) {
      clock = new Date(clock.getTime() + 60_000);
      expect(await release(c, alias), alias).toMatchObject({ ok: true });
    }
  }
  const rowsOf = async (c: Customer) =>
    (
      await f.test.db.query<{ alias_key: string; released: boolean }>(
        "SELECT alias_key, released_at IS NOT NULL AS released FROM customer_aliases WHERE customer_id = $1 ORDER BY alias_key",
        [c.id],
      )
    ).rows;

  beforeAll(async () => {
    f = await openDirectory("postgres");
    directory = new Directory({ store: new PrismaDirectoryStore(f.prisma, f.test.db), ledger: f.ledger, audit: f.audit, now: () => clock });
  });
  afterAll(async () => {
    await f?.close();
  });

  it("a customer at the cap is refused a new name (nothing written), may take back their own in quarantine, and is free again when it ends", async () => {
    expect(MAX_ALIASES_PER_CUSTOMER).toBe(5);
    expect(MAX_ALIAS_NAMES_PER_CUSTOMER).toBe(10);
    const squatter = await register("Otieno Squat");
    const first = ["duka.one", "duka.two", "duka.three", "duka.four", "duka.five"];
    await churn(squatter, first);
    later(1);
    // Five more held: ten names in all, five of them in quarantine.
    const second = ["shop.one", "shop.two", "shop.three", "shop.four", "shop.five"];
    for (const alias of second) expect(await claim(squatter, alias), alias).toMatchObject({ ok: true });
    expect(await release(squatter, "shop.five")).toMatchObject({ ok: true });

    // Four active, six in quarantine: no new name, though the active limit alone would allow one.
    const before = await f.counts();
    const rowsBefore = await rowsOf(squatter);
    for (const alias of ["kiosk.one", "Kiosk_Two"]) {
      expect(await claim(squatter, alias), alias).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });
      expect(f.audit.entries.at(-1), alias).toMatchObject({
        action: "directory.alias.claim",
        outcome: "refused",
        subject: squatter.id,
        payload: { code: "alias_quarantine_limit_reached" },
      });
    }
    expect(await f.counts()).toEqual(before);
    expect(await rowsOf(squatter)).toEqual(rowsBefore);
    // The names refused stay free for others.
    const other = await register("Wanjiku Honest");
    expect(await claim(other, "kiosk.one")).toMatchObject({ ok: true, value: { customerId: other.id } });

    // Taking back one's own name in quarantine adds none: allowed at the cap, as another spelling of it.
    expect(await claim(squatter, "shop.five")).toMatchObject({ ok: true, value: { aliasKey: "shop.five", customerId: squatter.id } });
    expect(await release(squatter, "shop.four")).toMatchObject({ ok: true });
    expect(await claim(squatter, "duka_one")).toMatchObject({ ok: true, value: { aliasKey: "duka_one", customerId: squatter.id } });
    expect((await directory.getProfile(squatter.id))?.aliases.map((a) => a.aliasKey).sort()).toEqual(
      ["duka_one", "shop.five", "shop.one", "shop.three", "shop.two"],
    );
    // Five active: the active limit answers first, as before.
    expect(await claim(squatter, "kiosk.three")).toEqual({ ok: false, code: "alias_limit_reached" });
    expect(await release(squatter, "shop.one")).toMatchObject({ ok: true });
    expect(await claim(squatter, "kiosk.three")).toEqual({ ok: false, code: "alias_quarantine_limit_reached" });

    // Once the first five are out of quarantine they no longer count (and are anyone's to claim).
    later(ALIAS_QUARANTINE_DAYS - 0.5);
    expect(await claim(squatter, "kiosk.three")).toMatchObject({ ok: true });
    expect(await claim(other, "duka.two")).toMatchObject({ ok: true, value: { customerId: other.id } });
  });

  it("concurrent claims of one customer cannot pass the cap, and taking back their own among them still works", async () => {
    const racer = await register("Kamau Racer");
    // Nine in quarantine, none active: room for one name more.
    await churn(racer, ["mama.a", "mama.b", "mama.c", "mama.d", "mama.e"]);
    await churn(racer, ["baba.a", "baba.b", "baba.c", "baba.d"]);
    later(1);
    const fresh = ["race.a", "race.b", "race.c", "race.d", "race.e"];
    const results = await Promise.all([...fresh.map((alias) => claim(racer, alias)), claim(racer, "mama.c")]);
    const tally: Record<string, number> = {};
    for (const r of results.slice(0, fresh.length)) tally[r.ok ? "ok" : r.code] = (tally[r.ok ? "ok" : r.code] ?? 0) + 1;
    expect(tally).toEqual({ ok: 1, alias_quarantine_limit_reached: 4 });
    expect(results.at(-1)).toMatchObject({ ok: true, value: { aliasKey: "mama.c", customerId: racer.id } });
    const rows = await rowsOf(racer);
    expect(rows.filter((r) => !r.released)).toHaveLength(2);
    expect(rows).toHaveLength(MAX_ALIAS_NAMES_PER_CUSTOMER);
  });
});
