import { usageKey, type UsageRow } from "../../core/ledger/limits-check.js";
import type { BatchKeys, LedgerSnapshot } from "../../core/ledger/snapshot.js";
import type { Account } from "../../core/ledger/types.js";

/** An account as last committed, with its row's version and the limit counters read or written with that version. */
interface Entry {
  account: Account;
  version: bigint;
  /** By period key. */
  usage: Map<string, UsageRow>;
}

export interface CachedSnapshot {
  snapshot: LedgerSnapshot;
  /** The row version of each of the snapshot's accounts, in its order: what the write compares. */
  versions: bigint[];
  entries: Entry[];
}

/** Counters kept per account at most (a day's and a month's, sent and received, and yesterday's). */
const MAX_COUNTERS_PER_ACCOUNT = 8;

/**
 * What this process last committed (or read under lock) for accounts and their limit usage, so
 * that a batch touching only such accounts can be decided without reading them first and written
 * in one round trip (SqlLedgerStore's cached path). The cache is never trusted: the write compares
 * every account's row version (which every ledger write of the row increments), status and flags
 * with the copy's, and fails as a conflict when another process (or an operator) changed one
 * meanwhile; the batch is then decided again from locked rows.
 *
 * Counters are kept with the account version they were read or written with, and only with it: a
 * batch changes an account's counters only while it writes the account's row, so while the version
 * is unchanged (which the write confirms) so are they. A version from a locked read brings only the
 * counters read with it; the others are dropped.
 */
export class LedgerCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Accounts of batches that conflicted, and until when they are not remembered: an account that
   * another process writes too (a merchant both gateways credit) would otherwise fail nearly every
   * cached write that touches it, doubling the work of those batches.
   */
  private readonly cooling = new Map<string, number>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly coolingMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A snapshot of the cached accounts themselves when every account and counter of the batch is
   * known and it settles no pending (pendings are read from the database); null otherwise. Not
   * copies: decide changes the accounts it is given, and the batch owns these until it ends (the
   * writer never lets two batches in flight share an account). Its caller must then either
   * confirm() or forget() them.
   */
  snapshotFor(keys: BatchKeys): CachedSnapshot | null {
    if (keys.pendingIds.length > 0) return null;
    // In id order, the order in which the write's UPDATE then locks the rows, as the locked path
    // does (the default sort compares strings natively; canonical UUIDs sort as their bytes).
    const was: Entry[] = [];
    for (const id of keys.accountIds.slice().sort()) {
      const entry = this.entries.get(id);
      if (!entry) return null;
      was.push(entry);
    }
    const usage = new Map<string, UsageRow>();
    for (const k of keys.usageKeys ?? []) {
      const row = this.entries.get(k.accountId)?.usage.get(k.periodKey);
      if (!row) return null;
      usage.set(usageKey(k.accountId, k.periodKey), row);
    }
    const accounts = new Map<string, Account>();
    const versions: bigint[] = [];
    for (const e of was) {
      accounts.set(e.account.id, e.account);
      versions.push(e.version);
    }
    return { snapshot: { accounts, existing: new Map(), pendings: new Map(), usage }, versions, entries: was };
  }

  /**
   * After the cached batch committed: its accounts (changed in place by decide) are at the next
   * version when it wrote them, and its counters as decided. The counters kept with the earlier
   * version still hold, since the write found every account at it.
   */
  confirm(cached: CachedSnapshot, keys: BatchKeys, wrote: boolean): void {
    if (wrote) for (const e of cached.entries) e.version += 1n;
    const usage = cached.snapshot.usage;
    for (const k of keys.usageKeys ?? []) {
      const entry = this.entries.get(k.accountId);
      const row = usage?.get(usageKey(k.accountId, k.periodKey));
      if (entry && row) bounded(entry.usage, k.periodKey, row, MAX_COUNTERS_PER_ACCOUNT);
    }
  }

  /**
   * After a batch on the locked path committed: the snapshot's accounts as decide left them, at
   * the row versions the commit left (`versions`, in the snapshot's order), each with the counters
   * of the batch's keys (a key with no row has nothing counted yet). The write moved each version
   * by `step` (1, or 0 when it wrote nothing). Counters kept with the very version the batch
   * locked and read are kept too: no one wrote the account in between, and counters change only
   * in a ledger write of their account, so the batch's own write left the others as they were (a
   * wallet that sends and receives keeps both its outgoing and its inbound counters). Counters
   * kept with any other version are dropped. The cache takes the snapshot's objects: the batch is
   * done with them.
   */
  remember(keys: BatchKeys, snapshot: LedgerSnapshot, versions: bigint[], step = 0n): void {
    const now = this.cooling.size > 0 ? this.now() : 0;
    let i = 0;
    for (const a of snapshot.accounts.values()) {
      const version = versions[i++]!;
      if (now > 0 && this.stillCooling(a.id, now)) continue;
      const before = this.entries.get(a.id);
      const usage = before !== undefined && before.version === version - step ? before.usage : new Map<string, UsageRow>();
      bounded(this.entries, a.id, { account: a, version, usage }, this.maxEntries);
    }
    for (const k of keys.usageKeys ?? []) {
      const entry = this.entries.get(k.accountId);
      if (!entry || entry.account !== snapshot.accounts.get(k.accountId)) continue;
      const row = snapshot.usage?.get(usageKey(k.accountId, k.periodKey)) ?? { accountId: k.accountId, periodKey: k.periodKey, amountMinor: 0n, count: 0 };
      bounded(entry.usage, k.periodKey, row, MAX_COUNTERS_PER_ACCOUNT);
    }
  }

  /**
   * After a failure or an unknown outcome: the batch's accounts must be read again. After a
   * conflict they are also not remembered for a while (which of them conflicted is not known).
   */
  forget(keys: BatchKeys, conflict = false): void {
    const until = conflict ? this.now() + this.coolingMs : 0;
    for (const id of keys.accountIds) {
      this.entries.delete(id);
      if (conflict) bounded(this.cooling, id, until, this.maxEntries);
    }
  }

  private stillCooling(id: string, now: number): boolean {
    const until = this.cooling.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.cooling.delete(id);
    return false;
  }
}

/** Sets a key, dropping the longest-held entry when that makes the map larger than max (a Map iterates in insertion order). */
function bounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  if (map.size <= max) return;
  for (const oldest of map.keys()) {
    map.delete(oldest);
    return;
  }
}

