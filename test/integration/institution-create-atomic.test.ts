// Creating an institution writes its row, its audit entry and its system accounts (fee income, bank)
// all or nothing: an accounts write that fails for real (a constraint the test adds to the accounts
// table) leaves no institution behind without its accounts, and the operator's retry with the same
// code then creates it whole rather than answering "code taken".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/access/types.js";
import { Institutions } from "../../src/core/institutions/institutions.js";
import { systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import { SqlInstitutionStore } from "../../src/infra/db/institution-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { openTestDb, STORE_KINDS, type TestDb } from "../helpers/db.js";

const PLATFORM: Principal = { keyId: "env", role: "platform", institutionId: null };
const INPUT = { code: "atomic-ke", name: "Atomic Bank", currency: "KES", timezone: "Africa/Nairobi" };

describe.each(STORE_KINDS)("institution creation on %s", (kind) => {
  let test: TestDb;
  let ledger: Ledger;
  let institutions: Institutions;

  beforeAll(async () => {
    test = await openTestDb(kind, { maxConnections: 4 });
    ledger = new Ledger(new SqlLedgerStore(test.db));
    institutions = new Institutions({ store: new SqlInstitutionStore(test.db), ledger });
  });
  afterAll(async () => {
    await ledger.close();
    await test.cleanup();
  });

  const counts = async () => {
    const row = await test.db.query<{ institutions: number; accounts: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM institutions WHERE code = $1) AS institutions,
              (SELECT count(*)::int FROM accounts a JOIN institutions i ON i.id = a.institution_id WHERE i.code = $1) AS accounts,
              (SELECT count(*)::int FROM audit_log WHERE action = 'admin.institution.create') AS audit`,
      [INPUT.code],
    );
    return row.rows[0];
  };

  it("a failed system-account write leaves nothing; the retry creates the institution with its accounts", async () => {
    // The bank's operating account cannot be written: the write after the institution's and the fee account's fails.
    await test.db.exec(`ALTER TABLE accounts ADD CONSTRAINT test_no_bank_account CHECK (kind <> 'bank') NOT VALID`);
    await expect(institutions.create(PLATFORM, INPUT)).rejects.toThrow(/test_no_bank_account/);
    expect(await counts()).toEqual({ institutions: 0, accounts: 0, audit: 0 });

    await test.db.exec(`ALTER TABLE accounts DROP CONSTRAINT test_no_bank_account`);
    const created = await institutions.create(PLATFORM, INPUT);
    if (!created.ok) throw new Error(`retry refused: ${created.code}`);
    const id = created.institution.id;
    const accounts = await test.db.query<{ id: string; kind: string; currency: string; owner_ref: string }>(
      `SELECT id, kind, currency, owner_ref FROM accounts WHERE institution_id = $1 ORDER BY kind`,
      [id],
    );
    expect(accounts.rows).toEqual([
      { id: systemAccountId(id, { kind: "bank" }), kind: "bank", currency: "KES", owner_ref: id },
      { id: systemAccountId(id, { kind: "fee_income" }), kind: "fee_income", currency: "KES", owner_ref: id },
    ]);
    expect(await counts()).toEqual({ institutions: 1, accounts: 2, audit: 1 });
    // The ledger reads them as any account it opened.
    expect((await ledger.getAccount(systemAccountId(id, { kind: "bank" })))?.status).toBe("active");
  });
});
