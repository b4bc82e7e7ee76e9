/**
 * The migration that made aliases unique by their look-alike skeleton (20261206000000) keeps every
 * alias already held: in a group that already collides ("john", "j0hn"), the oldest takes the
 * skeleton and the others are kept without one, each still paid by its own key; new look-alikes
 * are then refused by the index.
 */
import { afterAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { openTestDbBefore, type TestDb } from "../helpers/db.js";

const LOOKALIKE = "20261206000000_alias_lookalike";

describe("aliases held before the look-alike rule (postgres)", () => {
  let test: TestDb | undefined;
  afterAll(async () => {
    await test?.cleanup();
  });

  async function holder(db: TestDb["db"], institutionId: string, n: number, alias: string, at: string): Promise<string> {
    const [customerId, walletId] = [uuidv7(), uuidv7()];
    await db.query(`INSERT INTO accounts (id, institution_id, currency, kind) VALUES ($1::uuid, $2::uuid, 'KES', 'customer_wallet')`, [walletId, institutionId]);
    await db.query(`INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)`, [
      customerId, institutionId, `+2547127960${String(n).padStart(2, "0")}`, `Holder ${n}`, walletId,
    ]);
    await db.query(`INSERT INTO customer_aliases (alias_key, alias, customer_id, created_at) VALUES (lower($1), $1, $2::uuid, $3::timestamptz)`, [alias, customerId, at]);
    return customerId;
  }

  it("the oldest of a look-alike group takes the skeleton, the others keep their alias, and a new look-alike is refused", async () => {
    test = await openTestDbBefore("postgres", LOOKALIKE);
    const bank = uuidv7();
    await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1::uuid, 'look-bank', 'Lookalike Bank', 'KES', 'Africa/Nairobi')`, [bank]);
    await holder(test.db, bank, 1, "j0hn", "2026-11-26T10:00:00Z");
    const oldest = await holder(test.db, bank, 2, "john", "2026-11-25T10:00:00Z");
    await holder(test.db, bank, 3, "bill", "2026-11-27T10:00:00Z");
    expect((await migrate(test.db))[0]).toBe(LOOKALIKE);
    const rows = await test.db.query<{ alias_key: string; alias_lookalike: string | null; customer_id: string }>(
      "SELECT alias_key, alias_lookalike, customer_id FROM customer_aliases ORDER BY alias_key",
    );
    expect(rows.rows.map((r) => [r.alias_key, r.alias_lookalike])).toEqual([["bill", "blll"], ["j0hn", null], ["john", "john"]]);
    expect(rows.rows.find((r) => r.alias_key === "john")!.customer_id).toBe(oldest);
    await expect(holder(test.db, bank, 4, "bi1l", "2026-12-06T10:00:00Z")).rejects.toThrow(/customer_aliases_alias_lookalike_key/);
    const fresh = await holder(test.db, bank, 5, "grace.n", "2026-12-06T10:00:00Z");
    expect((await test.db.query<{ s: string }>("SELECT alias_lookalike AS s FROM customer_aliases WHERE customer_id = $1::uuid", [fresh])).rows[0]!.s).toBe("gracen");
  });
});
