// An institution's system accounts (fee income, bank, settlement, telco payables) are opened on
// first use. The first payments after a start ask for them together: they must share one open,
// and a second process opening the same account at the same time must find the first one's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSystemAccount, systemAccountId } from "../../src/core/institutions/system-accounts.js";
import { openLedgerEnv, type LedgerEnv } from "../helpers/ledger-setup.js";

describe("system accounts on postgres", () => {
  let env: LedgerEnv;
  beforeAll(async () => {
    env = await openLedgerEnv("postgres");
  });
  afterAll(() => env.cleanup());

  const institution = () => ({ id: env.institutionId, currency: "KES" });
  const accountsNamed = async (id: string) => (await env.db.query<{ n: string }>("SELECT count(*)::text AS n FROM accounts WHERE id = $1", [id])).rows[0]!.n;

  it("30 callers at once in one process share one open: one insert, one account, no failed statement", async () => {
    const creates: string[] = [];
    const ledger = env.newLedger();
    const createAccount = ledger.createAccount.bind(ledger);
    ledger.createAccount = (input) => {
      creates.push(input.kind);
      return createAccount(input);
    };
    const ids = await Promise.all(Array.from({ length: 30 }, () => ensureSystemAccount(ledger, institution(), { kind: "fee_income" })));
    const expected = systemAccountId(env.institutionId, { kind: "fee_income" });
    expect(new Set(ids)).toEqual(new Set([expected]));
    expect(creates).toEqual(["fee_income"]);
    expect(await accountsNamed(expected)).toBe("1");
    // Known from now on: no further read or insert.
    expect(await ensureSystemAccount(ledger, institution(), { kind: "fee_income" })).toBe(expected);
    expect(creates).toHaveLength(1);
  });

  it("two processes opening one account at once both get it, and it exists once", async () => {
    const [a, b] = [env.newLedger(), env.newLedger()];
    const purpose = { kind: "telco_payable" as const, telcoId: "telco-race" };
    const ids = await Promise.all([
      ...Array.from({ length: 10 }, () => ensureSystemAccount(a, institution(), purpose)),
      ...Array.from({ length: 10 }, () => ensureSystemAccount(b, institution(), purpose)),
    ]);
    const expected = systemAccountId(env.institutionId, purpose);
    expect(new Set(ids)).toEqual(new Set([expected]));
    expect(await accountsNamed(expected)).toBe("1");
    const account = await a.getAccount(expected);
    expect(account).toMatchObject({ kind: "telco_payable", ownerRef: "telco-race", currency: "KES" });
  });

  it("a failed open is not remembered: the next caller tries again", async () => {
    const ledger = env.newLedger();
    const getAccount = ledger.getAccount.bind(ledger);
    let outage = true;
    ledger.getAccount = (id) => (outage ? Promise.reject(new Error("database unavailable")) : getAccount(id));
    const purpose = { kind: "settlement" as const };
    const failed = await Promise.allSettled([ensureSystemAccount(ledger, institution(), purpose), ensureSystemAccount(ledger, institution(), purpose)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    outage = false;
    expect(await ensureSystemAccount(ledger, institution(), purpose)).toBe(systemAccountId(env.institutionId, purpose));
  });
});
