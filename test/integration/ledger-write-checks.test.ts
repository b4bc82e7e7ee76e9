// The batch's write checks what it wrote inside its own statement, so that on PostgreSQL its
// COMMIT can travel in the same round trip (pipelined): a failed or short write must leave
// nothing behind, and a conflict must come back as LedgerConflict (the batch is decided again).
// Both engines, with decisions tampered with on their way to the store.
import { describe, expect, it } from "vitest";
import { decideBatch } from "../../src/core/ledger/decide.js";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import { LedgerConflict } from "../../src/core/ledger/ports.js";
import type { BatchDecision, LedgerSnapshot } from "../../src/core/ledger/snapshot.js";
import type { Account, TransferInput } from "../../src/core/ledger/types.js";
import { keysOf } from "../../src/core/ledger/writer.js";
import { readHead } from "../../src/infra/db/audit-store.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { STORE_KINDS } from "../helpers/db.js";
import { createInstitution, expectLedgerConsistent, storedBalances, useLedgerEnv } from "../helpers/ledger-setup.js";

describe.each(STORE_KINDS)("ledger write checks on %s", (kind) => {
  const env = useLedgerEnv(kind);

  /** Applies `groups` with the decision changed by `tamper` before it is written. */
  function applyTampered(groups: TransferInput[][], tamper: (d: BatchDecision) => void, look?: (s: LedgerSnapshot) => void): Promise<BatchDecision> {
    const now = new Date();
    return new SqlLedgerStore(env.db).applyBatch(keysOf(groups, now), (snapshot) => {
      look?.(snapshot);
      const decision = decideBatch(snapshot, groups, now);
      tamper(decision);
      return decision;
    });
  }

  async function stored(ids: string[]): Promise<number> {
    const result = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[])", [ids]);
    return result.rows[0]!.n;
  }

  it("a transfer id written meanwhile fails the whole write as LedgerConflict, and nothing of it is committed", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const first = { id: uuidv7(), debitAccountId: a.id, creditAccountId: b.id, amountMinor: 100n, code: "p2p" };
    expect((await env.ledger.transfer(first)).result).toBe("ok");
    const before = await storedBalances(env.db, [a.id, b.id]);
    const head = await readHead(env.db);
    const fresh = { ...first, id: uuidv7(), amountMinor: 200n };
    // As if a concurrent batch had inserted the first id after this one's existence read.
    const attempt = applyTampered([[fresh]], (d) => d.transfers.push({ ...d.transfers[0]!, id: first.id }));
    await expect(attempt).rejects.toBeInstanceOf(LedgerConflict);
    expect(await stored([fresh.id])).toBe(0);
    expect(await storedBalances(env.db, [a.id, b.id])).toEqual(before);
    expect(await readHead(env.db)).toEqual(head);
    await expectLedgerConsistent(env.db);
  });

  it("a notice already in the outbox (a short insert) aborts the write as LedgerConflict before its COMMIT", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const notice = { msisdn: "+254712345678", template: "receipt.p2p_sent", params: { amount: "1" }, kind: "receipt" as const };
    const first = { id: uuidv7(), debitAccountId: a.id, creditAccountId: b.id, amountMinor: 100n, code: "p2p", notices: [notice] };
    expect((await env.ledger.transfer(first)).result).toBe("ok");
    const before = await storedBalances(env.db, [a.id, b.id]);
    const head = await readHead(env.db);
    const fresh = { ...first, id: uuidv7() };
    // The outbox insert skips a row that exists (ON CONFLICT DO NOTHING); the statement's own check catches it.
    const attempt = applyTampered([[fresh]], (d) => {
      d.notices![0]!.id = derivedUuid(`fingate:notice:${first.id}:0`);
    });
    await expect(attempt).rejects.toBeInstanceOf(LedgerConflict);
    expect(await stored([fresh.id])).toBe(0);
    expect(await storedBalances(env.db, [a.id, b.id])).toEqual(before);
    expect(await readHead(env.db)).toEqual(head);
    // The store is usable afterwards: the same transfer, untampered, goes through.
    expect((await env.ledger.transfer(fresh)).result).toBe("ok");
    await expectLedgerConsistent(env.db);
  });

  it("gives the decision every locked account as stored (institution, currency, kind, status, flags, owner, balances)", async () => {
    const other = await createInstitution(env.db, "UGX");
    const accounts = await env.ledger.createAccounts([
      { institutionId: env.institutionId, currency: "KES", kind: "customer_wallet", flags: 1, ownerRef: "owner, with; separators ∑ 😀" },
      { institutionId: other, currency: "UGX", kind: "merchant", flags: 2, ownerRef: "" },
      { institutionId: env.institutionId, currency: "KES", kind: "bank" },
      { institutionId: other, currency: "UGX", kind: "agent_float", ownerRef: "0" },
    ]);
    const [wallet, merchant, bank, float] = accounts as [Account, Account, Account, Account];
    await env.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1::uuid", [float.id]);
    const moves = [
      { id: uuidv7(), debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: 9_007_199_254_740_993n, code: "cash_in" },
      { id: uuidv7(), debitAccountId: float.id, creditAccountId: merchant.id, amountMinor: 5n, code: "p2p" },
    ];
    await env.ledger.transfer(moves[0]!);
    const stored = await env.ledger.getAccounts(accounts.map((a) => a.id));
    let seen: Account[] = [];
    await applyTampered([[{ id: uuidv7(), debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: 1n, code: "p2p" }], [moves[1]!]], () => undefined, (snapshot) => {
      seen = [...snapshot.accounts.values()].map((a) => ({ ...a }));
    });
    const byId = (list: Account[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(seen)).toEqual(byId(stored));
    expect(seen.find((a) => a.id === float.id)).toMatchObject({ status: "frozen", ownerRef: "0", kind: "agent_float" });
    expect(seen.find((a) => a.id === wallet.id)).toMatchObject({ ownerRef: "owner, with; separators ∑ 😀", creditsPosted: 9_007_199_254_740_993n, flags: 1 });
    expect(seen.find((a) => a.id === merchant.id)).toMatchObject({ ownerRef: "", currency: "UGX", flags: 2 });
  });

  // On PostgreSQL the write takes each locked account once from the snapshot (every one is
  // written, so its version moves), so a decision listing an account twice cannot reach the check.
  it.runIf(kind === "pglite")("a balance the write could not update aborts it (an error, not a conflict), and nothing is committed", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const before = await storedBalances(env.db, [a.id, b.id]);
    const fresh = { id: uuidv7(), debitAccountId: a.id, creditAccountId: b.id, amountMinor: 100n, code: "p2p" };
    // Two entries for one account: the UPDATE touches the row once, the check expects two.
    const attempt = applyTampered([[fresh]], (d) => d.accounts.push(d.accounts[0]!));
    await expect(attempt).rejects.toThrow(/fewer account balances/);
    await expect(attempt).rejects.not.toBeInstanceOf(LedgerConflict);
    expect(await stored([fresh.id])).toBe(0);
    expect(await storedBalances(env.db, [a.id, b.id])).toEqual(before);
    await expectLedgerConsistent(env.db);
  });

  it.runIf(kind === "postgres")("writes every locked account once, at its next version, whatever the decision lists", async () => {
    const [a, b] = await Promise.all([env.wallet(1_000n), env.wallet(0n)]);
    const versions = async () => (await env.db.query<{ v: string }>("SELECT version::text AS v FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id", [[a.id, b.id]])).rows.map((r) => BigInt(r.v));
    const before = await versions();
    const fresh = { id: uuidv7(), debitAccountId: a.id, creditAccountId: b.id, amountMinor: 100n, code: "p2p" };
    const decision = await applyTampered([[fresh]], (d) => d.accounts.push(d.accounts[0]!));
    expect(decision.results[0]![0]!.result).toBe("ok");
    expect(await stored([fresh.id])).toBe(1);
    expect(await versions()).toEqual(before.map((v) => v + 1n));
    const after = await storedBalances(env.db, [a.id, b.id]);
    expect(after.get(a.id)!.debitsPosted).toBe(100n);
    expect(after.get(b.id)!.creditsPosted).toBe(100n);
    await expectLedgerConsistent(env.db);
  });
});
