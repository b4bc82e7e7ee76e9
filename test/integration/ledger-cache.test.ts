// SqlLedgerStore's cached path on real PostgreSQL: a batch whose accounts a store last wrote is
// decided on its own copies and written with a compare-and-set. These tests make the copies go
// stale behind the store's back (another gateway process, an operator's UPDATE, an id recorded
// elsewhere) and check that the answer is still the one the locked path would give: exact result
// codes, exact balances, the path counters, and a consistent ledger.
import { describe, expect, it } from "vitest";
import { AccountFlags, type Account, type TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { balancesOf, failureOf, move, transferCount, useGateways } from "../helpers/ledger-gateways.js";
import { expectLedgerConsistent, storedBalances, useLedgerEnv } from "../helpers/ledger-setup.js";
import { limitUsageLabels } from "../helpers/limit-usage.js";

const WALLET = AccountFlags.debitsMustNotExceedCredits;
// After a conflict the store may keep the batch's accounts out of its cache for a while
// (LedgerCache's cooling), so a test that needs a warm cache after one uses a new process.



describe("ledger cached path on postgres", () => {
  const env = useLedgerEnv("postgres");

  const gateway = useGateways(() => env.db);


  const balances = (...accounts: Account[]) => balancesOf(env.db, ...accounts);

  it("takes the cached path once the accounts are warm, with exact balances", async () => {
    const a = await env.wallet(1_000n);
    const b = await env.open("customer_wallet", WALLET);
    const p = gateway();
    expect((await p.ledger.transfer(move(a, b, 100n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
    expect((await p.ledger.transfer(move(a, b, 200n))).result).toBe("ok");
    expect((await p.ledger.transfer(move(b, a, 50n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 2, locked: 0, conflicts: 0 });
    // A refusal on the warm path is recorded there too, and moves nothing.
    const over = move(b, a, 251n);
    expect((await p.ledger.transfer(over)).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 1, locked: 0, conflicts: 0 });
    expect(await failureOf(env.db, over.id)).toEqual(["exceeds_credits"]);
    expect(await balances(a, b)).toEqual([
      [0n, 300n, 0n, 1_050n],
      [0n, 50n, 0n, 300n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  it("pays from a credit another process made after the payer was cached empty", async () => {
    const w = await env.wallet(0n);
    const m = await env.open("merchant");
    const p = gateway();
    const other = env.newLedger();
    // Caches W with nothing in it (a refusal is decided on locked rows, and remembered).
    expect((await p.ledger.transfer(move(w, m, 50n))).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
    expect((await other.transfer(move(env.bank, w, 100n, { code: "cash_in" }))).result).toBe("ok");
    // Payable only with the new credit: the stale copy would refuse it, the write must notice.
    expect((await p.ledger.transfer(move(w, m, 80n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await balances(w, m)).toEqual([
      [0n, 80n, 0n, 100n],
      [0n, 0n, 0n, 80n],
    ]);
    // A process that caches W now decides on the new balance, on the cached path, exactly.
    const q = gateway();
    expect((await q.ledger.transfer(move(w, m, 15n))).result).toBe("ok");
    expect((await q.ledger.transfer(move(w, m, 5n))).result).toBe("ok");
    expect((await q.ledger.transfer(move(w, m, 1n))).result).toBe("exceeds_credits");
    expect(q.delta()).toEqual({ cached: 2, locked: 1, conflicts: 0 });
    expect(await balances(w)).toEqual([[0n, 100n, 0n, 100n]]);
    await expectLedgerConsistent(env.db);
  });

  it("refuses to overdraw funds another process spent after they were cached", async () => {
    const w = await env.wallet(100n);
    const m = await env.open("merchant");
    const m2 = await env.open("merchant");
    const p = gateway();
    const other = env.newLedger();
    expect((await p.ledger.transfer(move(w, m, 10n))).result).toBe("ok");
    expect((await p.ledger.transfer(move(w, m, 10n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 1, locked: 1, conflicts: 0 });
    // The copy still says 80 is left; the other process spends all of it.
    expect((await other.transfer(move(w, m2, 80n))).result).toBe("ok");
    const late = move(w, m, 50n);
    expect((await p.ledger.transfer(late)).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await failureOf(env.db, late.id)).toEqual(["exceeds_credits"]);
    expect(await transferCount(env.db, late.id)).toBe(0);
    expect(await balances(w, m, m2)).toEqual([
      [0n, 100n, 0n, 100n],
      [0n, 0n, 0n, 20n],
      [0n, 0n, 0n, 80n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  it("sees an operator's freeze and unfreeze behind the cache, and still answers exists for a known id", async () => {
    const w = await env.wallet(1_000n);
    const m = await env.open("merchant");
    const status = (account: Account, to: "active" | "frozen") => env.db.query("UPDATE accounts SET status = $2 WHERE id = $1", [account.id, to]);
    const p = gateway();
    const first = move(w, m, 100n);
    expect((await p.ledger.transfer(first)).result).toBe("ok");
    expect((await p.ledger.transfer(move(w, m, 100n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 1, locked: 1, conflicts: 0 });

    await status(w, "frozen");
    const frozen = move(w, m, 100n);
    expect((await p.ledger.transfer(frozen)).result).toBe("debit_account_frozen");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await failureOf(env.db, frozen.id)).toEqual(["debit_account_frozen"]);

    // A process that caches W as frozen writes a refusal decided on that copy by the cached path...
    const q = gateway();
    expect((await q.ledger.transfer(move(w, m, 1n))).result).toBe("debit_account_frozen");
    expect((await q.ledger.transfer(move(w, m, 1n))).result).toBe("debit_account_frozen");
    expect(q.delta()).toEqual({ cached: 1, locked: 1, conflicts: 0 });
    // ...but an id accepted before the freeze is still `exists`, not a refusal recorded under it.
    expect((await q.ledger.transfer({ ...first })).result).toBe("exists");
    expect(q.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await failureOf(env.db, first.id)).toEqual([]);

    // The credit side, frozen behind a cache that has both accounts active.
    await status(w, "active");
    const r = gateway();
    expect((await r.ledger.transfer(move(w, m, 100n))).result).toBe("ok");
    await status(m, "frozen");
    expect((await r.ledger.transfer(move(w, m, 100n))).result).toBe("credit_account_frozen");
    expect(r.delta()).toEqual({ cached: 0, locked: 2, conflicts: 1 });

    // Unfrozen behind a cache that says frozen: accepted, not refused on the stale status.
    const s = gateway();
    expect((await s.ledger.transfer(move(w, m, 1n))).result).toBe("credit_account_frozen");
    await status(m, "active");
    expect((await s.ledger.transfer(move(w, m, 100n))).result).toBe("ok");
    expect(s.delta()).toEqual({ cached: 0, locked: 2, conflicts: 1 });
    expect(await balances(w, m)).toEqual([
      [0n, 400n, 0n, 1_000n],
      [0n, 0n, 0n, 400n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  it("answers exists and exists_with_different_amount for an id another process (or itself) accepted", async () => {
    const a = await env.wallet(1_000n);
    const b = await env.open("customer_wallet", WALLET);
    const other = env.newLedger();
    /** A new process that has cached A and B (by moving 1 between them, on the locked path). */
    const warmed = async () => {
      const g = gateway();
      expect((await g.ledger.transfer(move(a, b, 1n))).result).toBe("ok");
      expect(g.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
      return g;
    };

    const p = await warmed();
    const x = move(a, b, 100n);
    expect((await other.transfer(x)).result).toBe("ok");
    // Stale balances and a known id.
    expect((await p.ledger.transfer({ ...x })).result).toBe("exists");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    // Current copies: the repeated id is caught by the transfers' key alone.
    const q = await warmed();
    expect((await q.ledger.transfer({ ...x, amountMinor: 101n })).result).toBe("exists_with_different_amount");
    expect(q.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    // Decided on the copy as a refusal (it would overdraw): the failure may not take an accepted id.
    const r = await warmed();
    expect((await r.ledger.transfer({ ...x, amountMinor: 5_000n })).result).toBe("exists_with_different_amount");
    expect(r.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await failureOf(env.db, x.id)).toEqual([]);

    // An id a process itself accepted on its warm cache, resubmitted there.
    const s = await warmed();
    const y = move(a, b, 7n);
    expect((await s.ledger.transfer(y)).result).toBe("ok");
    expect(s.delta()).toEqual({ cached: 1, locked: 0, conflicts: 0 });
    expect((await s.ledger.transfer({ ...y })).result).toBe("exists");
    expect(s.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });

    expect(await transferCount(env.db, x.id)).toBe(1);
    expect(await transferCount(env.db, y.id)).toBe(1);
    expect(await balances(a, b)).toEqual([
      [0n, 111n, 0n, 1_000n],
      [0n, 0n, 0n, 111n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  it("a retry of a recorded failure returns the failure, even once the payer has the funds", async () => {
    const a = await env.wallet(0n);
    const b = await env.open("merchant");
    const p = gateway();
    const q = gateway();
    const other = env.newLedger();
    expect((await p.ledger.transfer(move(a, b, 10n))).result).toBe("exceeds_credits");
    expect((await q.ledger.transfer(move(a, b, 10n))).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });

    // Recorded by the other process; a refusal changes no balance, so p's copy of A stays current.
    const f = move(a, b, 50n);
    expect((await other.transfer(f)).result).toBe("exceeds_credits");
    // Funded through p itself (the bank is not cached there: the locked path), so p's copy of A is fresh.
    expect((await p.ledger.transfer(move(env.bank, a, 100n, { code: "cash_in" }))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
    // The copy says 50 is payable; only the id recorded among the failures can stop it.
    expect((await p.ledger.transfer({ ...f })).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });

    // Funded through the other process, behind q's copy of A (still empty there).
    const g = move(a, b, 150n);
    expect((await other.transfer(g)).result).toBe("exceeds_credits");
    expect((await other.transfer(move(env.bank, a, 100n, { code: "cash_in" }))).result).toBe("ok");
    q.delta();
    expect((await q.ledger.transfer({ ...g })).result).toBe("exceeds_credits");
    expect(q.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    // A process with current copies that would pay it.
    const r = gateway();
    expect((await r.ledger.transfer(move(a, b, 1n))).result).toBe("ok");
    expect((await r.ledger.transfer({ ...g })).result).toBe("exceeds_credits");
    expect(r.delta()).toEqual({ cached: 0, locked: 2, conflicts: 1 });

    expect(await transferCount(env.db, f.id)).toBe(0);
    expect(await transferCount(env.db, g.id)).toBe(0);
    expect(await failureOf(env.db, f.id)).toEqual(["exceeds_credits"]);
    expect(await failureOf(env.db, g.id)).toEqual(["exceeds_credits"]);
    expect(await balances(a, b)).toEqual([
      [0n, 1n, 0n, 200n],
      [0n, 0n, 0n, 1n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  const DAY_500: LimitPolicy = {
    maxPerTransactionMinor: 1_000_000n,
    maxDailyAmountMinor: 500n,
    maxDailyCount: 1_000,
    maxMonthlyAmountMinor: 10_000_000n,
    maxBalanceMinor: 10_000_000n,
  };

  it("does not pass a daily limit that another process used part of behind the cached usage", async () => {
    const limits: TransferLimits = { timeZone: "UTC", payer: DAY_500 };
    const payer = await env.wallet(10_000n);
    const m = await env.open("merchant");
    // One clock for both processes, so that the day cannot change during the test.
    const at = new Date();
    const now = () => at;
    const p = gateway({}, { now });
    const other = env.newLedger({ now });
    expect((await p.ledger.transfer(move(payer, m, 100n, { limits }))).result).toBe("ok");
    expect((await p.ledger.transfer(move(payer, m, 100n, { limits }))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 1, locked: 1, conflicts: 0 });
    // p's copies: 200 used today. The other process uses 250 more.
    expect((await other.transfer(move(payer, m, 250n, { limits }))).result).toBe("ok");
    const over = move(payer, m, 100n, { limits });
    const refused = await p.ledger.transfer(over);
    expect(refused.result).toBe("daily_amount_exceeded");
    expect(refused.limit).toMatchObject({ code: "daily_amount_exceeded", limit: 500n, remainingMinor: 50n });
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 1 });
    expect(await failureOf(env.db, over.id)).toEqual(["daily_amount_exceeded"]);
    // A process with current copies: exactly the rest of the day's limit passes, then nothing (cached).
    const q = gateway({}, { now });
    expect((await q.ledger.transfer(move(payer, m, 50n, { limits }))).result).toBe("ok");
    expect((await q.ledger.transfer(move(payer, m, 1n, { limits }))).result).toBe("daily_amount_exceeded");
    expect(q.delta()).toEqual({ cached: 1, locked: 1, conflicts: 0 });
    // The other process's copies are stale now too.
    expect((await other.transfer(move(payer, m, 1n, { limits }))).result).toBe("daily_amount_exceeded");

    expect(await limitUsageLabels(env.db, payer.id)).toEqual(["day 500/4", "month 500/4"]);
    expect(await balances(payer, m)).toEqual([
      [0n, 500n, 0n, 10_000n],
      [0n, 0n, 0n, 500n],
    ]);
    await expectLedgerConsistent(env.db);
  });

  // Regression: counters cached with an older version of the payer's account, kept after a locked
  // read refreshed the account without them (here an unlimited transfer), let a limited batch pass
  // the day's limit on the cached path and write the counters down. Counters now live and die with
  // the account version they were read or written with (LedgerCache).
  it("does not pass a daily limit when the payer's copy was refreshed by an unlimited transfer after its usage was cached", async () => {
    const limits: TransferLimits = { timeZone: "UTC", payer: DAY_500 };
    const payer = await env.wallet(10_000n);
    const m = await env.open("merchant");
    const m2 = await env.open("merchant");
    const at = new Date();
    const now = () => at;
    const p = gateway({}, { now });
    const other = env.newLedger({ now });
    // p caches the payer and its day usage (100).
    expect((await p.ledger.transfer(move(payer, m, 100n, { limits }))).result).toBe("ok");
    // The other process counts 300 more: 400 used today.
    expect((await other.transfer(move(payer, m, 300n, { limits }))).result).toBe("ok");
    // p refreshes its copy of the payer through a batch without limits (M2 is new to p: locked path).
    expect((await p.ledger.transfer(move(payer, m2, 10n))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 2, conflicts: 0 });
    // 400 + 150 passes the day's 500. Observed with the bug: result ok on the cached path with no
    // conflict (paths +1 cached), usage rows "day 250/2" / "month 250/2", payer debits 560.
    const over = await p.ledger.transfer(move(payer, m2, 150n, { limits }));
    const paths = JSON.stringify(p.delta());
    expect(over.result, `paths ${paths}`).toBe("daily_amount_exceeded");
    expect(await limitUsageLabels(env.db, payer.id), `paths ${paths}`).toEqual(["day 400/2", "month 400/2"]);
    expect(await balances(payer)).toEqual([[0n, 410n, 0n, 10_000n]]);
    await expectLedgerConsistent(env.db);
  });

  // A wallet that both sends (its outgoing counters) and receives under an inbound policy (its
  // ":in" counters): receiving on the locked path used to drop the sending counters it had cached,
  // so every send after a receipt went through the lock again.
  it("a wallet that receives on the locked path keeps its cached sending counters, unless someone wrote it meanwhile", async () => {
    const w = await env.wallet(10_000n);
    const x = await env.wallet(10_000n);
    const m = await env.open("merchant");
    const at = new Date();
    const now = () => at;
    const p = gateway({}, { now });
    const sends: TransferLimits = { timeZone: "UTC", payer: DAY_500 };
    const receives: TransferLimits = { timeZone: "UTC", payee: DAY_500, payeeInbound: true };
    expect((await p.ledger.transfer(move(w, m, 100n, { limits: sends }))).result).toBe("ok");
    expect((await p.ledger.transfer(move(x, w, 30n, { limits: receives }))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 2, conflicts: 0 });
    expect((await p.ledger.transfer(move(w, m, 100n, { limits: sends }))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 1, locked: 0, conflicts: 0 });
    // Another process sends from w: p's copy of w is stale. A receipt from a payer new to p goes
    // through p's locked path, which finds w at another version than p cached: w's sending
    // counters are dropped, and the next send reads them under lock (the other's 250 included).
    const other = env.newLedger({ now });
    expect((await other.transfer(move(w, m, 250n, { limits: sends }))).result).toBe("ok");
    const y = await env.wallet(10_000n);
    expect((await p.ledger.transfer(move(y, w, 5n, { limits: receives }))).result).toBe("ok");
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
    const over = await p.ledger.transfer(move(w, m, 100n, { limits: sends }));
    expect(over.result).toBe("daily_amount_exceeded");
    expect(over.limit).toMatchObject({ remainingMinor: 50n });
    expect(p.delta()).toEqual({ cached: 0, locked: 1, conflicts: 0 });
    expect(await limitUsageLabels(env.db, w.id)).toEqual(["day 450/3", "day:in 35/2", "month 450/3", "month:in 35/2"]);
    await expectLedgerConsistent(env.db);
  });

  it("a store with cache: false always locks", async () => {
    const a = await env.wallet(1_000n);
    const b = await env.open("merchant");
    const p = gateway({ cache: false });
    for (let i = 0; i < 5; i += 1) expect((await p.ledger.transfer(move(a, b, 10n))).result).toBe("ok");
    expect((await p.ledger.transfer(move(a, b, 1_000n))).result).toBe("exceeds_credits");
    expect(p.delta()).toEqual({ cached: 0, locked: 6, conflicts: 0 });
    expect(await balances(a, b)).toEqual([
      [0n, 50n, 0n, 1_000n],
      [0n, 0n, 0n, 50n],
    ]);
  });

  // Regression: the cached path decides with no existing ids, so an unrecorded refusal
  // (accounts_must_have_the_same_currency) for an id already accepted was answered from the copies,
  // where the locked path answers exists_with_different_credit_account_id. Such batches now go to
  // the locked path.
  it("answers a known id resubmitted with other accounts as the locked path does", async () => {
    // Both answers move nothing; the question is only whether the cached path, which decides with
    // no existing transfers, can answer an unrecorded refusal for an id that is already accepted.
    const a = await env.wallet(1_000n);
    const b = await env.open("merchant");
    const usd = await env.open("merchant", 0, "USD");
    const usd2 = await env.open("merchant", 0, "USD");
    const p = gateway();
    const locked = gateway({ cache: false });
    const x = move(a, b, 10n);
    expect((await p.ledger.transfer(x)).result).toBe("ok");
    // Warm the USD account in p (a USD→USD transfer between two merchants, which have no flag).
    expect((await p.ledger.transfer(move(usd2, usd, 1n))).result).toBe("ok");
    expect((await p.ledger.transfer(move(a, b, 1n))).result).toBe("ok");
    p.delta();
    const resubmitted = { ...x, creditAccountId: usd.id };
    const expected = (await locked.ledger.transfer(resubmitted)).result;
    expect(expected).toBe("exists_with_different_credit_account_id");
    const got = (await p.ledger.transfer(resubmitted)).result;
    // Observed with the bug: paths {"cached":1,"locked":0,"conflicts":0}.
    expect(got, `paths ${JSON.stringify(p.delta())}`).toBe(expected);
    expect(await transferCount(env.db, x.id)).toBe(1);
    expect(await failureOf(env.db, x.id)).toEqual([]);
  });

  it("two cached processes hammering the same wallets concurrently keep exact balances", async () => {
    const start = 1_000n;
    const wallets = await Promise.all(Array.from({ length: 4 }, () => env.wallet(start)));
    const merchant = await env.open("merchant");
    const all = [...wallets, merchant];
    const left = gateway({}, { maxBatchTransfers: 8 });
    const right = gateway({}, { maxBatchTransfers: 8 });
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const expected = new Map(all.map((a) => [a.id, { debits: 0n, credits: a === merchant ? 0n : start }]));
    const codes = new Map<string, number>();
    const count = (t: ReturnType<typeof move>, result: string) => {
      codes.set(result, (codes.get(result) ?? 0) + 1);
      if (result !== "ok") return;
      expected.get(t.debitAccountId!)!.debits += t.amountMinor!;
      expected.get(t.creditAccountId!)!.credits += t.amountMinor!;
    };
    for (let round = 0; round < 8; round += 1) {
      const transfers = Array.from({ length: 30 }, () => {
        const from = wallets[Math.floor(rand() * wallets.length)]!;
        const others = all.filter((x) => x !== from);
        return move(from, others[Math.floor(rand() * others.length)]!, BigInt(20 + Math.floor(rand() * 180)));
      });
      const results = await Promise.all(transfers.map((t, i) => (i % 2 ? left : right).ledger.transfer(t)));
      results.forEach((r, i) => count(transfers[i]!, r.result));
    }
    expect([...codes.keys()].sort()).toEqual(["exceeds_credits", "ok"]);
    // Under the hammering, which path each batch took depends on timing: its first conflict cools
    // the accounts for both processes (not cached for a while), so a run can see no cached batch
    // succeed. This tail, on two accounts the hammering never touched, makes sure of both paths:
    // left reads and caches them, writes on its copies, right moves them on, and left's next write
    // finds its copies stale.
    const tail = [await env.wallet(start), await env.wallet(start)] as const;
    for (const a of tail) expected.set(a.id, { debits: 0n, credits: start });
    for (const side of [left, left, right, left]) {
      const t = move(tail[0], tail[1], 10n);
      count(t, (await side.ledger.transfer(t)).result);
    }
    all.push(...tail);
    const paths = [left.delta(), right.delta()];
    // (No repeated ids here, so every conflict is a cached write that found its copies stale.)
    expect(paths[0]!.cached).toBeGreaterThan(0);
    expect(paths[0]!.conflicts).toBeGreaterThan(0);
    const stored = await storedBalances(env.db, all.map((a) => a.id));
    for (const a of all) {
      const s = stored.get(a.id)!;
      expect({ debits: s.debitsPosted, credits: s.creditsPosted }).toEqual(expected.get(a.id));
      if (a !== merchant) expect(s.debitsPosted).toBeLessThanOrEqual(s.creditsPosted);
    }
    await expectLedgerConsistent(env.db);
  });
});
