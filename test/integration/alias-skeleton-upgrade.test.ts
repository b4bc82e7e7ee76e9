/**
 * The migration that made aliases unique by their skeleton (the key without separators) keeps
 * every alias already held: in a group that already collides, the oldest takes the skeleton and
 * the others are kept without one, still found by their exact key; new claims are then refused.
 */
import { afterAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { STORE_KINDS, openTestDbBefore, type TestDb } from "../helpers/db.js";

const SKELETON = "20261129030000_alias_skeleton";

describe.each(STORE_KINDS)("aliases held before the skeleton rule (%s)", (kind) => {
  let test: TestDb | undefined;
  afterAll(async () => {
    await test?.cleanup();
  });

  /** A customer of its own (wallet account and all) holding the alias, created at `at`. */
  async function holder(db: TestDb["db"], institutionId: string, n: number, alias: string, at: string): Promise<string> {
    const [customerId, walletId] = [uuidv7(), uuidv7()];
    await db.query(`INSERT INTO accounts (id, institution_id, currency, kind) VALUES ($1::uuid, $2::uuid, 'KES', 'customer_wallet')`, [walletId, institutionId]);
    await db.query(`INSERT INTO customers (id, institution_id, msisdn, display_name, wallet_account_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)`, [
      customerId, institutionId, `+2547123110${String(n).padStart(2, "0")}`, `Holder ${n}`, walletId,
    ]);
    await db.query(`INSERT INTO customer_aliases (alias_key, alias, customer_id, created_at) VALUES (lower($1), $1, $2::uuid, $3::timestamptz)`, [alias, customerId, at]);
    return customerId;
  }

  it("the oldest of a colliding group takes the skeleton; the others are kept and still found; a new spelling is refused", async () => {
    test = await openTestDbBefore(kind, SKELETON);
    const bank = uuidv7();
    await test.db.query(`INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1::uuid, 'skel-bank', 'Skeleton Bank', 'KES', 'Africa/Nairobi')`, [bank]);
    await holder(test.db, bank, 1, "mamajane", "2026-11-26T10:00:00Z");
    const oldest = await holder(test.db, bank, 2, "mama.jane", "2026-11-25T10:00:00Z");
    await holder(test.db, bank, 3, "mama_jane", "2026-11-27T10:00:00Z");
    await holder(test.db, bank, 4, "baba.tom", "2026-11-27T10:00:00Z");
    expect((await migrate(test.db))[0]).toBe(SKELETON);
    const rows = await test.db.query<{ alias_key: string; alias_skeleton: string | null; customer_id: string }>(
      "SELECT alias_key, alias_skeleton, customer_id FROM customer_aliases ORDER BY alias_key",
    );
    expect(rows.rows.map((r) => [r.alias_key, r.alias_skeleton])).toEqual([
      ["baba.tom", "babatom"],
      ["mama.jane", "mamajane"],
      ["mama_jane", null],
      ["mamajane", null],
    ]);
    expect(rows.rows.find((r) => r.alias_key === "mama.jane")!.customer_id).toBe(oldest);
    // A new alias gets its skeleton from the trigger, and one colliding with a held skeleton is refused.
    const newcomer = await holder(test.db, bank, 5, "kofi.b", "2026-11-29T10:00:00Z");
    expect((await test.db.query<{ s: string }>("SELECT alias_skeleton AS s FROM customer_aliases WHERE customer_id = $1::uuid", [newcomer])).rows[0]!.s).toBe("kofib");
    await expect(holder(test.db, bank, 6, "baba-tom", "2026-11-29T10:00:00Z")).rejects.toThrow(/customer_aliases_alias_skeleton_key/);
  });
});
