/**
 * The migration that reads "w" as "vv" in the look-alike skeleton (20261218000000) computes every
 * stored skeleton again and keeps every alias: in a group that only now collides ("kavwa" beside
 * "kawva"), a held alias takes the skeleton before a released one, then the oldest; the others are
 * kept without one (each still paid by its own key). Rows whose skeleton did not change keep it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { openTestDbBefore, type TestDb } from "../helpers/db.js";

const SPREAD_W = "20261218000000_alias_lookalike_w";

describe("aliases held before w was read as vv (postgres)", () => {
  let test: TestDb | undefined;
  afterAll(async () => {
    await test?.cleanup();
  });

  async function holder(db: TestDb["db"], institutionId: string, n: number, alias: string, at: string, releasedAt: string | null = null): Promise<string> {
    const [customerId, walletId] = [uuidv7(), uuidv7()];
    await db.query(`INSERT INTO accounts (id, institution_id, currency, kind) VALUES ($1::uuid, $2::uuid, 'KES', 'customer_wallet')`, [walletId, institutionId]);
    await db.query(`INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)`, [
      customerId, institutionId, `+2547129330${String(n).padStart(2, "0")}`, `Holder ${n}`, walletId,
    ]);
    await db.query(`INSERT INTO customer_aliases (alias_key, alias, customer_id, created_at, released_at) VALUES (lower($1), $1, $2::uuid, $3::timestamptz, $4::timestamptz)`, [
      alias, customerId, at, releasedAt,
    ]);
    return customerId;
  }

  it("recomputes every skeleton: one holder per new group (held first, then oldest), unchanged rows keep theirs, new look-alikes are refused", async () => {
    test = await openTestDbBefore("postgres", SPREAD_W);
    const bank = uuidv7();
    await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1::uuid, 'w-bank', 'W Bank', 'KES', 'Africa/Nairobi')`, [bank]);
    // Two skeletons before ("kavwa", "kawva"), one after: the older keeps it.
    await holder(test.db, bank, 1, "kavwa", "2026-11-25T10:00:00Z");
    await holder(test.db, bank, 2, "kawva", "2026-11-26T10:00:00Z");
    // The older of these was released: the held one takes the skeleton.
    await holder(test.db, bank, 3, "sawvu", "2026-11-20T10:00:00Z", "2026-12-10T10:00:00Z");
    await holder(test.db, bank, 4, "savwu", "2026-11-22T10:00:00Z");
    // Untouched by the change.
    await holder(test.db, bank, 5, "john", "2026-11-25T10:00:00Z");
    await holder(test.db, bank, 7, "grace.n", "2026-11-27T10:00:00Z");

    expect((await migrate(test.db))[0]).toBe(SPREAD_W);
    const rows = await test.db.query<{ alias_key: string; alias_lookalike: string | null }>("SELECT alias_key, alias_lookalike FROM customer_aliases ORDER BY alias_key");
    expect(rows.rows.map((r) => [r.alias_key, r.alias_lookalike])).toEqual([
      ["grace.n", "gracen"], ["john", "john"], ["kavwa", "kavvva"], ["kawva", null], ["savwu", "savvvu"], ["sawvu", null],
    ]);
    const stale = await test.db.query<{ n: number }>("SELECT count(*)::int AS n FROM customer_aliases WHERE alias_lookalike <> alias_lookalike(alias_key)");
    expect(stale.rows[0]!.n).toBe(0);
    await expect(holder(test.db, bank, 8, "kavvva", "2026-12-18T10:00:00Z")).rejects.toThrow(/customer_aliases_alias_lookalike_key/);
    const fresh = await holder(test.db, bank, 9, "william", "2026-12-18T10:00:00Z");
    expect((await test.db.query<{ s: string }>("SELECT alias_lookalike AS s FROM customer_aliases WHERE customer_id = $1::uuid", [fresh])).rows[0]!.s).toBe("vvllllam");
  });
});
