// Pure tests of the ledger's decision logic: validation, idempotency, flags, linked groups and
// two-phase transfers, decided against hand-built snapshots with no I/O.
import { afterAll, describe, expect, it } from "vitest";
import { compareWithExisting } from "../../src/core/ledger/compare.js";
import { decideBatch } from "../../src/core/ledger/decide.js";
import type { LedgerSnapshot } from "../../src/core/ledger/snapshot.js";
import {
  AccountFlags,
  MAX_AMOUNT_MINOR,
  MAX_LINKED_GROUP,
  MAX_TIMEOUT_SEC,
  RECORDED_FAILURES,
  type Transfer,
  type TransferFailure,
  type TransferInput,
  type TransferResultCode,
} from "../../src/core/ledger/types.js";
import { validateTransfer } from "../../src/core/ledger/validate.js";
import { usageKey, type UsageRow } from "../../src/core/ledger/limits-check.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";
import {
  account,
  advance,
  balancesOf,
  id,
  isFailure,
  pending,
  post,
  single,
  snapshot,
  voidOf,
} from "../helpers/ledger-fixtures.js";

// Every result code, checked by the compiler: adding a code to TransferResultCode without
// listing it here fails `npm run typecheck`, and the afterAll below fails if no test produced it.
const ALL_CODES: Record<TransferResultCode, true> = {
  ok: true,
  exists: true,
  exists_with_different_kind: true,
  exists_with_different_debit_account_id: true,
  exists_with_different_credit_account_id: true,
  exists_with_different_amount: true,
  exists_with_different_pending_id: true,
  exists_with_different_timeout: true,
  exists_with_different_code: true,
  exists_with_different_reference: true,
  exists_with_different_group: true,
  linked_event_failed: true,
  linked_group_too_large: true,
  invalid_id: true,
  invalid_kind: true,
  invalid_code: true,
  invalid_reference: true,
  invalid_account_id: true,
  amount_must_be_positive: true,
  amount_too_large: true,
  accounts_must_be_different: true,
  timeout_reserved_for_pending_transfer: true,
  invalid_timeout: true,
  pending_id_required: true,
  pending_id_must_not_be_set: true,
  pending_id_must_be_different: true,
  debit_account_not_found: true,
  credit_account_not_found: true,
  debit_account_frozen: true,
  credit_account_frozen: true,
  debit_account_closed: true,
  credit_account_closed: true,
  accounts_must_have_the_same_currency: true,
  pending_transfer_not_found: true,
  pending_transfer_not_pending: true,
  pending_transfer_has_different_debit_account_id: true,
  pending_transfer_has_different_credit_account_id: true,
  pending_transfer_has_different_amount: true,
  exceeds_pending_transfer_amount: true,
  pending_transfer_already_posted: true,
  pending_transfer_already_voided: true,
  pending_transfer_expired: true,
  overflows_debits: true,
  overflows_credits: true,
  exceeds_credits: true,
  exceeds_debits: true,
  invalid_limits: true,
  invalid_notices: true,
  per_transaction_exceeded: true,
  daily_count_exceeded: true,
  daily_amount_exceeded: true,
  monthly_amount_exceeded: true,
  balance_limit_exceeded: true,
  transfer_abandoned: true,
};

const produced = new Set<TransferResultCode>();
const NOW = new Date("2026-01-01T12:00:00.000Z");
const later = (sec: number) => new Date(NOW.getTime() + sec * 1000);
const WALLET = AccountFlags.debitsMustNotExceedCredits;
const SETTLEMENT = AccountFlags.creditsMustNotExceedDebits;

/** Decides one batch and records every code it returned for the coverage check. */
function decide(snap: LedgerSnapshot, groups: TransferInput[][], now = NOW) {
  const decision = decideBatch(snap, groups, now);
  for (const group of decision.results) for (const r of group) produced.add(r.result);
  return decision;
}

/** validateTransfer, recording the code it returned for the coverage check. */
function validate(input: TransferInput): TransferResultCode | null {
  const code = validateTransfer(input);
  if (code) produced.add(code);
  return code;
}

/** One transfer alone in its batch; returns its code and the decision. */
function one(snap: LedgerSnapshot, input: TransferInput, now = NOW) {
  const decision = decide(snap, [[input]], now);
  expect(decision.results).toHaveLength(1);
  expect(decision.results[0]).toHaveLength(1);
  expect(decision.results[0]![0]!.id).toBe(input.id);
  return { code: decision.results[0]![0]!.result, decision };
}

/** A code that changes nothing: no transfer, no balance, and a failure only if it is a recorded kind. */
function expectRefused(snap: LedgerSnapshot, input: TransferInput, expected: TransferResultCode, now = NOW) {
  const before = new Map([...snap.accounts].map(([k, a]) => [k, balancesOf(a)]));
  const seenBefore = snap.existing.has(input.id);
  const { code, decision } = one(snap, input, now);
  expect(code).toBe(expected);
  expect(decision.transfers).toEqual([]);
  for (const [k, a] of snap.accounts) expect(balancesOf(a)).toEqual(before.get(k));
  // A refusal is recorded the first time only; a retry of a recorded id adds nothing.
  if (RECORDED_FAILURES.has(expected) && !seenBefore) {
    expect(decision.failures.map((f) => [f.id, f.result])).toEqual([[input.id, expected]]);
  } else {
    expect(decision.failures).toEqual([]);
  }
  return decision;
}

/** A funded wallet (flag 1), a bank account without flags, and a second wallet. */
function basicAccounts() {
  return [
    account("alice", { flags: WALLET, creditsPosted: 1_000n }),
    account("bob", { flags: WALLET }),
    account("bank", { kind: "bank", debitsPosted: 1_000n }),
  ];
}

/** A snapshot in which `holdName` (alice → bob, amount) is pending, reached through decideBatch itself. */
function withPending(holdName: string, amountMinor: bigint, extra: Partial<TransferInput> = {}) {
  const start = snapshot({ accounts: basicAccounts() });
  const made = decide(start, [[pending(holdName, "alice", "bob", amountMinor, extra)]]);
  expect(made.results[0]![0]!.result).toBe("ok");
  return advance(start, made);
}

afterAll(() => {
  // Runs only when the whole file ran; a filtered run (-t) would see a partial set.
  const missing = Object.keys(ALL_CODES).filter((c) => !produced.has(c as TransferResultCode));
  if (produced.size > 30) expect(missing).toEqual([]);
});

describe("abandoning an id whose outcome is unknown (Ledger.abandon)", () => {
  const abandon = (name: string): TransferInput => ({ id: id(name), code: "abandoned", abandon: true });

  it("records an id never seen as refused, and refuses every later transfer of it", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const made = expectRefused(start, abandon("lost"), "transfer_abandoned");
    const after = advance(start, made);
    expectRefused(after, single("lost", "alice", "bob", 5n), "transfer_abandoned");
    expectRefused(after, abandon("lost"), "transfer_abandoned");
  });

  it("answers exists for an id that posted, and a recorded refusal as it was recorded", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const posted = decide(start, [[single("sent", "alice", "bob", 5n)], [single("short", "alice", "bob", 5_000n)]]);
    const after = advance(start, posted);
    expect(one(after, abandon("sent")).code).toBe("exists");
    expect(one(after, abandon("sent")).decision.failures).toEqual([]);
    expectRefused(after, abandon("short"), "exceeds_credits");
  });

  it("is refused as bad input inside a linked group", () => {
    expect(validate(abandon("grouped"))).toBe("invalid_kind");
  });
});

