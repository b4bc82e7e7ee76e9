// Account reads (every balance a hop shows) run on a statement prepared once per connection, and
// each read still sees the balances of every transfer committed before it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags } from "../../src/core/ledger/types.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isRetryableSqlError } from "../../src/infra/db/sql.js";
import { openTestDb, type TestDb } from "../helpers/db.js";
import { createInstitution } from "../helpers/ledger-setup.js";

describe("ledger account reads on postgres", () => {
  let t: TestDb;
  let ledger: Ledger;
  let institutionId: string;
  // One connection: pg_prepared_statements shows that session's statements.
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 1 });
    institutionId = await createInstitution(t.db, "KES");
    ledger = new Ledger(new SqlLedgerStore(t.db), { isRetryable: isRetryableSqlError });
  });
  afterAll(async () => {
    await ledger.close();
    await t.cleanup();
  });

  it("prepares the read once and answers each read with the balances committed before it", async () => {
    const bank = await ledger.createAccount({ institutionId, currency: "KES", kind: "bank", flags: 0 });
    const wallet = await ledger.createAccount({ institutionId, currency: "KES", kind: "customer_wallet", flags: AccountFlags.debitsMustNotExceedCredits });
    for (let round = 1; round <= 7; round++) {
      const posted = await ledger.transfer({ id: uuidv7(), debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: 100n, code: "cash_in" });
      expect(posted.result).toBe("ok");
      const [read] = await ledger.getAccounts([wallet.id]);
      expect(read!.creditsPosted - read!.debitsPosted).toBe(100n * BigInt(round));
    }
    const both = await ledger.getAccounts([bank.id, wallet.id, uuidv7()]);
    expect(new Set(both.map((a) => a.id))).toEqual(new Set([bank.id, wallet.id]));
    const prepared = await t.db.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE name = 'ledger_get_accounts'");
    expect(prepared.rows).toHaveLength(1);
  });
});
