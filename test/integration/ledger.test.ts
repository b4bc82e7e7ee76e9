// The ledger through the SQL store, on real PostgreSQL and on PGlite: concurrency, idempotency,
// linked groups, two-phase transfers and expiry, queries, append-only rows, BIGINT amounts.
import { describe, expect, it } from "vitest";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, MAX_AMOUNT_MINOR, type Account, type TransferInput, type TransferResultCode } from "../../src/core/ledger/types.js";
import { Ledger } from "../../src/core/ledger/ledger.js";
import type { LedgerStore } from "../../src/core/ledger/ports.js";
import { SqlLedgerStore } from "../../src/infra/db/ledger-store.js";
import { isBadValueSqlError, isRetryableSqlError } from "../../src/infra/db/sql.js";
import { STORE_KINDS } from "../helpers/db.js";
import { expectLedgerConsistent, storedBalances, useLedgerEnv } from "../helpers/ledger-setup.js";
import { mulberry32 } from "../helpers/ledger-random.js";

const WALLET = AccountFlags.debitsMustNotExceedCredits;

function move(from: Account, to: Account, amountMinor: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: uuidv7(), debitAccountId: from.id, creditAccountId: to.id, amountMinor, code: "p2p", ...extra };
}

describe.each(STORE_KINDS)("ledger on %s", (kind) => {
  const env = useLedgerEnv(kind);

  it("applies 200 concurrent transfers without losing an update or overdrawing a wallet", async () => {
    const start = 500n;
    const wallets = await Promise.all(Array.from({ length: 4 }, () => env.wallet(start)));
    const merchant = await env.open("merchant");
    const all = [...wallets, merchant];
    const second = env.newLedger({ maxBatchTransfers: 16 });
    const first = env.newLedger({ maxBatchTransfers: 16 });
    const rand = mulberry32(200);
    const transfers = Array.from({ length: 200 }, () => {
      const from = wallets[Math.floor(rand() * wallets.length)]!;
      const others = all.filter((a) => a !== from);
      return move(from, others[Math.floor(rand() * others.length)]!, BigInt(20 + Math.floor(rand() * 180)));
    });
    const results = await Promise.all(transfers.map((t, i) => (i % 2 ? first : second).transfer(t)));

    const expected = new Map(all.map((a) => [a.id, { debits: 0n, credits: a === merchant ? 0n : start }]));
    const counts = new Map<TransferResultCode, number>();
    results.forEach((r, i) => {
      counts.set(r.result, (counts.get(r.result) ?? 0) + 1);
      if (r.result !== "ok") return;
      const t = transfers[i]!;
      expected.get(t.debitAccountId!)!.debits += t.amountMinor!;
      expected.get(t.creditAccountId!)!.credits += t.amountMinor!;
    });
    // Only two outcomes are possible, and the mix shows the flag was exercised.
    expect([...counts.keys()].sort()).toEqual(["exceeds_credits", "ok"]);
    expect(counts.get("ok")).toBeGreaterThan(20);

    const stored = await storedBalances(env.db, all.map((a) => a.id));
    for (const a of all) {
      const s = stored.get(a.id)!;
      expect({ debits: s.debitsPosted, credits: s.creditsPosted }).toEqual(expected.get(a.id));
      expect(s.debitsPending + s.creditsPending).toBe(0n);
      if (a !== merchant) expect(s.debitsPosted).toBeLessThanOrEqual(s.creditsPosted);
    }
    const rows = await env.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[])",
      [transfers.map((t) => t.id)],
    );
    expect(rows.rows[0]!.n).toBe(counts.get("ok"));
    await expectLedgerConsistent(env.db);
  });

  it("posts an id submitted 50 times at once exactly once", async () => {
    const wallet = await env.wallet(1_000n);
    const payee = await env.open("customer_wallet", WALLET);
    const t = move(wallet, payee, 700n);
    const other = env.newLedger();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? env.ledger : other).transfer({ ...t })));
    const codes = results.map((r) => r.result).sort();
    expect(codes.filter((c) => c === "ok")).toHaveLength(1);
    expect(codes.filter((c) => c === "exists")).toHaveLength(49);
    const stored = await storedBalances(env.db, [wallet.id, payee.id]);
    expect(stored.get(wallet.id)!.debitsPosted).toBe(700n);
    expect(stored.get(payee.id)!.creditsPosted).toBe(700n);
    const rows = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE id = $1", [t.id]);
    expect(rows.rows[0]!.n).toBe(1);
    // Afterwards the same id with another amount is refused, not applied.
    expect((await env.ledger.transfer({ ...t, amountMinor: 1n })).result).toBe("exists_with_different_amount");
  });

  it("moves money once when two writers race the same id on accounts they do not share", async () => {
    // No common row lock orders these two batches: only the transfers' primary key does, so the
    // loser must notice the conflict, decide again, and refuse instead of moving money.
    const [a, b, c, d] = await Promise.all([env.wallet(10_000n), env.open("merchant"), env.wallet(10_000n), env.open("merchant")]);
    const left = env.newLedger();
    const right = env.newLedger();
    const answers: TransferResultCode[][] = [];
    for (let i = 0; i < 30; i += 1) {
      const shared = uuidv7();
      const pair = await Promise.all([
        left.transfer(move(a!, b!, 7n, { id: shared })),
        right.transfer(move(c!, d!, 11n, { id: shared })),
      ]);
      answers.push(pair.map((r) => r.result));
    }
    for (const pair of answers) {
      expect([...pair].sort()).toEqual(["exists_with_different_debit_account_id", "ok"]);
    }
    const leftWins = BigInt(answers.filter((p) => p[0] === "ok").length);
    const stored = await storedBalances(env.db, [a!.id, b!.id, c!.id, d!.id]);
    expect(stored.get(a!.id)!.debitsPosted).toBe(7n * leftWins);
    expect(stored.get(b!.id)!.creditsPosted).toBe(7n * leftWins);
    expect(stored.get(c!.id)!.debitsPosted).toBe(11n * (30n - leftWins));
    expect(stored.get(d!.id)!.creditsPosted).toBe(11n * (30n - leftWins));
    await expectLedgerConsistent(env.db);
  });

  it("persists a linked group all or nothing", async () => {
    const payer = await env.wallet(1_000n);
    const merchant = await env.open("merchant");
    const fees = await env.open("fee_income");
    const payment = move(payer, merchant, 900n);
    const fee = move(payer, fees, 200n, { code: "fee" });
    expect((await env.ledger.submitLinked([payment, fee])).map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect(await env.ledger.getTransfer(payment.id)).toBeNull();
    expect(await env.ledger.getTransfer(fee.id)).toBeNull();
    const failures = await env.db.query<{ id: string; result: string }>(
      "SELECT id, result FROM transfer_failures WHERE id = ANY($1::uuid[]) ORDER BY result",
      [[payment.id, fee.id]],
    );
    expect(failures.rows).toEqual([
      { id: fee.id, result: "exceeds_credits" },
      { id: payment.id, result: "linked_event_failed" },
    ]);
    let stored = await storedBalances(env.db, [payer.id, merchant.id, fees.id]);
    expect(stored.get(payer.id)).toEqual({ debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 1_000n });
    expect(stored.get(merchant.id)!.creditsPosted + stored.get(fees.id)!.creditsPosted).toBe(0n);

    const payment2 = move(payer, merchant, 800n);
    const fee2 = move(payer, fees, 200n, { code: "fee" });
    expect((await env.ledger.submitLinked([payment2, fee2])).map((r) => r.result)).toEqual(["ok", "ok"]);
    expect((await env.ledger.getTransfer(payment2.id))?.amountMinor).toBe(800n);
    expect((await env.ledger.getTransfer(fee2.id))?.amountMinor).toBe(200n);
    stored = await storedBalances(env.db, [payer.id, merchant.id, fees.id]);
    expect(stored.get(payer.id)!.debitsPosted).toBe(1_000n);
    expect(stored.get(merchant.id)!.creditsPosted).toBe(800n);
    expect(stored.get(fees.id)!.creditsPosted).toBe(200n);
    await expectLedgerConsistent(env.db);
  });

  it("reserves, posts part of, voids and refuses to re-resolve pending transfers", async () => {
    const payer = await env.wallet(1_000n);
    const agent = await env.open("agent_float");
    const hold = move(payer, agent, 300n, { kind: "pending", timeoutSec: 600, code: "cash_out" });
    expect((await env.ledger.transfer(hold)).result).toBe("ok");
    let stored = await storedBalances(env.db, [payer.id, agent.id]);
    expect(stored.get(payer.id)).toMatchObject({ debitsPending: 300n, debitsPosted: 0n });
    expect(stored.get(agent.id)).toMatchObject({ creditsPending: 300n, creditsPosted: 0n });
    const stored1 = await env.ledger.getTransfer(hold.id);
    expect(stored1).toMatchObject({ kind: "pending", timeoutSec: 600, amountMinor: 300n });
    expect(stored1!.expiresAt!.getTime() - stored1!.createdAt.getTime()).toBe(600_000);
    // The reservation counts: 701 more would overdraw.
    expect((await env.ledger.transfer(move(payer, agent, 701n))).result).toBe("exceeds_credits");

    const settle: TransferInput = { id: uuidv7(), kind: "post", pendingId: hold.id, amountMinor: 200n, code: "cash_out" };
    expect((await env.ledger.transfer(settle)).result).toBe("ok");
    stored = await storedBalances(env.db, [payer.id, agent.id]);
    expect(stored.get(payer.id)).toMatchObject({ debitsPending: 0n, debitsPosted: 200n });
    expect(stored.get(agent.id)).toMatchObject({ creditsPending: 0n, creditsPosted: 200n });
    expect(await env.ledger.getTransfer(settle.id)).toMatchObject({ kind: "post", pendingId: hold.id, amountMinor: 200n, debitAccountId: payer.id });
    const armed = await env.db.query("SELECT 1 FROM pending_timeouts WHERE transfer_id = $1", [hold.id]);
    expect(armed.rows).toHaveLength(0);
    expect((await env.ledger.transfer({ ...settle, id: uuidv7() })).result).toBe("pending_transfer_already_posted");
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "void", pendingId: hold.id, code: "cancel" })).result).toBe(
      "pending_transfer_already_posted",
    );
    expect((await env.ledger.transfer({ ...settle })).result).toBe("exists");

    const hold2 = move(payer, agent, 100n, { kind: "pending" });
    expect((await env.ledger.transfer(hold2)).result).toBe("ok");
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: hold2.id, amountMinor: 101n, code: "x" })).result).toBe(
      "exceeds_pending_transfer_amount",
    );
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "void", pendingId: hold2.id, code: "cancel" })).result).toBe("ok");
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: hold2.id, code: "late" })).result).toBe(
      "pending_transfer_already_voided",
    );
    // Two resolutions of one pending raced at once: exactly one wins.
    const hold3 = move(payer, agent, 50n, { kind: "pending" });
    expect((await env.ledger.transfer(hold3)).result).toBe("ok");
    const other = env.newLedger();
    const race = await Promise.all([
      env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: hold3.id, code: "x" }),
      other.transfer({ id: uuidv7(), kind: "void", pendingId: hold3.id, code: "x" }),
      other.transfer({ id: uuidv7(), kind: "post", pendingId: hold3.id, code: "x" }),
    ]);
    expect(race.filter((r) => r.result === "ok")).toHaveLength(1);
    for (const r of race) expect(["ok", "pending_transfer_already_posted", "pending_transfer_already_voided"]).toContain(r.result);
    stored = await storedBalances(env.db, [payer.id]);
    expect(stored.get(payer.id)!.debitsPending).toBe(0n);
    await expectLedgerConsistent(env.db);
  });

  it("expires pendings once, even when the sweep runs twice or concurrently", async () => {
    const clock = { now: new Date("2030-06-01T00:00:00.000Z") };
    const timed = env.newLedger({ now: () => clock.now });
    const sweeper = env.newLedger({ now: () => clock.now });
    const payer = await env.wallet(1_000n);
    const agent = await env.open("agent_float");
    const holds = [30, 30, 30, 90].map((timeoutSec) => move(payer, agent, 100n, { kind: "pending", timeoutSec }));
    expect((await Promise.all(holds.map((h) => timed.transfer(h)))).map((r) => r.result)).toEqual(["ok", "ok", "ok", "ok"]);
    expect((await storedBalances(env.db, [payer.id])).get(payer.id)!.debitsPending).toBe(400n);

    const at = (sec: number) => new Date(Date.parse("2030-06-01T00:00:00.000Z") + sec * 1000);
    clock.now = at(29);
    expect(await timed.expirePendings(clock.now)).toBe(0);
    clock.now = at(31);
    // Only this test's pendings can be due this far in the future, so the counts are exact.
    const swept = await Promise.all([timed.expirePendings(clock.now), sweeper.expirePendings(clock.now)]);
    expect(swept[0] + swept[1]).toBe(3);
    expect(await timed.expirePendings(clock.now)).toBe(0);
    let stored = (await storedBalances(env.db, [payer.id, agent.id]));
    expect(stored.get(payer.id)).toMatchObject({ debitsPending: 100n, debitsPosted: 0n });
    expect(stored.get(agent.id)).toMatchObject({ creditsPending: 100n, creditsPosted: 0n });
    for (const h of holds.slice(0, 3)) {
      const voids = await env.db.query<{ id: string; kind: string; code: string }>(
        "SELECT id, kind, code FROM transfers WHERE pending_id = $1",
        [h.id],
      );
      expect(voids.rows).toEqual([{ id: derivedUuid(`fingate:expire:${h.id}`), kind: "void", code: "expiry" }]);
      // Once the sweep voided it, a post is refused.
      const late: TransferInput = { id: uuidv7(), kind: "post", pendingId: h.id, code: "late" };
      expect((await timed.transfer(late)).result).toBe("pending_transfer_already_voided");
    }
    // The fourth is posted after the first three expired but before its own timeout.
    expect((await timed.transfer({ id: uuidv7(), kind: "post", pendingId: holds[3]!.id, code: "x" })).result).toBe("ok");
    // A post that arrives after expiry but before the sweep is refused as expired and recorded.
    const hold = move(payer, agent, 10n, { kind: "pending", timeoutSec: 5 });
    expect((await timed.transfer(hold)).result).toBe("ok");
    clock.now = at(40);
    const late: TransferInput = { id: uuidv7(), kind: "post", pendingId: hold.id, code: "late" };
    expect((await timed.transfer(late)).result).toBe("pending_transfer_expired");
    expect((await timed.transfer(late)).result).toBe("pending_transfer_expired");
    const again = await Promise.all([sweeper.expirePendings(clock.now), timed.expirePendings(clock.now)]);
    expect(again[0] + again[1]).toBe(1);
    stored = await storedBalances(env.db, [payer.id]);
    expect(stored.get(payer.id)).toMatchObject({ debitsPending: 0n, debitsPosted: 100n });
    await expectLedgerConsistent(env.db);
  });

  it("expires a pending on the real clock when the sweep is told a later time", async () => {
    const payer = await env.wallet(100n);
    const agent = await env.open("agent_float");
    const hold = move(payer, agent, 60n, { kind: "pending", timeoutSec: 30 });
    expect((await env.ledger.transfer(hold)).result).toBe("ok");
    expect(await env.ledger.expirePendings(new Date(Date.now() + 5_000))).toBe(0);
    const sweeps = await Promise.all([env.ledger.expirePendings(new Date(Date.now() + 60_000)), env.newLedger().expirePendings(new Date(Date.now() + 60_000))]);
    expect(sweeps[0] + sweeps[1]).toBe(1);
    expect(await env.ledger.expirePendings(new Date(Date.now() + 60_000))).toBe(0);
    const voids = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transfers WHERE pending_id = $1", [hold.id]);
    expect(voids.rows[0]!.n).toBe(1);
    expect((await storedBalances(env.db, [payer.id])).get(payer.id)).toMatchObject({ debitsPending: 0n, debitsPosted: 0n });
    await expectLedgerConsistent(env.db);
  });

  it("lists an account's transfers newest first, page by page", async () => {
    // Start the sequence just below a power of ten, so the listing must sort 1000 after 999.
    const last = await env.db.query<{ v: string }>("SELECT last_value::text AS v FROM transfers_seq_seq");
    const power = 10n ** BigInt(BigInt(last.rows[0]!.v).toString().length + 1);
    await env.db.query("SELECT setval('transfers_seq_seq', $1::bigint)", [(power - 5n).toString()]);
    const a = await env.wallet(1_000n);
    const b = await env.wallet(1_000n);
    const made: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const t = i % 2 ? move(b, a, BigInt(i + 1)) : move(a, b, BigInt(i + 1));
      expect((await env.ledger.transfer(t)).result).toBe("ok");
      made.push(t.id);
    }
    // The funding transfer of `a` is the oldest on its list.
    const funding = await env.ledger.listAccountTransfers(a.id, { limit: 100 });
    expect(funding).toHaveLength(8);
    const seen: string[] = [];
    let beforeSeq: bigint | undefined;
    const sizes: number[] = [];
    for (;;) {
      const page = await env.ledger.listAccountTransfers(a.id, { limit: 3, beforeSeq });
      if (page.length === 0) break;
      sizes.push(page.length);
      seen.push(...page.map((t) => t.id));
      beforeSeq = page.at(-1)!.seq;
      expect(beforeSeq).toBeTypeOf("bigint");
    }
    expect(sizes).toEqual([3, 3, 2]);
    expect(seen.slice(0, 7)).toEqual([...made].reverse());
    expect(seen[7]).toBe(funding.at(-1)!.id);
    expect(funding.at(-1)!.code).toBe("cash_in");
    const seqs = funding.map((t) => t.seq!);
    expect(seqs).toEqual([...seqs].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
    expect(seqs.at(-1)! < power && seqs[0]! >= power).toBe(true);
    expect(await env.ledger.listAccountTransfers("not-a-uuid")).toEqual([]);
    expect(await env.ledger.listAccountTransfers(uuidv7())).toEqual([]);
    expect(await env.ledger.listAccountTransfers(a.id, { limit: 0 })).toHaveLength(1);
  });

  it("reads a transfer back by id with every field", async () => {
    const a = await env.wallet(100n);
    const b = await env.open("customer_wallet", WALLET);
    const t = move(a, b, 42n, { reference: "invoice 7 — ü", code: "merchant_pay" });
    expect((await env.ledger.transfer(t)).result).toBe("ok");
    const got = await env.ledger.getTransfer(t.id);
    expect(got).toMatchObject({
      id: t.id,
      kind: "single",
      debitAccountId: a.id,
      creditAccountId: b.id,
      amountMinor: 42n,
      currency: "KES",
      pendingId: null,
      timeoutSec: null,
      expiresAt: null,
      code: "merchant_pay",
      reference: "invoice 7 — ü",
    });
    expect(got!.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(got!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await env.ledger.getTransfer(uuidv7())).toBeNull();
    expect(await env.ledger.getTransfer("nope")).toBeNull();
  });

  it("reads transfers asked for at once each by its own id, unknown ones as null", async () => {
    const a = await env.wallet(100n);
    const b = await env.open("customer_wallet", WALLET);
    const moves = [move(a, b, 1n), move(a, b, 2n, { reference: "two" }), move(b, a, 1n)];
    for (const t of moves) expect((await env.ledger.transfer(t)).result).toBe("ok");
    const ids = [moves[2]!.id, uuidv7(), moves[0]!.id, moves[1]!.id, moves[0]!.id];
    const got = await Promise.all(ids.map((id) => env.ledger.getTransfer(id)));
    expect(got.map((t) => t?.id ?? null)).toEqual([moves[2]!.id, null, moves[0]!.id, moves[1]!.id, moves[0]!.id]);
    expect(got.map((t) => t?.amountMinor ?? null)).toEqual([1n, null, 1n, 2n, 1n]);
    expect(got[3]).toMatchObject({ debitAccountId: a.id, creditAccountId: b.id, reference: "two" });
  });

  it("refuses a reference the database cannot store as bad input, and the transfers batched beside it post", async () => {
    const a = await env.wallet(1_000n);
    const b = await env.open("customer_wallet", WALLET);
    const transfers = Array.from({ length: 10 }, (_, i) => move(a, b, 1n, { reference: i === 0 ? "x\u0000" : i === 1 ? "\uD83D" : `ok ${i}` }));
    const results = await Promise.all(transfers.map((t) => env.ledger.transfer(t)));
    expect(results.map((r) => r.result)).toEqual(["invalid_reference", "invalid_reference", ...Array.from({ length: 8 }, () => "ok")]);
    expect(await env.ledger.getTransfer(transfers[0]!.id)).toBeNull();
    expect((await env.ledger.getAccounts([b.id]))[0]!.creditsPosted).toBe(8n);
  });

  it("a batch the database refuses for one transfer's value is written again one by one: only that one fails", async () => {
    // The real store, except that one transfer's reference is made unstorable after validation
    // (validation refuses such text now, so nothing else can bring the database's own refusal about).
    const real = new SqlLedgerStore(env.db);
    const poisoned = new Set<string>();
    const store: LedgerStore = {
      applyBatch: (keys, decide) =>
        real.applyBatch(keys, (snapshot) => {
          const decision = decide(snapshot);
          return { ...decision, transfers: decision.transfers.map((t) => (poisoned.has(t.id) ? { ...t, reference: "x\u0000" } : t)) };
        }),
      createAccounts: (a) => real.createAccounts(a),
      getAccounts: (ids) => real.getAccounts(ids),
      getTransfer: (id) => real.getTransfer(id),
      getFailures: (ids) => real.getFailures(ids),
      listAccountTransfers: (id, page) => real.listAccountTransfers(id, page),
      findExpiredPendings: (now, limit) => real.findExpiredPendings(now, limit),
    };
    const ledger = new Ledger(store, { isRetryable: isRetryableSqlError, isBadValue: isBadValueSqlError, maxBatchesInFlight: 1 });
    try {
      const a = await env.wallet(1_000n);
      const b = await env.open("customer_wallet", WALLET);
      const first = ledger.transfer(move(a, b, 1n));
      const transfers = Array.from({ length: 6 }, () => move(a, b, 1n));
      poisoned.add(transfers[2]!.id);
      // Queued behind the first batch, so the six are written together, then one by one.
      const outcomes = await Promise.allSettled([first, ...transfers.map((t) => ledger.transfer(t))]);
      expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value.result : "rejected"))).toEqual(["ok", "ok", "ok", "rejected", "ok", "ok", "ok"]);
      expect(((outcomes[3] as PromiseRejectedResult).reason as { code?: string }).code).toBe("22021");
      expect(await env.ledger.getTransfer(transfers[2]!.id)).toBeNull();
      expect((await env.ledger.getAccounts([b.id]))[0]!.creditsPosted).toBe(6n);
    } finally {
      await ledger.close();
    }
  });

  it("answers a retried failure with the same code even after the account is funded", async () => {
    const wallet = await env.wallet(0n);
    const payee = await env.open("merchant");
    const t = move(wallet, payee, 500n);
    expect((await env.ledger.transfer(t)).result).toBe("exceeds_credits");
    expect((await env.ledger.transfer(move(env.bank, wallet, 10_000n))).result).toBe("ok");
    expect((await env.ledger.transfer({ ...t })).result).toBe("exceeds_credits");
    expect((await env.newLedger().transfer({ ...t })).result).toBe("exceeds_credits");
    expect((await env.ledger.transfer({ ...t, id: uuidv7() })).result).toBe("ok");
    const stored = await storedBalances(env.db, [wallet.id]);
    expect(stored.get(wallet.id)!.debitsPosted).toBe(500n);
    // A frozen account's refusal is remembered the same way.
    await env.db.query("UPDATE accounts SET status = 'frozen' WHERE id = $1", [wallet.id]);
    const frozen = move(wallet, payee, 1n);
    expect((await env.ledger.transfer(frozen)).result).toBe("debit_account_frozen");
    await env.db.query("UPDATE accounts SET status = 'active' WHERE id = $1", [wallet.id]);
    expect((await env.ledger.transfer(frozen)).result).toBe("debit_account_frozen");
  });

  it("refuses UPDATE, DELETE and TRUNCATE of transfers, recorded failures and pendings' usage in the database", async () => {
    const a = await env.wallet(10n);
    const b = await env.open("merchant");
    const t = move(a, b, 5n);
    const failed = move(a, b, 50n);
    expect((await env.ledger.transfer(t)).result).toBe("ok");
    expect((await env.ledger.transfer(failed)).result).toBe("exceeds_credits");
    // Rows are written, never changed: a row trigger only fires on a row that exists.
    await env.db.query("INSERT INTO pending_usage (transfer_id, account_id, period_key) VALUES ($1, $2, '2026-11')", [t.id, a.id]);
    const refusals = [
      ["UPDATE pending_usage SET period_key = '2026-12' WHERE transfer_id = $1", [t.id]],
      ["DELETE FROM pending_usage WHERE transfer_id = $1", [t.id]],
      ["TRUNCATE pending_usage", []],
      ["UPDATE transfers SET amount = 6 WHERE id = $1", [t.id]],
      ["UPDATE transfers SET code = 'x' WHERE id = $1", [t.id]],
      ["DELETE FROM transfers WHERE id = $1", [t.id]],
      ["TRUNCATE transfers CASCADE", []],
      ["UPDATE transfer_failures SET result = 'ok' WHERE id = $1", [failed.id]],
      ["DELETE FROM transfer_failures WHERE id = $1", [failed.id]],
      ["TRUNCATE transfer_failures", []],
      // Transfers refer to their accounts forever: an account is closed, never deleted or re-keyed.
      ["DELETE FROM accounts WHERE id = $1", [b.id]],
      ["UPDATE accounts SET currency = 'USD' WHERE id = $1", [b.id]],
      ["TRUNCATE accounts CASCADE", []],
    ] as const;
    for (const [sql, params] of refusals) {
      const error = await env.db.query(sql, [...params]).then(
        () => null,
        (e: unknown) => e as { message: string; code?: string },
      );
      expect(error, sql).not.toBeNull();
      expect(error!.message, sql).toMatch(/append-only|never deleted/);
      expect(error!.code, sql).toBe("42501");
    }
    expect(await env.ledger.getTransfer(t.id)).toMatchObject({ amountMinor: 5n, code: "p2p" });
    expect((await env.ledger.transfer({ ...failed })).result).toBe("exceeds_credits");
    // Balances are derived state and may change, but never past a wallet's flag.
    const overdraw = await env.db.query("UPDATE accounts SET debits_posted = credits_posted + 1 WHERE id = $1", [a.id]).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(overdraw?.code).toBe("23514");
  });

  it("round-trips amounts at the BIGINT ceiling exactly and refuses to overflow", async () => {
    const source = await env.open("instrument");
    const sink = await env.open("suspense");
    const spare = await env.open("suspense");
    const max = MAX_AMOUNT_MINOR;
    const t = move(source, sink, max);
    expect((await env.ledger.transfer(t)).result).toBe("ok");
    expect((await env.ledger.getTransfer(t.id))!.amountMinor).toBe(max);
    const [account] = await env.ledger.getAccounts([sink.id]);
    expect(account!.creditsPosted).toBe(max);
    expect((await storedBalances(env.db, [source.id])).get(source.id)!.debitsPosted).toBe(9_223_372_036_854_775_807n);
    expect((await env.ledger.transfer(move(spare, sink, 1n))).result).toBe("overflows_credits");
    expect((await env.ledger.transfer(move(source, spare, 1n))).result).toBe("overflows_debits");
    expect((await env.ledger.transfer(move(source, spare, max + 1n))).result).toBe("amount_too_large");
    // The full ceiling back the other way, as a pending that is then voided.
    const hold = move(sink, source, max, { kind: "pending" });
    expect((await env.ledger.transfer(hold)).result).toBe("ok");
    const page = await env.ledger.listAccountTransfers(sink.id, { limit: 5 });
    expect(page.map((x) => x.amountMinor)).toEqual([max, max]);
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "void", pendingId: hold.id, amountMinor: max, code: "undo" })).result).toBe("ok");
    const after = await storedBalances(env.db, [sink.id]);
    expect(after.get(sink.id)).toEqual({ debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: max });
  });
});