describe("validateTransfer", () => {
  const good = single("v", "alice", "bob", 5n);

  it("accepts a well-formed transfer of each kind", () => {
    expect(validate(good)).toBeNull();
    expect(validate({ ...good, kind: undefined })).toBeNull();
    expect(validate(pending("p", "alice", "bob", 5n, { timeoutSec: MAX_TIMEOUT_SEC }))).toBeNull();
    expect(validate(post("po", "p"))).toBeNull();
    expect(validate(post("po", "p", { amountMinor: 1n, debitAccountId: id("alice") }))).toBeNull();
    expect(validate(voidOf("vo", "p"))).toBeNull();
    expect(validate({ ...good, amountMinor: MAX_AMOUNT_MINOR })).toBeNull();
    expect(validate({ ...good, reference: "x".repeat(128) })).toBeNull();
    expect(validate({ ...good, reference: "salary 😀 — ü" })).toBeNull();
    expect(validate({ ...good, code: "a".repeat(32) })).toBeNull();
  });

  it.each<[string, Partial<TransferInput>, TransferResultCode]>([
    ["a non-UUID id", { id: "42" }, "invalid_id"],
    ["the nil UUID", { id: "00000000-0000-0000-0000-000000000000" }, "invalid_id"],
    ["an upper-case UUID", { id: id("v").toUpperCase() }, "invalid_id"],
    ["an unknown kind", { kind: "refund" as never }, "invalid_kind"],
    ["an upper-case code", { code: "P2P" }, "invalid_code"],
    ["an empty code", { code: "" }, "invalid_code"],
    ["a 33-character code", { code: "a".repeat(33) }, "invalid_code"],
    ["a 129-character reference", { reference: "x".repeat(129) }, "invalid_reference"],
    ["a non-string reference", { reference: 7 as never }, "invalid_reference"],
    ["a reference with a NUL", { reference: "inv\u00007" }, "invalid_reference"],
    ["a reference with half a surrogate pair", { reference: "inv \uD83D" }, "invalid_reference"],
    ["a reference with a stray low surrogate", { reference: "\uDE00 inv" }, "invalid_reference"],
    ["a non-UUID debit account", { debitAccountId: "alice" }, "invalid_account_id"],
    ["a missing credit account", { creditAccountId: undefined }, "invalid_account_id"],
    ["the same account twice", { creditAccountId: id("alice") }, "accounts_must_be_different"],
    ["a zero amount", { amountMinor: 0n }, "amount_must_be_positive"],
    ["a negative amount", { amountMinor: -5n }, "amount_must_be_positive"],
    ["a number amount", { amountMinor: 5 as never }, "amount_must_be_positive"],
    ["no amount", { amountMinor: undefined }, "amount_must_be_positive"],
    ["an amount above BIGINT", { amountMinor: MAX_AMOUNT_MINOR + 1n }, "amount_too_large"],
    ["a pending id on a single", { pendingId: id("p") }, "pending_id_must_not_be_set"],
    ["a timeout on a single", { timeoutSec: 30 }, "timeout_reserved_for_pending_transfer"],
    ["a notice to a number not in E.164", { notices: [{ msisdn: "0712345678", template: "receipt.p2p_sent", params: {}, kind: "receipt" }] }, "invalid_notices"],
  ])("refuses %s", (_label, change, expected) => {
    expect(validate({ ...good, ...change })).toBe(expected);
  });

  it.each<[string, number]>([
    ["zero", 0],
    ["negative", -1],
    ["fractional", 1.5],
    ["beyond 30 days", MAX_TIMEOUT_SEC + 1],
    ["NaN", Number.NaN],
  ])("refuses a %s pending timeout", (_label, timeoutSec) => {
    expect(validate(pending("p", "alice", "bob", 5n, { timeoutSec }))).toBe("invalid_timeout");
  });

  it.each<[string, TransferInput, TransferResultCode]>([
    ["a post without pending id", { ...post("po", "p"), pendingId: undefined }, "pending_id_required"],
    ["a void with a non-UUID pending id", { ...voidOf("vo", "p"), pendingId: "p" }, "pending_id_required"],
    ["a post of itself", post("p", "p"), "pending_id_must_be_different"],
    ["a post naming a bad debit account", post("po", "p", { debitAccountId: "x" }), "invalid_account_id"],
    ["a void naming a bad credit account", voidOf("vo", "p", { creditAccountId: "x" }), "invalid_account_id"],
    ["a post of zero", post("po", "p", { amountMinor: 0n }), "amount_must_be_positive"],
    ["a post above BIGINT", post("po", "p", { amountMinor: MAX_AMOUNT_MINOR + 1n }), "amount_too_large"],
    ["a post with a timeout", post("po", "p", { timeoutSec: 5 }), "timeout_reserved_for_pending_transfer"],
  ])("refuses %s", (_label, input, expected) => {
    expect(validate(input)).toBe(expected);
  });

  it("checks in a fixed order: id, kind, code, reference, accounts, amount, pending id, timeout", () => {
    const bad: TransferInput = {
      id: "nope",
      kind: "bogus" as never,
      code: "BAD",
      reference: "x".repeat(200),
      debitAccountId: "a",
      creditAccountId: "a",
      amountMinor: 0n,
      pendingId: "p",
      timeoutSec: -1,
    };
    const order: TransferResultCode[] = [];
    let t: TransferInput = bad;
    const fixes: Partial<TransferInput>[] = [
      { id: id("x") },
      { kind: "single" },
      { code: "ok_code" },
      { reference: "r" },
      { debitAccountId: id("a"), creditAccountId: id("a") },
      { creditAccountId: id("b") },
      { amountMinor: 5n },
      { pendingId: undefined },
      { kind: "pending" },
      { timeoutSec: 10 },
    ];
    for (const fix of fixes) {
      order.push(validate(t) ?? "ok");
      t = { ...t, ...fix };
    }
    order.push(validate(t) ?? "ok");
    expect(order).toEqual([
      "invalid_id",
      "invalid_kind",
      "invalid_code",
      "invalid_reference",
      "invalid_account_id",
      "accounts_must_be_different",
      "amount_must_be_positive",
      "pending_id_must_not_be_set",
      "timeout_reserved_for_pending_transfer",
      "invalid_timeout",
      "ok",
    ]);
  });
});

