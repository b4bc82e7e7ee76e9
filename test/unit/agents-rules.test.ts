// Pure parts of the agents core: the ledger-outcome table, the agent limits and their ledger
// policy, and the per-key serializer that keeps concurrent correct PINs from locking an agent.
import { describe, expect, it } from "vitest";
import { refusedForCustomer } from "../../src/core/agents/cash-out.js";
import { floatPolicy, isAmount } from "../../src/core/agents/kit.js";
import { resolveLimits } from "../../src/core/agents/onboarding.js";
import { agentRefusalFor } from "../../src/core/agents/refusals.js";
import { KeyedSerial } from "../../src/core/agents/serial.js";
import { DEFAULT_AGENT_LIMITS } from "../../src/core/agents/types.js";
import type { TransferInput, TransferResult } from "../../src/core/ledger/types.js";

const FLOAT = "f0000000-0000-4000-8000-000000000001";
const COMMISSION = "c0000000-0000-4000-8000-000000000002";
const WALLET = "a0000000-0000-4000-8000-000000000003";
const INCOME = "b0000000-0000-4000-8000-000000000004";
const group: TransferInput[] = [
  { id: "t1", debitAccountId: FLOAT, creditAccountId: WALLET, amountMinor: 10n, code: "cash_in" },
  { id: "t2", debitAccountId: WALLET, creditAccountId: INCOME, amountMinor: 1n, code: "fee_cash_in" },
  { id: "t3", debitAccountId: COMMISSION, creditAccountId: INCOME, amountMinor: 1n, code: "commission_cash_in" },
  { id: "t4", debitAccountId: WALLET, creditAccountId: FLOAT, amountMinor: 1n, code: "cash_out" },
];
const accounts = { floatAccountId: FLOAT, commissionAccountId: COMMISSION };
const withWallet = { ...accounts, walletAccountId: WALLET };
const failing = (id: string, result: TransferResult["result"]): TransferResult[] =>
  group.map((t) => ({ id: t.id, result: t.id === id ? result : "linked_event_failed" }));

