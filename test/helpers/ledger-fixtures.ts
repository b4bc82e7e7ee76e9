// Builders for ledger tests: accounts, hand-made snapshots, and a pure "advance" that turns a
// snapshot plus a batch decision into the snapshot the next batch would load.
import { derivedUuid } from "../../src/core/ledger/ids.js";
import { isFailure, type BatchDecision, type LedgerSnapshot, type PendingState } from "../../src/core/ledger/snapshot.js";
import type { Account, Transfer, TransferFailure, TransferInput } from "../../src/core/ledger/types.js";
import type { LimitPolicy } from "../../src/core/limits/types.js";

/** A stable UUID for a readable name, so tests can say id("alice") instead of a literal. */
export function id(name: string): string {
  return derivedUuid(`fingate-test:${name}`);
}

export const INSTITUTION_ID = id("institution");

/** A policy where only the balance cap binds: 1,000 minor units; the other limits are far off. */
export const CAP_1000: LimitPolicy = {
  maxPerTransactionMinor: 1_000_000n,
  maxDailyAmountMinor: 1_000_000n,
  maxDailyCount: 1_000,
  maxMonthlyAmountMinor: 1_000_000n,
  maxBalanceMinor: 1_000n,
};

export function account(name: string, fields: Partial<Account> = {}): Account {
  return {
    id: id(name),
    institutionId: INSTITUTION_ID,
    currency: "KES",
    kind: "customer_wallet",
    ownerRef: null,
    status: "active",
    flags: 0,
    debitsPending: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    creditsPosted: 0n,
    ...fields,
  };
}

export function cloneAccount(a: Account): Account {
  return { ...a };
}

export interface SnapshotParts {
  accounts?: Account[];
  existing?: (Transfer | TransferFailure)[];
  pendings?: PendingState[];
}

/** A snapshot of copies: decideBatch mutates its accounts, so callers keep their originals intact. */
export function snapshot(parts: SnapshotParts = {}): LedgerSnapshot {
  return {
    accounts: new Map((parts.accounts ?? []).map((a) => [a.id, cloneAccount(a)])),
    existing: new Map((parts.existing ?? []).map((r) => [r.id, r])),
    pendings: new Map((parts.pendings ?? []).map((p) => [p.transfer.id, { ...p }])),
  };
}

/**
 * The snapshot a later batch sees after `decision` was committed on top of `before`: new
 * balances, every transfer and recorded failure known by id, each pending's resolution and the
 * usage rows it counted, and the limit usage rows with their new totals.
 */
export function advance(before: LedgerSnapshot, decision: BatchDecision): LedgerSnapshot {
  const next: LedgerSnapshot = {
    accounts: new Map([...before.accounts].map(([k, a]) => [k, cloneAccount(a)])),
    existing: new Map(before.existing),
    pendings: new Map([...before.pendings].map(([k, p]) => [k, { ...p }])),
  };
  if (before.usage || (decision.usage ?? []).length > 0) {
    next.usage = new Map([...(before.usage ?? [])].map(([k, r]) => [k, { ...r }]));
    for (const r of decision.usage ?? []) next.usage.set(`${r.accountId}|${r.periodKey}`, { ...r });
  }
  for (const a of decision.accounts) next.accounts.set(a.id, cloneAccount(a));
  for (const f of decision.failures) if (!next.existing.has(f.id)) next.existing.set(f.id, f);
  for (const t of decision.transfers) {
    next.existing.set(t.id, t);
    if (t.kind !== "pending") continue;
    const counted = (decision.counted ?? []).filter((c) => c.transferId === t.id).map((c) => ({ accountId: c.accountId, periodKey: c.periodKey }));
    next.pendings.set(t.id, counted.length > 0 ? { transfer: t, resolution: null, counted } : { transfer: t, resolution: null });
  }
  for (const t of decision.transfers) {
    if (t.pendingId === null) continue;
    const state = next.pendings.get(t.pendingId);
    if (state) state.resolution = t.kind === "post" ? "posted" : "voided";
  }
  return next;
}

/** A valid single transfer between two named accounts. */
export function single(name: string, from: string, to: string, amountMinor: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: id(name), kind: "single", debitAccountId: id(from), creditAccountId: id(to), amountMinor, code: "p2p", ...extra };
}

export function pending(name: string, from: string, to: string, amountMinor: bigint, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: id(name), kind: "pending", debitAccountId: id(from), creditAccountId: id(to), amountMinor, code: "hold", ...extra };
}

export function post(name: string, pendingName: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: id(name), kind: "post", pendingId: id(pendingName), code: "settle", ...extra };
}

export function voidOf(name: string, pendingName: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: id(name), kind: "void", pendingId: id(pendingName), code: "release", ...extra };
}

export function balancesOf(a: Account | undefined): [bigint, bigint, bigint, bigint] {
  if (!a) throw new Error("account missing");
  return [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted];
}

export { isFailure };