describe("decideBatch: single transfers", () => {
  it("moves money and emits the transfer", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const { code, decision } = one(snap, single("t1", "alice", "bob", 300n, { reference: "rent" }));
    expect(code).toBe("ok");
    expect(decision.transfers).toEqual([
      {
        id: id("t1"),
        kind: "single",
        debitAccountId: id("alice"),
        creditAccountId: id("bob"),
        amountMinor: 300n,
        currency: "KES",
        pendingId: null,
        timeoutSec: null,
        expiresAt: null,
        code: "p2p",
        reference: "rent",
        createdAt: NOW,
      },
    ]);
    expect(decision.failures).toEqual([]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 300n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 300n]);
    expect(decision.accounts.map((a) => a.id).sort()).toEqual([id("alice"), id("bob")].sort());
  });

  it("defaults the kind to single", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const { code, decision } = one(snap, { ...single("t1", "alice", "bob", 1n), kind: undefined });
    expect(code).toBe("ok");
    expect(decision.transfers[0]!.kind).toBe("single");
  });

  it("lets a wallet spend exactly its balance and not one unit more", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    expect(one(snap, single("t1", "alice", "bob", 1_000n)).code).toBe("ok");
    expectRefused(snap, single("t2", "alice", "bob", 1n), "exceeds_credits");
  });

  it("refuses a credit beyond debits on a creditsMustNotExceedDebits account", () => {
    const snap = snapshot({ accounts: [...basicAccounts(), account("settle", { kind: "settlement", flags: SETTLEMENT, debitsPosted: 50n })] });
    expect(one(snap, single("t1", "bank", "settle", 50n)).code).toBe("ok");
    expectRefused(snap, single("t2", "bank", "settle", 1n), "exceeds_debits");
  });

  it.each<[string, TransferInput, TransferResultCode]>([
    ["debit_account_not_found", single("t", "ghost", "bob", 1n), "debit_account_not_found"],
    ["credit_account_not_found", single("t", "alice", "ghost", 1n), "credit_account_not_found"],
    ["accounts_must_have_the_same_currency", single("t", "alice", "usd", 1n), "accounts_must_have_the_same_currency"],
  ])("refuses with %s without recording it", (_label, input, expected) => {
    const snap = snapshot({ accounts: [...basicAccounts(), account("usd", { currency: "USD" })] });
    expectRefused(snap, input, expected);
  });

  it.each<["frozen" | "closed", "debit" | "credit"]>([
    ["frozen", "debit"],
    ["frozen", "credit"],
    ["closed", "debit"],
    ["closed", "credit"],
  ])("refuses and records a transfer touching a %s %s account", (status, side) => {
    const accounts = basicAccounts().map((a) => (a.id === id(side === "debit" ? "alice" : "bob") ? { ...a, status } : a));
    const snap = snapshot({ accounts });
    expectRefused(snap, single("t", "alice", "bob", 1n), `${side}_account_${status}` as TransferResultCode);
  });

  it("refuses invalid input through decideBatch without recording it", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    expectRefused(snap, single("t", "alice", "alice", 1n), "accounts_must_be_different");
    expectRefused(snap, { ...single("t", "alice", "bob", 1n), id: "x" }, "invalid_id");
  });

  it("refuses an overflow of the debit side and of the credit side", () => {
    const snap = snapshot({
      accounts: [
        account("full-debits", { kind: "bank", debitsPosted: MAX_AMOUNT_MINOR - 10n }),
        account("full-credits", { kind: "bank", creditsPosted: MAX_AMOUNT_MINOR - 10n }),
        account("pending-debits", { kind: "bank", debitsPending: MAX_AMOUNT_MINOR - 10n }),
        account("sink", { kind: "bank" }),
      ],
    });
    expect(one(snap, single("t0", "full-debits", "sink", 10n)).code).toBe("ok");
    expectRefused(snap, single("t1", "full-debits", "sink", 1n), "overflows_debits");
    // Pending and posted debits count together.
    expectRefused(snap, single("t2", "pending-debits", "sink", 11n), "overflows_debits");
    expect(one(snap, single("t3", "sink", "full-credits", 10n)).code).toBe("ok");
    expectRefused(snap, single("t4", "sink", "full-credits", 1n), "overflows_credits");
    expect(snap.accounts.get(id("full-debits"))!.debitsPosted).toBe(MAX_AMOUNT_MINOR);
    expect(snap.accounts.get(id("full-credits"))!.creditsPosted).toBe(MAX_AMOUNT_MINOR);
  });
});

describe("decideBatch: precedence between codes", () => {
  it("reports invalid input before an existing id", () => {
    const first = single("t", "alice", "bob", 5n);
    const snap = snapshot({ accounts: basicAccounts() });
    expect(one(snap, first).code).toBe("ok");
    const again = advance(snapshot({ accounts: basicAccounts() }), decideBatch(snapshot({ accounts: basicAccounts() }), [[first]], NOW));
    expectRefused(again, { ...first, amountMinor: 0n }, "amount_must_be_positive");
    expectRefused(again, { ...first, code: "Nope" }, "invalid_code");
    expect(one(again, first).code).toBe("exists");
  });

  it("reports an existing id before missing or frozen accounts", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const first = single("t", "alice", "bob", 5n);
    const after = advance(start, decide(start, [[first]]));
    after.accounts.delete(id("bob"));
    after.accounts.get(id("alice"))!.status = "frozen";
    expect(one(after, first).code).toBe("exists");
  });

  it("reports a missing debit account before a missing credit account", () => {
    expectRefused(snapshot({ accounts: basicAccounts() }), single("t", "ghost1", "ghost2", 1n), "debit_account_not_found");
  });

  it("reports not found before frozen", () => {
    const snap = snapshot({ accounts: [account("alice", { status: "frozen", creditsPosted: 10n })] });
    expectRefused(snap, single("t", "alice", "ghost", 1n), "credit_account_not_found");
  });

  it("reports the debit account's status before the credit account's", () => {
    const snap = snapshot({ accounts: [account("alice", { status: "closed" }), account("bob", { status: "frozen" })] });
    expectRefused(snap, single("t", "alice", "bob", 1n), "debit_account_closed");
  });

  it("reports frozen before a currency mismatch", () => {
    const snap = snapshot({ accounts: [account("alice", { creditsPosted: 10n }), account("usd", { currency: "USD", status: "frozen" })] });
    expectRefused(snap, single("t", "alice", "usd", 1n), "credit_account_frozen");
  });

  it("reports a currency mismatch before insufficient funds", () => {
    const snap = snapshot({ accounts: [account("alice", { flags: WALLET }), account("usd", { currency: "USD" })] });
    expectRefused(snap, single("t", "alice", "usd", 1n), "accounts_must_have_the_same_currency");
  });

  it("reports an overflow before exceeds_credits, and debits before credits", () => {
    const snap = snapshot({
      accounts: [
        account("wallet", { flags: WALLET, debitsPosted: MAX_AMOUNT_MINOR - 1n, creditsPosted: MAX_AMOUNT_MINOR - 1n }),
        account("settle", { flags: SETTLEMENT, creditsPosted: MAX_AMOUNT_MINOR - 1n, debitsPosted: MAX_AMOUNT_MINOR - 1n }),
      ],
    });
    // Both sides would overflow and both flags would be violated: the debit overflow wins.
    expectRefused(snap, single("t", "wallet", "settle", 5n), "overflows_debits");
  });

  it("reports exceeds_credits before exceeds_debits", () => {
    const snap = snapshot({ accounts: [account("wallet", { flags: WALLET }), account("settle", { flags: SETTLEMENT })] });
    expectRefused(snap, single("t", "wallet", "settle", 5n), "exceeds_credits");
  });
});

