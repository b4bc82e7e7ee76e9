// Limit usage a pending counted is given back through the SQL store, on real PostgreSQL and on
// PGlite: by a void, by the expiry sweep and by a post for less, to the payer's rows and to the
// payee's inbound ":in" rows, once however often the void is submitted and by however many
// gateway processes.
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import { AccountFlags, type Account, type TransferInput, type TransferLimits } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import { STORE_KINDS } from "../helpers/db.js";
import { sqlInvariantViolations, useLedgerEnv } from "../helpers/ledger-setup.js";
import { limitUsageLabels } from "../helpers/limit-usage.js";

const WALLET = AccountFlags.debitsMustNotExceedCredits;
const POLICY: LimitPolicy = {
  maxPerTransactionMinor: 1_000n,
  maxDailyAmountMinor: 1_000n,
  maxDailyCount: 10,
  maxMonthlyAmountMinor: 100_000n,
  maxBalanceMinor: 1_000_000n,
};
const LIMITS: TransferLimits = { timeZone: "Africa/Nairobi", payer: POLICY, payee: POLICY, payeeInbound: true };

describe.each(STORE_KINDS)("limit usage given back by pendings on %s", (kind) => {
  const env = useLedgerEnv(kind);

  async function pair(): Promise<{ payer: Account; payee: Account }> {
    return { payer: await env.wallet(10_000n), payee: await env.open("agent_float", WALLET) };
  }

  const usageOf = (accountId: string) => limitUsageLabels(env.db, accountId);

  const hold = (payer: Account, payee: Account, amountMinor: bigint, timeoutSec = 300): TransferInput => ({
    id: uuidv7(), kind: "pending", debitAccountId: payer.id, creditAccountId: payee.id, amountMinor, timeoutSec, code: "cash_out", limits: LIMITS,
  });

  it("a void gives back amount and count on both sides, once; a re-submitted void is exists", async () => {
    const { payer, payee } = await pair();
    const h = hold(payer, payee, 1_000n);
    expect((await env.ledger.transfer(h)).result).toBe("ok");
    expect(await usageOf(payer.id)).toEqual(["day 1000/1", "month 1000/1"]);
    expect(await usageOf(payee.id)).toEqual(["day:in 1000/1", "month:in 1000/1"]);
    const v: TransferInput = { id: uuidv7(), kind: "void", pendingId: h.id, code: "declined" };
    expect((await env.ledger.transfer(v)).result).toBe("ok");
    expect(await usageOf(payer.id)).toEqual(["day 0/0", "month 0/0"]);
    expect(await usageOf(payee.id)).toEqual(["day:in 0/0", "month:in 0/0"]);
    const full = { id: uuidv7(), debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 1_000n, code: "cash_out", limits: LIMITS };
    expect((await env.ledger.transfer(full)).result).toBe("ok");
    expect((await env.ledger.transfer(v)).result).toBe("exists");
    expect(await usageOf(payer.id)).toEqual(["day 1000/1", "month 1000/1"]);
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });

  it("the expiry sweep gives usage back; a post for less gives back the difference; a post in full nothing", async () => {
    const { payer, payee } = await pair();
    const lapsing = hold(payer, payee, 300n, 1);
    const partial = hold(payer, payee, 400n);
    const whole = hold(payer, payee, 200n);
    for (const t of [lapsing, partial, whole]) expect((await env.ledger.transfer(t)).result).toBe("ok");
    expect(await usageOf(payer.id)).toEqual(["day 900/3", "month 900/3"]);
    expect(await env.ledger.expirePendings(new Date(Date.now() + 2_000))).toBeGreaterThanOrEqual(1);
    expect(await usageOf(payer.id)).toEqual(["day 600/2", "month 600/2"]);
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: partial.id, amountMinor: 150n, code: "cash_out" })).result).toBe("ok");
    expect(await usageOf(payer.id)).toEqual(["day 350/2", "month 350/2"]);
    expect((await env.ledger.transfer({ id: uuidv7(), kind: "post", pendingId: whole.id, code: "cash_out" })).result).toBe("ok");
    expect(await usageOf(payer.id)).toEqual(["day 350/2", "month 350/2"]);
    expect(await usageOf(payee.id)).toEqual(["day:in 350/2", "month:in 350/2"]);
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });

  it("voids submitted twice over by two gateway processes give each hold's usage back once", async () => {
    const { payer, payee } = await pair();
    const first = env.newLedger({ maxBatchTransfers: 4 });
    const second = env.newLedger({ maxBatchTransfers: 4 });
    const holds = Array.from({ length: 10 }, () => hold(payer, payee, 100n));
    const made = await Promise.all(holds.map((t, i) => (i % 2 ? first : second).transfer(t)));
    expect(made.every((r) => r.result === "ok")).toBe(true);
    expect(await usageOf(payer.id)).toEqual(["day 1000/10", "month 1000/10"]);
    const voids = holds.map((h): TransferInput => ({ id: uuidv7(), kind: "void", pendingId: h.id, code: "declined" }));
    const results = await Promise.all([...voids.map((v) => first.transfer(v)), ...voids.map((v) => second.transfer(v))]);
    expect(results.filter((r) => r.result === "ok")).toHaveLength(10);
    expect(results.filter((r) => r.result === "exists")).toHaveLength(10);
    expect(await usageOf(payer.id)).toEqual(["day 0/0", "month 0/0"]);
    // The whole daily amount and count are free again, from either process.
    const sends = Array.from({ length: 10 }, (_, i) => (i % 2 ? first : second).transfer({
      id: uuidv7(), debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 100n, code: "cash_out", limits: LIMITS,
    }));
    expect((await Promise.all(sends)).every((r) => r.result === "ok")).toBe(true);
    expect(await usageOf(payer.id)).toEqual(["day 1000/10", "month 1000/10"]);
    expect(await usageOf(payee.id)).toEqual(["day:in 1000/10", "month:in 1000/10"]);
    expect(await sqlInvariantViolations(env.db)).toEqual([]);
  });
});