describe("agentRefusalFor", () => {
  it("tells the agent a customer's wallet is full, never how much room it has (that is the customer's balance)", () => {
    const group = [{ id: "t1", debitAccountId: "float", creditAccountId: "customer-wallet", amountMinor: 50_000n, code: "cash_in" }] as never;
    const limit = { ok: false, code: "balance_limit_exceeded", limit: 5_000_000n, remainingMinor: 1_782_655n, availableMinor: 1_782_655n, party: "payee" };
    expect(agentRefusalFor([{ id: "t1", result: "balance_limit_exceeded", limit }] as never, group, { floatAccountId: "float" }, "agent")).toEqual({ ok: false, code: "balance_limit_exceeded" });
  });

  it("is null when every transfer is ok or exists", () => {
    expect(agentRefusalFor(group.map((t, i) => ({ id: t.id, result: i === 0 ? "exists" : "ok" })), group, accounts, "agent")).toBeNull();
  });

  it("names who ran short from the refused leg's debit account", () => {
    expect(agentRefusalFor(failing("t1", "exceeds_credits"), group, accounts, "agent")?.code).toBe("insufficient_float");
    expect(agentRefusalFor(failing("t2", "exceeds_credits"), group, accounts, "agent")?.code).toBe("insufficient_funds");
    expect(agentRefusalFor(failing("t3", "exceeds_credits"), group, accounts, "bank")?.code).toBe("commission_paid_out");
  });

  it("says float_limit_exceeded when the float is the capped payee, and passes other limits through", () => {
    const results = failing("t4", "balance_limit_exceeded");
    results[3]!.limit = { ok: false, code: "balance_limit_exceeded", limit: 5n, remainingMinor: 2n, availableMinor: 2n, party: "payee" };
    expect(agentRefusalFor(results, group, accounts, "agent")).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 2n });
    expect(agentRefusalFor(results, group, accounts, "bank")).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 2n });
    expect(agentRefusalFor(failing("t1", "daily_amount_exceeded"), group, accounts, "agent")?.code).toBe("daily_amount_exceeded");
  });

  it("says float_limit_exceeded for the float's inbound day and month limits, the payer's own under their names", () => {
    const inbound = failing("t4", "daily_amount_exceeded");
    inbound[3]!.limit = { ok: false, code: "daily_amount_exceeded", limit: 9n, remainingMinor: 1n, availableMinor: 1n, party: "payee" };
    expect(agentRefusalFor(inbound, group, accounts, "agent")).toEqual({ ok: false, code: "float_limit_exceeded", availableMinor: 1n });
    const own = failing("t4", "daily_amount_exceeded");
    own[3]!.limit = { ok: false, code: "daily_amount_exceeded", limit: 9n, remainingMinor: 1n, availableMinor: 1n, party: "payer" };
    expect(agentRefusalFor(own, group, accounts, "customer")).toEqual({ ok: false, code: "daily_amount_exceeded", availableMinor: 1n });
  });

  it("tells a limit's room only to whose limit it is: not the customer's to an agent, not the float's to a customer", () => {
    // A cash-out the agent asked for, refused by the customer's own daily limit: the code, no room.
    const customers = failing("t4", "daily_amount_exceeded");
    customers[3]!.limit = { ok: false, code: "daily_amount_exceeded", limit: 9n, remainingMinor: 4n, availableMinor: 4n, party: "payer" };
    expect(agentRefusalFor(customers, group, accounts, "agent")).toEqual({ ok: false, code: "daily_amount_exceeded" });
    // A withdrawal the customer asked for, refused by the float's cap or inbound day: no room.
    for (const code of ["balance_limit_exceeded", "daily_amount_exceeded", "monthly_amount_exceeded"] as const) {
      const floats = failing("t4", code);
      floats[3]!.limit = { ok: false, code, limit: 9n, remainingMinor: 3n, availableMinor: 3n, party: "payee" };
      expect(agentRefusalFor(floats, group, accounts, "customer")).toEqual({ ok: false, code: "float_limit_exceeded" });
    }
    // A cash-in refused by the float's own daily figure (the float pays): the agent hears its room.
    const agents = failing("t1", "daily_amount_exceeded");
    agents[0]!.limit = { ok: false, code: "daily_amount_exceeded", limit: 9n, remainingMinor: 5n, availableMinor: 5n, party: "payer" };
    expect(agentRefusalFor(agents, group, accounts, "agent")).toEqual({ ok: false, code: "daily_amount_exceeded", availableMinor: 5n });
  });

  it("tells a replayed limit refusal (code and party, no amounts) by its party, with no amount", () => {
    const replayed = failing("t4", "daily_amount_exceeded");
    replayed[3]!.limit = { ok: false, code: "daily_amount_exceeded", party: "payee" };
    expect(agentRefusalFor(replayed, group, accounts, "agent")).toEqual({ ok: false, code: "float_limit_exceeded" });
    replayed[3]!.limit = { ok: false, code: "daily_amount_exceeded", party: "payer" };
    expect(agentRefusalFor(replayed, group, accounts, "customer")).toEqual({ ok: false, code: "daily_amount_exceeded" });
  });

  it("maps a reused request id, frozen accounts and settled pendings, and throws on bugs", () => {
    expect(agentRefusalFor(failing("t1", "exists_with_different_amount"), group, withWallet, "agent")?.code).toBe("request_id_reused");
    // The customer's wallet, on either side of a leg with the float or with the bank, is the customer's state.
    expect(agentRefusalFor(failing("t2", "debit_account_frozen"), group, withWallet, "agent")?.code).toBe("customer_unavailable");
    expect(agentRefusalFor(failing("t4", "debit_account_frozen"), group, withWallet, "agent")?.code).toBe("customer_unavailable");
    expect(agentRefusalFor(failing("t4", "debit_account_closed"), group, withWallet, "customer")?.code).toBe("customer_unavailable");
    expect(agentRefusalFor(failing("t1", "credit_account_closed"), group, withWallet, "agent")?.code).toBe("customer_unavailable");
    // The float and the commission account are the agent's; the bank's fee income is the bank's own.
    expect(agentRefusalFor(failing("t1", "debit_account_frozen"), group, withWallet, "agent")?.code).toBe("agent_unavailable");
    expect(agentRefusalFor(failing("t4", "credit_account_frozen"), group, withWallet, "agent")?.code).toBe("agent_unavailable");
    expect(agentRefusalFor(failing("t3", "debit_account_frozen"), group, withWallet, "bank")?.code).toBe("agent_unavailable");
    expect(agentRefusalFor(failing("t2", "credit_account_frozen"), group, withWallet, "customer")?.code).toBe("bank_account_unavailable");
    expect(agentRefusalFor(failing("t3", "credit_account_closed"), group, withWallet, "agent")?.code).toBe("bank_account_unavailable");
    // With no customer in the operation (a float movement), no account is said as the customer's.
    expect(agentRefusalFor(failing("t2", "debit_account_frozen"), group, accounts, "bank")?.code).toBe("bank_account_unavailable");
    // A leg that names no accounts (a post) is not guessed to be anyone's but the bank's.
    expect(agentRefusalFor([{ id: "p1", result: "debit_account_frozen" }], [{ id: "p1", kind: "post", pendingId: "t4", code: "cash_out" }], withWallet, "customer")?.code).toBe("bank_account_unavailable");
    expect(agentRefusalFor(failing("t1", "pending_transfer_expired"), group, accounts, "customer")?.code).toBe("pending_expired");
    expect(() => agentRefusalFor(failing("t1", "invalid_id"), group, accounts, "agent")).toThrow(/unexpected ledger outcome/);
    expect(() => agentRefusalFor(group.map((t) => ({ id: t.id, result: "linked_event_failed" as const })), group, accounts, "agent")).toThrow(/without a cause/);
  });
});