describe("decideBatch: idempotency", () => {
  const first = pending("h", "alice", "bob", 100n, { timeoutSec: 60 });
  function afterFirst() {
    const start = snapshot({ accounts: basicAccounts() });
    return advance(start, decide(start, [[first]]));
  }

  it("answers exists to an identical retry and moves nothing", () => {
    const snap = afterFirst();
    const { code, decision } = one(snap, { ...first });
    expect(code).toBe("exists");
    expect(decision.transfers).toEqual([]);
    expect(decision.failures).toEqual([]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([100n, 0n, 0n, 1_000n]);
  });

  it.each<[TransferResultCode, Partial<TransferInput>]>([
    ["exists_with_different_kind", { kind: "single", timeoutSec: undefined }],
    ["exists_with_different_debit_account_id", { debitAccountId: id("bank") }],
    ["exists_with_different_credit_account_id", { creditAccountId: id("bank") }],
    ["exists_with_different_amount", { amountMinor: 101n }],
    ["exists_with_different_timeout", { timeoutSec: 61 }],
    ["exists_with_different_timeout", { timeoutSec: undefined }],
    ["exists_with_different_reference", { reference: "another request's reference" }],
    ["exists_with_different_code", { code: "other" }],
  ])("answers %s when that field differs", (expected, change) => {
    expectRefused(afterFirst(), { ...first, ...change }, expected);
  });

  it("answers exists_with_different_pending_id for a post naming another pending", () => {
    const snap = withPending("h1", 10n);
    const settle = post("s", "h1");
    const next = advance(snap, decide(snap, [[settle]]));
    expectRefused(next, { ...settle, pendingId: id("h2") }, "exists_with_different_pending_id");
  });

  it("treats accounts and amount omitted from a post or void retry as the same", () => {
    const snap = withPending("h1", 10n);
    const settle = post("s", "h1", { amountMinor: 7n });
    const next = advance(snap, decide(snap, [[settle]]));
    expect(one(next, { ...settle, amountMinor: undefined }).code).toBe("exists");
    expect(one(next, { ...settle, debitAccountId: id("alice"), creditAccountId: id("bob") }).code).toBe("exists");
    expectRefused(next, { ...settle, amountMinor: 10n }, "exists_with_different_amount");
    expectRefused(next, { ...settle, creditAccountId: id("bank") }, "exists_with_different_credit_account_id");
  });

  it("compares fields in a fixed order: kind, debit, credit, amount, pending id, timeout, code, reference", () => {
    const existing: Transfer = {
      id: id("x"),
      kind: "single",
      debitAccountId: id("a"),
      creditAccountId: id("b"),
      amountMinor: 5n,
      currency: "KES",
      pendingId: null,
      timeoutSec: null,
      expiresAt: null,
      code: "p2p",
      reference: null,
      createdAt: NOW,
    };
    const all: TransferInput = {
      id: id("x"),
      kind: "pending",
      debitAccountId: id("c"),
      creditAccountId: id("d"),
      amountMinor: 6n,
      pendingId: id("p"),
      timeoutSec: 5,
      code: "other",
      reference: "another",
    };
    const fixes: Partial<TransferInput>[] = [
      { kind: "single" },
      { debitAccountId: id("a") },
      { creditAccountId: id("b") },
      { amountMinor: 5n },
      { pendingId: undefined },
      { timeoutSec: undefined },
      { code: "p2p" },
      { reference: undefined },
    ];
    const order: TransferResultCode[] = [];
    let input = all;
    for (const fix of fixes) {
      order.push(compareWithExisting(input, existing));
      input = { ...input, ...fix };
    }
    order.push(compareWithExisting(input, existing));
    expect(order).toEqual([
      "exists_with_different_kind",
      "exists_with_different_debit_account_id",
      "exists_with_different_credit_account_id",
      "exists_with_different_amount",
      "exists_with_different_pending_id",
      "exists_with_different_timeout",
      "exists_with_different_code",
      "exists_with_different_reference",
      "exists",
    ]);
  });

  it("answers a retry of a recorded failure with its first code, fields compared first", () => {
    const failure: TransferFailure = {
      id: id("f"),
      result: "exceeds_credits",
      kind: "single",
      debitAccountId: id("alice"),
      creditAccountId: id("bob"),
      amountMinor: 5_000n,
      pendingId: null,
      createdAt: NOW,
      limitParty: null,
    };
    const input = single("f", "alice", "bob", 5_000n);
    expect(compareWithExisting(input, failure)).toBe("exceeds_credits");
    // A failure has no timeout or code to compare: a different code still gets the first answer.
    expect(compareWithExisting({ ...input, code: "other" }, failure)).toBe("exceeds_credits");
    expect(compareWithExisting({ ...input, amountMinor: 1n }, failure)).toBe("exists_with_different_amount");
    expect(compareWithExisting({ ...input, kind: "pending" }, failure)).toBe("exists_with_different_kind");
  });
});

describe("decideBatch: retries of recorded failures", () => {
  it("keeps refusing an overdraft after the wallet is funded", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const big = single("big", "alice", "bob", 5_000n);
    const first = expectRefused(start, big, "exceeds_credits");
    expect(first.failures[0]).toMatchObject({ kind: "single", amountMinor: 5_000n, debitAccountId: id("alice"), createdAt: NOW });
    const funded = advance(start, first);
    funded.accounts.get(id("alice"))!.creditsPosted = 1_000_000n;
    expectRefused(funded, big, "exceeds_credits");
    // The same id with another amount is a different request, not a retry.
    expectRefused(funded, { ...big, amountMinor: 1n }, "exists_with_different_amount");
    // A fresh id for the same payment goes through.
    expect(one(funded, { ...big, id: id("big-2") }).code).toBe("ok");
  });

  it("keeps refusing a transfer from a frozen account after it is unfrozen", () => {
    const start = snapshot({ accounts: basicAccounts().map((a) => (a.id === id("alice") ? { ...a, status: "frozen" as const } : a)) });
    const t = single("t", "alice", "bob", 5n);
    const refused = expectRefused(start, t, "debit_account_frozen");
    const thawed = advance(start, refused);
    thawed.accounts.get(id("alice"))!.status = "active";
    expectRefused(thawed, t, "debit_account_frozen");
  });

  it("does not remember a refusal that is not recorded: a retry may succeed", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const t = single("t", "alice", "carol", 5n);
    const refused = expectRefused(start, t, "credit_account_not_found");
    const later = advance(start, refused);
    later.accounts.set(id("carol"), account("carol"));
    expect(one(later, t).code).toBe("ok");
  });

  it("answers the first code to a retry within the same batch", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const big = single("big", "alice", "bob", 5_000n);
    const decision = decide(snap, [[big], [{ ...big }], [{ ...big, amountMinor: 6_000n }]]);
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["exceeds_credits", "exceeds_credits", "exists_with_different_amount"]);
    expect(decision.failures).toHaveLength(1);
  });

  it("records an expired post and answers it again", () => {
    const snap = withPending("h", 10n, { timeoutSec: 60 });
    const settle = post("s", "h");
    const refused = expectRefused(snap, settle, "pending_transfer_expired", later(60));
    expect(refused.failures[0]).toMatchObject({ kind: "post", pendingId: id("h"), amountMinor: null, debitAccountId: null });
    expectRefused(advance(snap, refused), settle, "pending_transfer_expired", later(1));
  });
});

