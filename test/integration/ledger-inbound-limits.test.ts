// Inbound (payee) daily limits through the SQL store, on real PostgreSQL and on PGlite: concurrent
// transfers into one account from two gateway processes cannot both slip under the limit, and the
// stored counters say exactly what was received.
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, type TransferInput, type TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { sqlInvariantViolations, storedBalances, useLedgerEnv } from "../helpers/ledger-setup.js";
import { limitUsageRows } from "../helpers/limit-usage.js";

const WALLET = AccountFlags.debitsMustNotExceedCredits;
const ROOMY: LimitPolicy = {
  maxPerTransactionMinor: 1_000_000n,
  maxDailyAmountMinor: 1_000_000n,
  maxDailyCount: 1_000,
  maxMonthlyAmountMinor: 10_000_000n,
  maxBalanceMinor: 10_000_000n,
};

describe.each(STORE_KINDS)("inbound limits on %s", (kind) => {
  const env = useLedgerEnv(kind);

  const wallets = (n: number, each: bigint) => Promise.all(Array.from({ length: n }, () => env.wallet(each)));
  const usageOf = (accountId: string) => limitUsageRows(env.db, accountId);

  /** 20 transfers of 100 into one float at once, half through each of two ledgers. */
  async function race(limits: TransferLimits, payer?: LimitPolicy) {
    const senders = await wallets(20, 1_000n);
    const float = await env.open("agent_float", WALLET);
    const first = env.newLedger({ maxBatchTransfers: 4 });
    const second = env.newLedger({ maxBatchTransfers: 4 });
    const results = await Promise.all(
      senders.map((s, i) => (i % 2 ? first : second).transfer({
        id: uuidv7(), debitAccountId: s.id, creditAccountId: float.id, amountMinor: 100n, code: "cash_out", limits: { ...limits, payer },
      })),
    );
    return { float, senders, results: results.map((r) => r.result) };
  }

  it("posts exactly what a daily inbound amount allows out of 20 concurrent transfers, and counts it", async () => {
    const { float, results } = await race({ timeZone: "Africa/Nairobi", payee: { ...ROOMY, maxDailyAmountMinor: 750n }, payeeInbound: true });
    expect(results.filter((r) => r === "ok")).toHaveLength(7);
    expect(results.filter((r) => r !== "ok").every((r) => r === "daily_amount_exceeded")).toBe(true);
    expect((await storedBalances(env.db, [float.id])).get(float.id)!.creditsPosted).toBe(700n);
    const rows = await usageOf(float.id);
    expect(rows.map((r) => r.period_key.length)).toEqual([13, 10]); // "2026-11-25:in", "2026-11:in"
    expect(rows.every((r) => r.period_key.endsWith(":in"))).toBe(true);
    expect(rows.map((r) => [r.amount, r.count])).toEqual([["700", 7], ["700", 7]]);
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });

  it("posts exactly the daily inbound count; the senders' own limits are counted on their side", async () => {
    const { float, senders, results } = await race({ timeZone: "UTC", payee: { ...ROOMY, maxDailyCount: 5 }, payeeInbound: true }, ROOMY);
    expect(results.filter((r) => r === "ok")).toHaveLength(5);
    expect(results.filter((r) => r !== "ok").every((r) => r === "daily_count_exceeded")).toBe(true);
    expect((await usageOf(float.id)).map((r) => [r.amount, r.count])).toEqual([["500", 5], ["500", 5]]);
    const sent = await Promise.all(senders.map((s) => usageOf(s.id)));
    const posted = sent.filter((rows) => rows.length > 0);
    expect(posted).toHaveLength(5);
    for (const rows of posted) expect(rows.map((r) => [r.period_key.endsWith(":in"), r.amount, r.count])).toEqual([[false, "100", 1], [false, "100", 1]]);
  });

  it("without payeeInbound the payee's daily figures neither refuse nor count", async () => {
    const { float, results } = await race({ timeZone: "UTC", payee: { ...ROOMY, maxDailyAmountMinor: 100n, maxDailyCount: 1 } });
    expect(results.every((r) => r === "ok")).toBe(true);
    expect(await usageOf(float.id)).toEqual([]);
  });

  it("the table accepts inbound period keys and still refuses malformed ones", async () => {
    const account = await env.open("agent_float", WALLET);
    await env.db.query("INSERT INTO limit_usage (account_id, period_key, amount_minor, count) VALUES ($1, '2026-11-25:in', 1, 1)", [account.id]);
    const bad = await env.db.query("INSERT INTO limit_usage (account_id, period_key, amount_minor, count) VALUES ($1, '2026-11-25:out', 1, 1)", [account.id]).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(bad?.code).toBe("23514");
  });

  it("answers a retried limit refusal with its code and whose limit it was, on this gateway and another, without the stale amounts", async () => {
    const [sender] = await wallets(1, 1_000n);
    const float = await env.open("agent_float", WALLET);
    const inbound: TransferLimits = { timeZone: "UTC", payer: ROOMY, payee: { ...ROOMY, maxDailyAmountMinor: 150n }, payeeInbound: true };
    const cashOut = (amountMinor: bigint, limits: TransferLimits): TransferInput => ({
      id: uuidv7(), debitAccountId: sender!.id, creditAccountId: float.id, amountMinor, code: "cash_out", limits,
    });
    expect((await env.ledger.transfer(cashOut(100n, inbound))).result).toBe("ok");
    const overFloat = cashOut(100n, inbound);
    const overCap = cashOut(100n, { timeZone: "UTC", payee: { ...ROOMY, maxBalanceMinor: 150n } });
    const overOwn = cashOut(100n, { timeZone: "UTC", payer: { ...ROOMY, maxPerTransactionMinor: 99n } });
    const first = await Promise.all([overFloat, overCap, overOwn].map((t) => env.ledger.transfer(t)));
    expect(first.map((r) => [r.result, r.limit?.party, r.limit?.availableMinor])).toEqual([
      ["daily_amount_exceeded", "payee", 50n],
      ["balance_limit_exceeded", "payee", 50n],
      ["per_transaction_exceeded", "payer", 99n],
    ]);
    const stored = await env.db.query<{ result: string; limit_party: string | null }>(
      "SELECT result, limit_party FROM transfer_failures WHERE id = ANY($1::uuid[]) ORDER BY result", [[overFloat.id, overCap.id, overOwn.id]],
    );
    expect(stored.rows.map((r) => [r.result, r.limit_party])).toEqual([["balance_limit_exceeded", "payee"], ["daily_amount_exceeded", "payee"], ["per_transaction_exceeded", "payer"]]);
    // Retried on the same gateway (its cached path finds the id taken and decides again under the
    // locks) and on a second one: the recorded code and party, no amount from the first attempt.
    for (const ledger of [env.ledger, env.newLedger()]) {
      const again = await Promise.all([overFloat, overCap, overOwn].map((t) => ledger.transfer(t)));
      expect(again).toEqual([
        { id: overFloat.id, result: "daily_amount_exceeded", limit: { ok: false, code: "daily_amount_exceeded", party: "payee" } },
        { id: overCap.id, result: "balance_limit_exceeded", limit: { ok: false, code: "balance_limit_exceeded", party: "payee" } },
        { id: overOwn.id, result: "per_transaction_exceeded", limit: { ok: false, code: "per_transaction_exceeded", party: "payer" } },
      ]);
    }
    expect((await storedBalances(env.db, [float.id])).get(float.id)!.creditsPosted).toBe(100n);
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });

  it("the table records a party only for a limit refusal, and only payer or payee", async () => {
    const refused = (result: string, party: string) =>
      env.db.query("INSERT INTO transfer_failures (id, result, kind, limit_party, created_at) VALUES ($1, $2, 'single', $3, now())", [uuidv7(), result, party]).then(
        () => null,
        (e: unknown) => (e as { code?: string }).code,
      );
    expect(await refused("exceeds_credits", "payee")).toBe("23514");
    expect(await refused("daily_amount_exceeded", "bank")).toBe("23514");
    expect(await refused("daily_amount_exceeded", "payee")).toBeNull();
  });

  it("a balance cap counts pending credits: 20 concurrent holds into a capped float from two ledgers reserve no more than the cap, and posting them cannot pass it", async () => {
    const senders = await wallets(20, 1_000n);
    const float = await env.open("agent_float", WALLET);
    const first = env.newLedger({ maxBatchTransfers: 4 });
    const second = env.newLedger({ maxBatchTransfers: 4 });
    const limits: TransferLimits = { timeZone: "Africa/Nairobi", payee: { ...ROOMY, maxBalanceMinor: 750n } };
    const holds = senders.map((s): TransferInput => ({
      id: uuidv7(), kind: "pending", debitAccountId: s.id, creditAccountId: float.id, amountMinor: 100n, timeoutSec: 300, code: "cash_out", limits,
    }));
    const results = await Promise.all(holds.map((t, i) => (i % 2 ? first : second).transfer(t)));
    expect(results.filter((r) => r.result === "ok")).toHaveLength(7);
    expect(results.filter((r) => r.result !== "ok").every((r) => r.result === "balance_limit_exceeded")).toBe(true);
    const held = holds.filter((_, i) => results[i]!.result === "ok");
    const posts = await Promise.all(held.map((h) => env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: h.id, code: "cash_out" })));
    expect(posts.every((r) => r.result === "ok")).toBe(true);
    expect((await storedBalances(env.db, [float.id])).get(float.id)!.creditsPosted).toBe(700n);
    // A hold voided gives its room back.
    const extra = { id: uuidv7(), kind: "pending" as const, debitAccountId: senders[19]!.id, creditAccountId: float.id, amountMinor: 100n, timeoutSec: 300, code: "cash_out", limits };
    expect((await env.ledger.transfer(extra)).result).toBe("balance_limit_exceeded");
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });
});
