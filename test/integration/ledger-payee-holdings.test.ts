// The payee's balance cap across the customer's wallets (TransferLimits.payeeHoldingAccountIds),
// through the real writer and store: the other wallets are locked with the transfer's accounts and
// their holdings counted, so neither one payment nor concurrent ones into two wallets of one
// customer pass the customer's cap; accounts that mirror money held elsewhere count nothing.
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { Account, TransferInput, TransferLimits } from "../../src/core/ledger/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { CAP_1000 } from "../helpers/ledger-fixtures.js";
import { expectLedgerConsistent, storedBalances, useLedgerEnv } from "../helpers/ledger-setup.js";

const capTo = (others: Account[]): TransferLimits => ({ timeZone: "UTC", payee: CAP_1000, payeeHoldingAccountIds: others.map((a) => a.id) });

describe.each(STORE_KINDS)("payee cap over the customer's wallets on %s", (kind) => {
  const env = useLedgerEnv(kind);

  const pay = (from: Account, to: Account, amountMinor: bigint, limits?: TransferLimits): TransferInput => ({
    id: uuidv7(),
    debitAccountId: from.id,
    creditAccountId: to.id,
    amountMinor,
    code: "p2p",
    ...(limits ? { limits } : {}),
  });

  /** What the accounts hold together (posted credits less posted debits). */
  async function heldTogether(...accounts: Account[]): Promise<bigint> {
    const stored = await storedBalances(env.db, accounts.map((a) => a.id));
    return accounts.reduce((sum, a) => sum + stored.get(a.id)!.creditsPosted - stored.get(a.id)!.debitsPosted, 0n);
  }

  it("refuses a payment into wallet B when A and B together would pass the cap, with the room the customer has left", async () => {
    const a = await env.wallet(600n);
    const b = await env.wallet(0n);
    const refused = pay(env.bank, b, 500n, capTo([a]));
    const first = await env.ledger.transfer(refused);
    expect(first).toMatchObject({ result: "balance_limit_exceeded", limit: { party: "payee", limit: 1_000n, remainingMinor: 400n } });
    // Per wallet it would have passed: B alone has 1,000 of room.
    expect((await env.ledger.transfer(pay(env.bank, b, 500n, capTo([])))).result).toBe("ok");
    expect(await heldTogether(a, b)).toBe(1_100n);
    expect((await env.ledger.transfer(pay(env.bank, a, 1n, capTo([b])))).result).toBe("balance_limit_exceeded");
    // Once the customer spends from B, the room is back, for either wallet.
    expect((await env.ledger.transfer(pay(b, env.bank, 200n))).result).toBe("ok");
    expect((await env.ledger.transfer(pay(env.bank, a, 101n, capTo([b])))).result).toBe("balance_limit_exceeded");
    expect((await env.ledger.transfer(pay(env.bank, a, 100n, capTo([b])))).result).toBe("ok");
    expect(await heldTogether(a, b)).toBe(1_000n);
    // A retry of the refused id gets the recorded refusal (the payee's), without amounts.
    const again = await env.ledger.transfer(refused);
    expect(again).toEqual({ id: refused.id, result: "balance_limit_exceeded", limit: { ok: false, code: "balance_limit_exceeded", party: "payee" } });
    await expectLedgerConsistent(env.db);
  });

  it("concurrent payments into A and B, from two writers, cannot together pass the cap", async () => {
    const a = await env.wallet(0n);
    const b = await env.wallet(0n);
    const other = env.newLedger();
    // 40 payments of 50 into the two wallets (2,000 in all; 1,000 into each): exactly 20 fit.
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const [to, rest] = i % 2 === 0 ? [a, b] : [b, a];
        return (i % 4 < 2 ? env.ledger : other).transfer(pay(env.bank, to, 50n, capTo([rest])));
      }),
    );
    const counts = outcomes.reduce<Record<string, number>>((c, r) => ({ ...c, [r.result]: (c[r.result] ?? 0) + 1 }), {});
    expect(counts).toEqual({ ok: 20, balance_limit_exceeded: 20 });
    expect(await heldTogether(a, b)).toBe(1_000n);
    await expectLedgerConsistent(env.db);
  });

  it("counts nothing for accounts that mirror money elsewhere (a card, a bank account), and does not cap payments into them", async () => {
    const b = await env.wallet(0n);
    const card = await env.open("instrument");
    const bankAccount = await env.open("instrument");
    // The mirrors have been paid into well past the cap; they hold nothing here.
    expect((await env.ledger.transfer(pay(env.bank, card, 5_000n))).result).toBe("ok");
    expect((await env.ledger.transfer(pay(env.bank, bankAccount, 5_000n))).result).toBe("ok");
    expect((await env.ledger.transfer(pay(env.bank, b, 1_000n, capTo([card, bankAccount])))).result).toBe("ok");
    expect((await env.ledger.transfer(pay(env.bank, b, 1n, capTo([card, bankAccount])))).result).toBe("balance_limit_exceeded");
    // A payment into the card adds nothing to what the customer holds here: no cap, whatever B holds.
    expect((await env.ledger.transfer(pay(env.bank, card, 700n, capTo([b])))).result).toBe("ok");
    await expectLedgerConsistent(env.db);
  });

  it("refuses a malformed list before any state, and nothing is recorded", async () => {
    const a = await env.wallet(0n);
    const b = await env.wallet(0n);
    const bad = pay(env.bank, b, 1n, { ...capTo([a]), payeeHoldingAccountIds: [a.id, a.id] });
    expect((await env.ledger.transfer(bad)).result).toBe("invalid_limits");
    const noPolicy = pay(env.bank, b, 1n, { timeZone: "UTC", payeeHoldingAccountIds: [a.id] });
    expect((await env.ledger.transfer(noPolicy)).result).toBe("invalid_limits");
    const recorded = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfer_failures WHERE id = ANY($1::uuid[])", [[bad.id, noPolicy.id]]);
    expect(recorded.rows[0]!.n).toBe(0);
    expect(await heldTogether(a, b)).toBe(0n);
  });

  it("a wallet frozen by the bank still counts what it holds", async () => {
    const a = await env.wallet(800n);
    const b = await env.wallet(0n);
    await env.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1", [a.id]);
    expect((await env.ledger.transfer(pay(env.bank, b, 201n, capTo([a])))).result).toBe("balance_limit_exceeded");
    expect((await env.ledger.transfer(pay(env.bank, b, 200n, capTo([a])))).result).toBe("ok");
  });
});