describe("decideBatch: duplicate ids", () => {
  it("applies an id submitted twice in one batch once", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const t = single("t", "alice", "bob", 10n);
    const decision = decide(snap, [[t], [{ ...t }], [{ ...t, amountMinor: 11n }]]);
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["ok", "exists", "exists_with_different_amount"]);
    expect(decision.transfers.map((x) => x.id)).toEqual([id("t")]);
    expect(snap.accounts.get(id("bob"))!.creditsPosted).toBe(10n);
  });

  it("applies an id repeated inside one group once", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const t = single("t", "alice", "bob", 10n);
    const decision = decide(snap, [[t, { ...t }, single("fee", "alice", "bank", 1n)]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["ok", "exists", "ok"]);
    expect(decision.transfers.map((x) => x.id)).toEqual([id("t"), id("fee")]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 11n, 0n, 1_000n]);
  });

  it("fails a group whose repeated id differs, moving nothing and recording nothing", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const t = single("t", "alice", "bob", 10n);
    const decision = decide(snap, [[t, { ...t, amountMinor: 12n }]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "exists_with_different_amount"]);
    expect(decision.transfers).toEqual([]);
    expect(decision.failures).toEqual([]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 0n, 0n, 1_000n]);
    // The id is free again: a later group in the same batch can use it.
    const next = decide(snap, [[t]]);
    expect(next.results[0]![0]!.result).toBe("ok");
  });
});

describe("decideBatch: linked groups", () => {
  it("fails a retried group that gained a member since it was written: nothing new moves, the written ones stay", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const pay = single("pay", "alice", "bob", 900n);
    const first = decide(snap, [[pay]]);
    expect(first.results[0]!.map((r) => r.result)).toEqual(["ok"]);
    const later = advance(snapshot({ accounts: basicAccounts() }), first);
    // The same payment id, now with a fee leg (the schedule changed between the two runs).
    const retry = decide(later, [[pay, single("fee", "alice", "bank", 100n)]]);
    expect(retry.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "exists_with_different_group"]);
    expect(retry.transfers).toEqual([]);
    expect(retry.failures).toEqual([]);
    expect(balancesOf(later.accounts.get(id("alice")))).toEqual([0n, 900n, 0n, 1_000n]);
    // The group as it was written still answers exists.
    expect(decide(later, [[pay]]).results[0]!.map((r) => r.result)).toEqual(["exists"]);
  });

  it("applies a successful group whole and in order", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const group = [single("pay", "alice", "bob", 900n), single("fee", "alice", "bank", 100n)];
    const decision = decide(snap, [group]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["ok", "ok"]);
    expect(decision.transfers.map((t) => t.id)).toEqual([id("pay"), id("fee")]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 1_000n, 0n, 1_000n]);
  });

  it("rolls back a group whose member overdraws: cause reported once, others linked_event_failed, all recorded", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const group = [
      single("g1", "bank", "bob", 50n),
      single("g2", "alice", "bob", 900n),
      single("g3", "alice", "bank", 200n),
      single("g4", "bob", "bank", 1n),
    ];
    const decision = decide(snap, [group]);
    expect(decision.results[0]!.map((r) => [r.id, r.result])).toEqual([
      [id("g1"), "linked_event_failed"],
      [id("g2"), "linked_event_failed"],
      [id("g3"), "exceeds_credits"],
      [id("g4"), "linked_event_failed"],
    ]);
    expect(decision.transfers).toEqual([]);
    for (const a of basicAccounts()) expect(balancesOf(snap.accounts.get(a.id))).toEqual(balancesOf(a));
    // exceeds_credits is a recorded refusal, so every member's answer is remembered.
    expect(decision.failures.map((f) => [f.id, f.result])).toEqual([
      [id("g1"), "linked_event_failed"],
      [id("g2"), "linked_event_failed"],
      [id("g3"), "exceeds_credits"],
      [id("g4"), "linked_event_failed"],
    ]);
    // A retry of the whole group, or of one member alone, gets the same answers.
    const later = advance(snapshot({ accounts: basicAccounts() }), decision);
    const retry = decide(later, [group, [group[0]!]]);
    expect(retry.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "linked_event_failed", "exceeds_credits", "linked_event_failed"]);
    expect(retry.results[1]![0]!.result).toBe("linked_event_failed");
    expect(retry.transfers).toEqual([]);
  });

  it.each<[string, TransferInput, TransferResultCode]>([
    ["an unknown account", single("g2", "alice", "ghost", 1n), "credit_account_not_found"],
    ["bad input", single("g2", "alice", "bob", 0n), "amount_must_be_positive"],
    ["a currency mismatch", single("g2", "alice", "usd", 1n), "accounts_must_have_the_same_currency"],
  ])("rolls back a group failing on %s without recording anything", (_label, bad, cause) => {
    const snap = snapshot({ accounts: [...basicAccounts(), account("usd", { currency: "USD" })] });
    const decision = decide(snap, [[single("g1", "alice", "bob", 5n), bad]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", cause]);
    expect(decision.transfers).toEqual([]);
    expect(decision.failures).toEqual([]);
    expect(RECORDED_FAILURES.has(cause)).toBe(false);
    expect(snap.accounts.get(id("alice"))!.debitsPosted).toBe(0n);
  });

  it("lets a later group use the balance a failed group gave back", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const decision = decide(snap, [
      [single("a1", "alice", "bob", 800n), single("a2", "alice", "bob", 300n)],
      [single("b1", "alice", "bob", 1_000n)],
    ]);
    expect(decision.results.map((g) => g.map((r) => r.result))).toEqual([["linked_event_failed", "exceeds_credits"], ["ok"]]);
    expect(decision.transfers.map((t) => t.id)).toEqual([id("b1")]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 1_000n]);
  });

  it("undoes a post inside a failed group, so the pending can still be resolved", () => {
    const snap = withPending("h", 100n);
    const decision = decide(snap, [
      [post("s", "h"), single("x", "bob", "bank", 500n)],
      [voidOf("v", "h")],
    ]);
    expect(decision.results.map((g) => g.map((r) => r.result))).toEqual([["linked_event_failed", "exceeds_credits"], ["ok"]]);
    expect(decision.transfers.map((t) => t.id)).toEqual([id("v")]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 0n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 0n]);
  });

  it("reports a member that already exists as linked_event_failed and does not record over it", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const old = single("old", "alice", "bob", 10n);
    const snap = advance(start, decide(start, [[old]]));
    const decision = decide(snap, [[old, single("new", "alice", "bob", 5_000n)]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect(decision.failures.map((f) => f.id)).toEqual([id("new")]);
    expect(one(snap, old).code).toBe("exists");
  });

  it("accepts a group of the maximum size and refuses a larger one whole", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const ok = Array.from({ length: MAX_LINKED_GROUP }, (_, i) => single(`m${i}`, "bank", "bob", 1n));
    const tooBig = Array.from({ length: MAX_LINKED_GROUP + 1 }, (_, i) => single(`n${i}`, "bank", "bob", 1n));
    const decision = decide(snap, [ok, tooBig, []]);
    expect(decision.results[0]!.every((r) => r.result === "ok")).toBe(true);
    expect(decision.results[1]!.map((r) => r.result)).toEqual(Array(MAX_LINKED_GROUP + 1).fill("linked_group_too_large"));
    expect(decision.results[2]).toEqual([]);
    expect(decision.transfers).toHaveLength(MAX_LINKED_GROUP);
    expect(decision.failures).toEqual([]);
  });
});

