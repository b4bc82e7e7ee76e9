// The ledger's audit entries are prepared for the chain by hand (ledgerAuditPrepared) instead of
// through the generic redact → normalize → serialize path: the two must agree to the character,
// since the database hashes what they give and `audit verify` re-hashes it from the stored rows.
import { describe, expect, it } from "vitest";
import { prepareEntry } from "../../src/core/audit/chain.js";
import { ledgerAuditEntries, ledgerAuditPrepared, TRANSFERS_PER_AUDIT_ENTRY } from "../../src/core/ledger/audit-digest.js";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { BatchDecision } from "../../src/core/ledger/snapshot.js";
import type { Transfer, TransferFailure, TransferResultCode } from "../../src/core/ledger/types.js";

const AT = new Date("2026-11-27T08:30:00.123Z");
const CODES: TransferResultCode[] = ["exceeds_credits", "debit_account_frozen", "pending_transfer_expired", "exceeds_daily_limit" as TransferResultCode];

function transfer(i: number): Transfer {
  return {
    id: uuidv7(),
    kind: i % 3 === 0 ? "pending" : "single",
    debitAccountId: uuidv7(),
    creditAccountId: uuidv7(),
    amountMinor: BigInt(1 + i * 997),
    currency: "KES",
    pendingId: i % 5 === 0 ? uuidv7() : null,
    timeoutSec: null,
    expiresAt: null,
    code: "p2p",
    reference: i % 4 === 0 ? `ref "${i}" \\ é` : null,
    createdAt: AT,
  };
}

function failure(i: number): TransferFailure {
  return { id: uuidv7(), result: CODES[i % CODES.length]!, kind: "single", debitAccountId: null, creditAccountId: null, amountMinor: null, pendingId: null, createdAt: AT, limitParty: null };
}

function decision(transfers: number, failures: number): BatchDecision {
  return {
    transfers: Array.from({ length: transfers }, (_, i) => transfer(i)),
    failures: Array.from({ length: failures }, (_, i) => failure(i)),
    accounts: [],
    results: [],
  };
}

/** What the generic path gives, without the payload object (whose key order the hash never sees). */
const generic = (d: BatchDecision) => ledgerAuditEntries(d).map(prepareEntry).map(({ payload: _, ...rest }) => rest);
const fast = (d: BatchDecision) => ledgerAuditPrepared(d).map(({ payload: _, ...rest }) => rest);

describe("ledgerAuditPrepared", () => {
  it.each([
    [1, 0],
    [0, 1],
    [128, 3],
    [TRANSFERS_PER_AUDIT_ENTRY, 0],
    [TRANSFERS_PER_AUDIT_ENTRY - 1, 2],
    [450, 70],
    [0, 250],
  ])("gives the generic path's entries for %i transfers and %i failures", (transfers, failures) => {
    const d = decision(transfers, failures);
    const expected = generic(d);
    expect(fast(d)).toEqual(expected);
    expect(expected).toHaveLength(Math.ceil((transfers + failures) / TRANSFERS_PER_AUDIT_ENTRY));
  });

  it("holds the same payload values as the generic path", () => {
    const d = decision(210, 5);
    const byKeys = (p: object) => JSON.parse(JSON.stringify(p, Object.keys(p).sort())) as unknown;
    expect(ledgerAuditPrepared(d).map((e) => byKeys(e.payload))).toEqual(ledgerAuditEntries(d).map(prepareEntry).map((e) => byKeys(e.payload)));
  });

  it("takes the generic path for a reference JSON would escape, and so still agrees", () => {
    const d = decision(3, 1);
    d.transfers[1]!.id = 'not-"plain"';
    expect(fast(d)).toEqual(generic(d));
  });

  it("refuses what the generic path refuses: a payload past the cap", () => {
    const long = "x".repeat(50) as TransferResultCode;
    const d = decision(0, TRANSFERS_PER_AUDIT_ENTRY);
    for (const f of d.failures) f.result = long;
    expect(() => generic(d)).toThrow(/payload exceeds/);
    expect(() => fast(d)).toThrow(/payload exceeds/);
  });
});