describe("refusedForCustomer", () => {
  it("counts a cash-out refused for the customer's funds, limits or frozen or closed wallet, not one for the agent's or the bank's side", () => {
    expect(refusedForCustomer("insufficient_funds")).toBe(true);
    expect(refusedForCustomer("daily_amount_exceeded")).toBe(true);
    expect(refusedForCustomer("customer_unavailable")).toBe(true);
    expect(refusedForCustomer("bank_account_unavailable")).toBe(false);
    expect(refusedForCustomer("float_limit_exceeded")).toBe(false);
    expect(refusedForCustomer("agent_unavailable")).toBe(false);
    expect(refusedForCustomer("request_id_reused")).toBe(false);
  });
});

describe("agent limits", () => {
  it("fills defaults, keeps what is given and refuses nonsense field by field", () => {
    expect(resolveLimits(undefined)).toEqual(DEFAULT_AGENT_LIMITS);
    expect(resolveLimits({ maxDailyCount: 7 })).toEqual({ ...DEFAULT_AGENT_LIMITS, maxDailyCount: 7 });
    const problems = resolveLimits({ maxPerTransactionMinor: 0n, maxDailyCount: 1.5, maxFloatBalanceMinor: 10n ** 20n });
    expect(Array.isArray(problems) && problems.map((p) => p.path.join("."))).toEqual([
      "limits.maxPerTransactionMinor",
      "limits.maxFloatBalanceMinor",
      "limits.maxDailyCount",
    ]);
  });

  it("become a ledger policy on the float per direction: cash-in spends float out, withdrawals bring float in, the ceiling caps both", () => {
    const limits = { maxPerTransactionMinor: 5n, maxDailyFloatOutMinor: 100n, maxDailyFloatInMinor: 40n, maxDailyCount: 3, maxFloatBalanceMinor: 1_000n };
    expect(floatPolicy(limits, "out")).toEqual({ maxPerTransactionMinor: 5n, maxDailyAmountMinor: 100n, maxDailyCount: 3, maxMonthlyAmountMinor: 3_100n, maxBalanceMinor: 1_000n });
    expect(floatPolicy(limits, "in")).toEqual({ maxPerTransactionMinor: 5n, maxDailyAmountMinor: 40n, maxDailyCount: 3, maxMonthlyAmountMinor: 1_240n, maxBalanceMinor: 1_000n });
  });

  it("accepts only positive bigint amounts within the input ceiling", () => {
    for (const bad of [0n, -1n, 10n ** 16n, 1, "5", 1.5, null]) expect(isAmount(bad), String(bad)).toBe(false);
    expect(isAmount(1n)).toBe(true);
  });
});

describe("KeyedSerial", () => {
  it("runs tasks of one key one after another, other keys alongside, and survives a failure", async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = serial.run("agent-1", async () => {
      log.push("a1 start");
      await gate;
      log.push("a1 end");
      throw new Error("boom");
    });
    const second = serial.run("agent-1", async () => void log.push("a2"));
    const other = serial.run("agent-2", async () => void log.push("b1"));
    await other;
    expect(log).toEqual(["a1 start", "b1"]);
    release();
    await expect(first).rejects.toThrow("boom");
    await second;
    expect(log).toEqual(["a1 start", "b1", "a1 end", "a2"]);
  });
});