describe("decideBatch: two-phase transfers", () => {
  it("settles a pending made earlier in the same batch, and only once", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const decision = decideBatch(
      snap,
      [[pending("h", "alice", "bob", 400n, { timeoutSec: 60 })], [post("s", "h", { amountMinor: 100n })], [voidOf("v", "h")]],
      new Date("2026-11-25T12:00:00Z"),
    );
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["ok", "ok", "pending_transfer_already_posted"]);
    expect(decision.transfers.map((t) => t.kind)).toEqual(["pending", "post"]);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 100n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 100n]);
  });

  it("reserves funds with a pending transfer and its expiry", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const { code, decision } = one(snap, pending("h", "alice", "bob", 400n, { timeoutSec: 90 }));
    expect(code).toBe("ok");
    expect(decision.transfers[0]).toMatchObject({ kind: "pending", timeoutSec: 90, expiresAt: later(90), pendingId: null });
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([400n, 0n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 400n, 0n]);
    // The reservation counts against the wallet.
    expectRefused(snap, single("t", "alice", "bob", 601n), "exceeds_credits");
    expect(one(snap, single("t2", "alice", "bob", 600n)).code).toBe("ok");
  });

  it("posts the full amount when the post names none", () => {
    const snap = withPending("h", 400n);
    const { code, decision } = one(snap, post("s", "h"));
    expect(code).toBe("ok");
    expect(decision.transfers[0]).toMatchObject({
      kind: "post",
      pendingId: id("h"),
      amountMinor: 400n,
      debitAccountId: id("alice"),
      creditAccountId: id("bob"),
      timeoutSec: null,
    });
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 400n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 400n]);
  });

  it("posts part of a pending and releases the rest", () => {
    const snap = withPending("h", 400n);
    const { code, decision } = one(snap, post("s", "h", { amountMinor: 150n, debitAccountId: id("alice") }));
    expect(code).toBe("ok");
    expect(decision.transfers[0]!.amountMinor).toBe(150n);
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 150n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 150n]);
  });

  it("refuses to post more than was reserved", () => {
    expectRefused(withPending("h", 400n), post("s", "h", { amountMinor: 401n }), "exceeds_pending_transfer_amount");
  });

  it("voids only the full amount", () => {
    const snap = withPending("h", 400n);
    expectRefused(snap, voidOf("v", "h", { amountMinor: 399n }), "pending_transfer_has_different_amount");
    const { code, decision } = one(snap, voidOf("v", "h", { amountMinor: 400n }));
    expect(code).toBe("ok");
    expect(decision.transfers[0]).toMatchObject({ kind: "void", amountMinor: 400n, pendingId: id("h") });
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 0n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 0n]);
  });

  it("refuses a post or void that names other accounts than the pending's", () => {
    const snap = withPending("h", 10n);
    expectRefused(snap, post("s", "h", { debitAccountId: id("bank") }), "pending_transfer_has_different_debit_account_id");
    expectRefused(snap, voidOf("v", "h", { creditAccountId: id("bank") }), "pending_transfer_has_different_credit_account_id");
  });

  it("refuses to resolve what is not a pending transfer or not there", () => {
    const start = snapshot({ accounts: basicAccounts() });
    const plain = single("plain", "alice", "bob", 10n);
    const snap = advance(start, decide(start, [[plain]]));
    // A store loads any transfer named as pending id; a single one is not pending.
    const plainTransfer = snap.existing.get(id("plain")) as Transfer;
    snap.pendings.set(id("plain"), { transfer: plainTransfer, resolution: null });
    expectRefused(snap, post("s", "plain"), "pending_transfer_not_pending");
    expectRefused(snap, voidOf("v", "nothing"), "pending_transfer_not_found");
  });

  it("refuses a second resolution: post after void, void after post, double post", () => {
    const voided = withPending("h", 10n);
    const v = decide(voided, [[voidOf("v", "h")]]);
    expect(v.results[0]![0]!.result).toBe("ok");
    const afterVoid = advance(voided, v);
    expectRefused(afterVoid, post("s", "h"), "pending_transfer_already_voided");
    expectRefused(afterVoid, voidOf("v2", "h"), "pending_transfer_already_voided");

    const posted = withPending("h", 10n);
    const p = decide(posted, [[post("s", "h")], [post("s2", "h")], [voidOf("v3", "h")]]);
    expect(p.results.map((r) => r[0]!.result)).toEqual(["ok", "pending_transfer_already_posted", "pending_transfer_already_posted"]);
    expect(p.transfers.map((t) => t.id)).toEqual([id("s")]);
    const afterPost = advance(posted, p);
    expectRefused(afterPost, post("s4", "h"), "pending_transfer_already_posted");
    // The first post's own retry is still exists, not a refusal.
    expect(one(afterPost, post("s", "h")).code).toBe("exists");
  });

  it("checks accounts before resolution, and resolution before amount", () => {
    const snap = withPending("h", 10n);
    const posted = advance(snap, decide(snap, [[post("s", "h")]]));
    expectRefused(posted, post("s2", "h", { debitAccountId: id("bank") }), "pending_transfer_has_different_debit_account_id");
    expectRefused(posted, post("s3", "h", { amountMinor: 11n }), "pending_transfer_already_posted");
  });

  it("refuses to post or void an expired pending, at and after its expiry", () => {
    const snap = withPending("h", 10n, { timeoutSec: 30 });
    expectRefused(snap, post("s", "h"), "pending_transfer_expired", later(30));
    expectRefused(snap, voidOf("v", "h"), "pending_transfer_expired", later(31));
    // One millisecond before the expiry the post still goes through.
    expect(one(snap, post("s2", "h"), new Date(later(30).getTime() - 1)).code).toBe("ok");
  });

  it("allows the expiry void only once the pending has expired", () => {
    const snap = withPending("h", 10n, { timeoutSec: 30 });
    const sweep = voidOf("sweep", "h", { expiry: true, code: "expiry" });
    expectRefused(snap, sweep, "pending_transfer_not_pending", later(29));
    expectRefused(snap, { ...sweep, kind: "post" }, "pending_transfer_expired", later(30));
    const { code } = one(snap, sweep, later(30));
    expect(code).toBe("ok");
    expect(balancesOf(snap.accounts.get(id("alice")))).toEqual([0n, 0n, 0n, 1_000n]);
    expect(balancesOf(snap.accounts.get(id("bob")))).toEqual([0n, 0n, 0n, 0n]);
  });

  it("judges an expiry void as of the sweep's time, and only an expiry void", () => {
    const sweep = voidOf("sweep", "h", { expiry: true, code: "expiry" });
    expectRefused(withPending("h", 10n, { timeoutSec: 30 }), { ...sweep, expiryAsOf: later(29) }, "pending_transfer_not_pending");
    const snap = withPending("h", 10n, { timeoutSec: 30 });
    expect(one(snap, { ...sweep, expiryAsOf: later(30) }).code).toBe("ok");
    // Anyone else's transfer is judged by the ledger's clock, whatever time it claims.
    const other = withPending("h", 10n, { timeoutSec: 30 });
    expect(one(other, post("s", "h", { expiryAsOf: later(600) })).code).toBe("ok");
  });

  it("never expires a pending without a timeout", () => {
    const snap = withPending("h", 10n);
    expectRefused(snap, voidOf("sweep", "h", { expiry: true }), "pending_transfer_not_pending", later(MAX_TIMEOUT_SEC * 10));
    expect(one(snap, post("s", "h"), later(MAX_TIMEOUT_SEC * 10)).code).toBe("ok");
  });

  it("voids the pending of a frozen account but refuses to post it", () => {
    const snap = withPending("h", 10n);
    snap.accounts.get(id("alice"))!.status = "frozen";
    expectRefused(snap, post("s", "h"), "debit_account_frozen");
    expect(one(snap, voidOf("v", "h")).code).toBe("ok");
    const other = withPending("h2", 10n);
    other.accounts.get(id("bob"))!.status = "closed";
    expectRefused(other, post("s", "h2"), "credit_account_closed");
    expect(one(other, voidOf("v", "h2")).code).toBe("ok");
  });

  it("refuses a resolution whose pending's account vanished from the snapshot", () => {
    const snap = withPending("h", 10n);
    snap.accounts.delete(id("bob"));
    expectRefused(snap, voidOf("v", "h"), "credit_account_not_found");
  });

  it("keeps a recorded refusal of a post distinct from the pending's own id", () => {
    const snap = withPending("h", 10n, { timeoutSec: 5 });
    const refused = decide(snap, [[post("s", "h")]], later(10));
    expect(refused.failures).toHaveLength(1);
    expect(isFailure(refused.failures[0]!)).toBe(true);
    expect(refused.failures[0]!.id).toBe(id("s"));
  });
});

describe("decideBatch: bank limits", () => {
  // NOW is 2026-01-01T12:00Z: in UTC the day is "2026-01-01" and the month "2026-01".
  const policy: LimitPolicy = {
    maxPerTransactionMinor: 500n,
    maxDailyAmountMinor: 700n,
    maxDailyCount: 3,
    maxMonthlyAmountMinor: 900n,
    maxBalanceMinor: 1_200n,
  };
  const limits = { timeZone: "UTC", payer: policy };
  const usageRow = (periodKey: string, amountMinor: bigint, count: number): UsageRow => ({ accountId: id("alice"), periodKey, amountMinor, count });
  const withUsage = (day: [bigint, number], month: [bigint, number]) => {
    const snap = snapshot({ accounts: basicAccounts() });
    snap.usage = new Map([
      [usageKey(id("alice"), "2026-01-01"), usageRow("2026-01-01", ...day)],
      [usageKey(id("alice"), "2026-01"), usageRow("2026-01", ...month)],
    ]);
    return snap;
  };

  it("refuses above the per-transaction limit and says what may still be sent", () => {
    const snap = snapshot({ accounts: basicAccounts() });
    const decision = decide(snap, [[single("t", "alice", "bob", 501n, { limits })]]);
    expect(decision.results[0]![0]).toMatchObject({ result: "per_transaction_exceeded", limit: { availableMinor: 500n, limit: 500n } });
    expect(decision.transfers).toEqual([]);
    expect(decision.failures.map((f) => f.result)).toEqual(["per_transaction_exceeded"]);
  });

  it("counts what was sent today and this month, in the batch as well as before it", () => {
    const snap = withUsage([100n, 1], [100n, 1]);
    const decision = decide(snap, [
      [single("a", "alice", "bob", 400n, { limits })],
      [single("b", "alice", "bob", 300n, { limits })],
      [single("c", "alice", "bob", 200n, { limits })],
    ]);
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["ok", "daily_amount_exceeded", "ok"]);
    expect(decision.results[1]![0]!.limit).toMatchObject({ remainingMinor: 200n, availableMinor: 200n });
    const rows = new Map(decision.usage!.map((r) => [r.periodKey, r]));
    expect(rows.get("2026-01-01")).toMatchObject({ amountMinor: 700n, count: 3 });
    expect(rows.get("2026-01")).toMatchObject({ amountMinor: 700n, count: 3 });
  });

  it("refuses past the daily count and the monthly amount", () => {
    expectRefused(withUsage([10n, 3], [10n, 3]), single("t", "alice", "bob", 1n, { limits }), "daily_count_exceeded");
    expectRefused(withUsage([0n, 0], [850n, 9]), single("t", "alice", "bob", 100n, { limits }), "monthly_amount_exceeded");
  });

  it("caps the payee wallet's balance", () => {
    const snap = snapshot({ accounts: [...basicAccounts().filter((a) => a.id !== id("bob")), account("bob", { flags: WALLET, creditsPosted: 1_100n })] });
    const decision = decide(snap, [[single("t", "alice", "bob", 101n, { limits: { timeZone: "UTC", payee: policy } })]]);
    expect(decision.results[0]![0]).toMatchObject({ result: "balance_limit_exceeded", limit: { remainingMinor: 100n } });
  });

  it("rolls usage back with the rest of a failed linked group", () => {
    const snap = withUsage([0n, 0], [0n, 0]);
    const decision = decide(snap, [[single("p", "alice", "bob", 300n, { limits }), single("f", "alice", "bank", 800n)]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect(snap.usage!.get(usageKey(id("alice"), "2026-01-01"))).toMatchObject({ amountMinor: 0n, count: 0 });
  });

  it("counts a payee's inbound usage apart from its sending, only with payeeInbound", () => {
    const inbound = { timeZone: "UTC", payee: policy, payeeInbound: true };
    const snap = snapshot({ accounts: basicAccounts() });
    snap.usage = new Map([[usageKey(id("bob"), "2026-01-01:in"), { accountId: id("bob"), periodKey: "2026-01-01:in", amountMinor: 300n, count: 1 }]]);
    const decision = decide(snap, [
      [single("a", "alice", "bob", 300n, { limits: inbound })],
      [single("b", "alice", "bob", 200n, { limits: inbound })],
      [single("c", "alice", "bob", 100n, { limits: inbound })],
      // Without the flag the payee's daily figures do not apply (a customer wallet's policy).
      [single("d", "alice", "bob", 500n, { limits: { timeZone: "UTC", payee: policy } })],
    ]);
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["ok", "daily_amount_exceeded", "ok", "ok"]);
    expect(decision.results[1]![0]!.limit).toMatchObject({ limit: 700n, remainingMinor: 100n, availableMinor: 100n });
    const rows = new Map(decision.usage!.map((r) => [`${r.accountId === id("bob") ? "bob" : "alice"} ${r.periodKey}`, r]));
    expect([...rows.keys()].sort()).toEqual(["bob 2026-01-01:in", "bob 2026-01:in"]);
    expect(rows.get("bob 2026-01-01:in")).toMatchObject({ amountMinor: 700n, count: 3 });
    expect(rows.get("bob 2026-01:in")).toMatchObject({ amountMinor: 400n, count: 2 });
  });

  it("checks the payer before the payee's inbound limits and counts both sides", () => {
    const both = { timeZone: "UTC", payer: policy, payee: { ...policy, maxDailyCount: 1 }, payeeInbound: true };
    const decision = decide(snapshot({ accounts: basicAccounts() }), [
      [single("a", "alice", "bob", 600n, { limits: both })],
      [single("b", "alice", "bob", 10n, { limits: both })],
      [single("c", "alice", "bob", 10n, { limits: both })],
    ]);
    // The first fails the payer's per-transaction limit; the third the payee's count of one a day.
    expect(decision.results.map((r) => r[0]!.result)).toEqual(["per_transaction_exceeded", "ok", "daily_count_exceeded"]);
    const keys = decision.usage!.map((r) => `${r.accountId === id("bob") ? "bob" : "alice"} ${r.periodKey}`).sort();
    expect(keys).toEqual(["alice 2026-01", "alice 2026-01-01", "bob 2026-01-01:in", "bob 2026-01:in"]);
  });

  it("rolls inbound usage back with a failed linked group", () => {
    const inbound = { timeZone: "UTC", payee: policy, payeeInbound: true };
    const snap = snapshot({ accounts: basicAccounts() });
    snap.usage = new Map();
    const decision = decide(snap, [[single("p", "alice", "bob", 300n, { limits: inbound }), single("f", "alice", "bank", 800n)]]);
    expect(decision.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "exceeds_credits"]);
    expect(snap.usage.get(usageKey(id("bob"), "2026-01-01:in"))).toBeUndefined();
    expect(decision.usage).toEqual([]);
  });

  it("answers a retry of a payee's limit refusal with its code and party, without the first attempt's amounts", () => {
    const inbound = { timeZone: "UTC", payee: policy, payeeInbound: true };
    const start = withUsage([0n, 0], [0n, 0]);
    start.usage!.set(usageKey(id("bob"), "2026-01-01:in"), { accountId: id("bob"), periodKey: "2026-01-01:in", amountMinor: 600n, count: 1 });
    const refused = single("in", "alice", "bob", 200n, { limits: inbound });
    const first = decide(start, [[refused]]);
    expect(first.results[0]![0]!.limit).toMatchObject({ code: "daily_amount_exceeded", party: "payee", availableMinor: 100n });
    expect(first.failures.map((f) => [f.result, f.limitParty])).toEqual([["daily_amount_exceeded", "payee"]]);
    // Retried in a later batch, and again within it: the same code and party, no stale amount.
    const replayed = { id: refused.id, result: "daily_amount_exceeded", limit: { ok: false, code: "daily_amount_exceeded", party: "payee" } };
    const again = decide(advance(start, first), [[refused], [refused]]);
    expect(again.results).toEqual([[replayed], [replayed]]);
    expect(again.failures).toEqual([]);
    // Within the batch that refused it, too.
    expect(decide(withUsage([0n, 0], [850n, 1]), [[single("m", "alice", "bob", 100n, { limits })], [single("m", "alice", "bob", 100n, { limits })]]).results.map((r) => r[0]!.limit)).toEqual([
      expect.objectContaining({ code: "monthly_amount_exceeded", party: "payer", availableMinor: 50n }),
      { ok: false, code: "monthly_amount_exceeded", party: "payer" },
    ]);
  });

  it("keeps the payee party of a balance cap refusal on a retry, and records no party for other refusals", () => {
    const start = snapshot({ accounts: [...basicAccounts().filter((a) => a.id !== id("bob")), account("bob", { flags: WALLET, creditsPosted: 1_100n })] });
    const capped = single("cap", "alice", "bob", 101n, { limits: { timeZone: "UTC", payee: policy } });
    const overdraft = single("over", "alice", "bank", 5_000n, { limits });
    const first = decide(start, [[capped], [overdraft]]);
    expect(first.failures.map((f) => [f.result, f.limitParty])).toEqual([["balance_limit_exceeded", "payee"], ["per_transaction_exceeded", "payer"]]);
    const plain = decide(start, [[single("plain", "alice", "bank", 900n), single("plain-fee", "alice", "bank", 200n)]]);
    expect(plain.failures.map((f) => [f.result, f.limitParty])).toEqual([["linked_event_failed", null], ["exceeds_credits", null]]);
    const again = decide(advance(start, first), [[capped], [{ ...capped, amountMinor: 1n }]]);
    expect(again.results.map((r) => r[0])).toEqual([
      { id: capped.id, result: "balance_limit_exceeded", limit: { ok: false, code: "balance_limit_exceeded", party: "payee" } },
      // A retry that differs is not the refusal again: no limit.
      { id: capped.id, result: "exists_with_different_amount" },
    ]);
  });

  it("keeps the party of a group's limit refusal when the retry's cause is an earlier member", () => {
    const inbound = { timeZone: "UTC", payee: { ...policy, maxDailyCount: 0 }, payeeInbound: true };
    const start = snapshot({ accounts: basicAccounts() });
    const group = [single("g-fee", "alice", "bank", 10n), single("g-pay", "alice", "bob", 10n, { limits: inbound })];
    const first = decide(start, [group]);
    expect(first.results[0]!.map((r) => r.result)).toEqual(["linked_event_failed", "daily_count_exceeded"]);
    expect(first.failures.map((f) => f.limitParty)).toEqual([null, "payee"]);
    // The retry stops at the first member (its recorded linked_event_failed); the second answers from its record.
    const again = decide(advance(start, first), [group]);
    expect(again.results[0]).toEqual([
      { id: group[0]!.id, result: "linked_event_failed" },
      { id: group[1]!.id, result: "daily_count_exceeded", limit: { ok: false, code: "daily_count_exceeded", party: "payee" } },
    ]);
  });

  it("refuses malformed limits as bad input, and limits on a post or void", () => {
    expect(validate(single("t", "alice", "bob", 1n, { limits: { timeZone: "Mars/Olympus", payer: policy } }))).toBe("invalid_limits");
    expect(validate(single("t", "alice", "bob", 1n, { limits: { timeZone: "UTC", payer: { ...policy, maxDailyAmountMinor: -1n } } }))).toBe("invalid_limits");
    expect(validate(post("s", "h", { limits }))).toBe("invalid_limits");
    expect(validate(single("t", "alice", "bob", 1n, { limits: { timeZone: "UTC", payer: policy, payeeInbound: true } }))).toBe("invalid_limits");
    expect(validate(single("t", "alice", "bob", 1n, { limits: { timeZone: "UTC", payer: policy, payerUsageAccountId: "not-an-account" } }))).toBe("invalid_limits");
    expect(validate(single("t", "alice", "bob", 1n, { limits: { timeZone: "UTC", payer: policy, payerUsageAccountId: id("carol") } }))).toBeNull();
  });
});
